/**
 * The main thread → ingest worker span hand-over: what `encodeSpanBatch` writes,
 * `decodeSpanBatch` gives back field for field (compared with deep equality, optional fields
 * absent stay absent), and shared resource/scope objects stay shared.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeOtlpProtobuf } from '../bench/data/otlp.js';
import { TraceGenerator } from '../bench/data/generator.js';
import { decodeRequest } from '../collector/decode-stage.js';
import { defaultSpanLimits, SpanLimiter } from '../collector/span-limits.js';
import type { Attribute, Resource, Span } from '../model/span.js';
import { decodeSpanBatch, encodeSpanBatch } from './span-batch-codec.js';

const roundTrip = (spans: Span[]) => decodeSpanBatch(encodeSpanBatch(spans));

const resource: Resource = { serviceName: 'svc ✓', attributes: [{ key: 'service.name', type: 'string', value: 'svc ✓' }] };
const scope = { name: 'lib', version: '1.2.3' };

function span(over: Partial<Span> = {}): Span {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: 'GET /x',
    kind: 2,
    startTimeUs: 1_700_000_000_000_000,
    durationUs: 1234,
    attributes: [],
    events: [],
    links: [],
    status: { code: 0, message: '' },
    resource,
    scope,
    ...over,
  };
}

describe('span batch codec', () => {
  it('round-trips every attribute type, events, links, dropped counts and odd values exactly', () => {
    const attrs: Attribute[] = [
      { key: 's', type: 'string', value: 'ünïcode 😀 \u0000' },
      { key: 'empty', type: 'string', value: '' },
      { key: 't', type: 'bool', value: true },
      { key: 'f', type: 'bool', value: false },
      { key: 'i', type: 'int64', value: -12 },
      { key: 'big', type: 'int64', value: '9223372036854775807' },
      { key: 'd', type: 'float64', value: -0 },
      { key: 'nan', type: 'float64', value: NaN },
      { key: 'inf', type: 'float64', value: -Infinity },
      { key: 'bin', type: 'binary', value: 'AAEC' },
      { key: 'arr', type: 'array', value: '{"values":[{"stringValue":"a"}]}' },
      { key: 'kv', type: 'kvlist', value: '{"values":[]}' },
    ];
    const spans = [
      span({
        attributes: attrs,
        parentSpanId: '00f067aa0ba902b7',
        traceState: 'k=v',
        events: [
          { timeUs: 1_700_000_000_000_100, name: 'e1', attributes: attrs.slice(0, 3) },
          { timeUs: 5, name: 'e2', attributes: [], droppedAttributesCount: 2 },
        ],
        links: [
          { traceId: '1'.repeat(32), spanId: '2'.repeat(16), attributes: [attrs[4]] },
          { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceState: '', attributes: [], droppedAttributesCount: 0 },
        ],
        status: { code: 2, message: 'boom' },
        droppedAttributesCount: 3,
        droppedLinksCount: 0,
      }),
      // Not what the decoders produce, but carried as is rather than mangled.
      span({ spanId: 'ABCDEF0123456789', parentSpanId: 'short', flags: 0x7f, kind: 0, droppedEventsCount: 1 }),
    ];
    const back = roundTrip(spans);
    expect(back).toStrictEqual(spans);
    expect(Object.is(back[0].attributes[6].value, -0)).toBe(true);
  });

  it('keeps resources and scopes shared as the decoders share them', () => {
    const other: Resource = { serviceName: 'b', attributes: [] };
    const spans = [span(), span({ spanId: '1'.repeat(16) }), span({ spanId: '2'.repeat(16), resource: other, scope: { name: '', version: '' } })];
    const back = roundTrip(spans);
    expect(back[0].resource).toBe(back[1].resource);
    expect(back[0].scope).toBe(back[1].scope);
    expect(back[2].resource).not.toBe(back[0].resource);
    expect(back).toStrictEqual(spans);
  });

  it('round-trips an empty batch, and refuses a truncated or padded buffer', () => {
    expect(roundTrip([])).toEqual([]);
    const bytes = encodeSpanBatch([span()]);
    expect(() => decodeSpanBatch(bytes.subarray(0, bytes.length - 3))).toThrow(/span batch/);
    const padded = new Uint8Array(bytes.length + 1);
    padded.set(bytes);
    expect(() => decodeSpanBatch(padded)).toThrow(/left over/);
  });

  it('gives back what the OTLP protobuf decoder produced for generated traffic, in a transferable buffer', () => {
    const gen = new TraceGenerator({ seed: 3, startUs: 1_700_000_000_000_000, spacingUs: 5_000 });
    for (const batch of gen.batches(3_000, 1_000)) {
      const { spans } = decodeRequest('otlp-protobuf', encodeOtlpProtobuf(batch), new SpanLimiter(defaultSpanLimits()));
      const bytes = encodeSpanBatch(spans);
      expect(bytes.byteOffset).toBe(0);
      expect(bytes.buffer).toBeInstanceOf(ArrayBuffer);
      expect(decodeSpanBatch(bytes)).toStrictEqual(spans);
    }
  });

  // Well-formed Unicode: a lone surrogate becomes U+FFFD here, as it does anyway when SQLite
  // stores the string as UTF-8.
  it('round-trips arbitrary strings and numbers (property)', () => {
    const text = fc.string({ unit: 'grapheme' });
    const attr = fc.oneof(
      fc.record({ key: text, type: fc.constant('string' as const), value: text }),
      fc.record({ key: text, type: fc.constant('int64' as const), value: fc.oneof(fc.integer(), fc.bigInt().map(String)) }),
      fc.record({ key: text, type: fc.constant('float64' as const), value: fc.double() }),
      fc.record({ key: text, type: fc.constant('bool' as const), value: fc.boolean() }),
    ).map((a) => ({ ...a }));
    fc.assert(
      fc.property(fc.array(attr, { maxLength: 8 }), text, fc.nat(), (attributes, name, dur) => {
        const spans = [span({ attributes: attributes as Attribute[], name, durationUs: dur }), span({ name, spanId: 'c'.repeat(16) })];
        expect(roundTrip(spans)).toStrictEqual(spans);
      }),
    );
  });
});
