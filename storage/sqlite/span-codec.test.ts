import { describe, expect, it } from 'vitest';
import type { Attribute } from '../../model/span.js';
import { makeRichSpan, makeSpan, newTraceId } from '../testdata/fixtures.js';
import {
  decodeAttributes, decodePayload, encodeAttributes, encodePayload, INTERN_VALUES_PER_KEY,
  type KeyDictionary, PAYLOAD_FORMAT_BINARY, PAYLOAD_FORMAT_JSON, PayloadEncoder,
} from './span-codec.js';

/** An in-memory dictionary like the store's `attr_keys`. */
function dictionary(): KeyDictionary & { size: () => number } {
  const ids = new Map<string, number>();
  const byId: string[] = [];
  return {
    idOf: (k) => {
      let id = ids.get(k);
      if (id === undefined) { id = byId.length; ids.set(k, id); byId.push(k); }
      return id;
    },
    keyOf: (id) => {
      if (byId[id] === undefined) throw new Error(`unknown #${id}`);
      return byId[id];
    },
    size: () => byId.length,
  };
}

const everyType: Attribute[] = [
  { key: 'int', type: 'int64', value: 3 },
  { key: 'int.negative', type: 'int64', value: -300_000 },
  { key: 'int.max.safe', type: 'int64', value: Number.MAX_SAFE_INTEGER },
  { key: 'int.min.safe', type: 'int64', value: Number.MIN_SAFE_INTEGER },
  { key: 'big', type: 'int64', value: '18446744073709551615' },
  { key: 'float', type: 'float64', value: 3 },
  { key: 'float.frac', type: 'float64', value: -0.1 },
  { key: 'nan', type: 'float64', value: NaN },
  { key: 'inf', type: 'float64', value: -Infinity },
  { key: 'negzero', type: 'float64', value: -0 },
  { key: 'bool.t', type: 'bool', value: true },
  { key: 'bool.f', type: 'bool', value: false },
  { key: 'bin', type: 'binary', value: 'AAEC/w==' },
  { key: 'arr', type: 'array', value: '{"values":[{"stringValue":"a"}]}' },
  { key: 'kv', type: 'kvlist', value: '{"values":[{"key":"k","value":{"boolValue":true}}]}' },
  { key: 'numeric-string', type: 'string', value: '3' },
  { key: 'empty', type: 'string', value: '' },
  { key: 'unicode ✓', type: 'string', value: 'żółć ✓ "quoted" \\ \u0000 nul' },
  { key: 'long', type: 'string', value: 'x'.repeat(70_000) + 'é'.repeat(300) },
];

describe('span payload codec', () => {
  it('round-trips every payload field of a rich span, with and without a key dictionary', () => {
    const span = makeRichSpan(newTraceId(), 1_700_000_000_000_000);
    for (const keys of [undefined, dictionary()]) {
      const buf = encodePayload(span, keys);
      expect(buf?.[0]).toBe(PAYLOAD_FORMAT_BINARY);
      expect(decodePayload(buf, span.startTimeUs, keys)).toEqual({
        attributes: span.attributes,
        events: span.events,
        links: span.links,
        statusMessage: span.status.message,
        traceState: span.traceState,
        droppedAttributesCount: 5,
        droppedEventsCount: 6,
        droppedLinksCount: 7,
      });
    }
  });

  it('round-trips every attribute type exactly (numbers, -0, NaN, big integers, long and non-ASCII strings)', () => {
    for (const keys of [undefined, dictionary()]) {
      const span = makeSpan({ traceId: newTraceId(), service: 's', startTimeUs: 10, attributes: everyType });
      const back = decodePayload(encodePayload(span, keys), 10, keys).attributes;
      expect(back).toEqual(everyType);
      expect(Object.is(back.find((a) => a.key === 'negzero')!.value, -0)).toBe(true);
    }
  });

  it('stores nothing for a span without payload fields', () => {
    const span = makeSpan({ traceId: newTraceId(), service: 's', startTimeUs: 1 });
    expect(encodePayload(span)).toBeNull();
    expect(decodePayload(null, 1)).toEqual({ attributes: [], events: [], links: [], statusMessage: '', traceState: '' });
  });

  it('stores event times relative to the span start (earlier than the span too)', () => {
    const events = [{ timeUs: 5_000_250, name: 'e', attributes: [] }, { timeUs: 4_000_000, name: 'before', attributes: [] }];
    const span = makeSpan({ traceId: newTraceId(), service: 's', startTimeUs: 5_000_000, events });
    expect(encodePayload(span)!.length).toBeLessThan(24); // absolute times alone would take 16
    expect(decodePayload(encodePayload(span), 5_000_000).events).toEqual(span.events);
  });

  it('interns keys and repeated string values as dictionary numbers, within a budget per key', () => {
    const keys = dictionary();
    const enc = new PayloadEncoder(keys);
    const attrs = (i: number): Attribute[] => [
      { key: 'http.request.method', type: 'string', value: 'GET' },
      { key: 'request.id', type: 'string', value: `req-${i}` },
    ];
    const sizes: number[] = [];
    for (let i = 0; i < INTERN_VALUES_PER_KEY + 50; i++) {
      enc.reset();
      const span = makeSpan({ traceId: newTraceId(), service: 's', startTimeUs: 1, attributes: attrs(i) });
      const buf = Buffer.from(enc.encode(span)!);
      expect(buf.toString('latin1')).not.toContain('http.request.method');
      expect(decodePayload(buf, 1, keys).attributes).toEqual(attrs(i));
      sizes.push(buf.length);
    }
    // 2 keys + GET + the first INTERN_VALUES_PER_KEY request ids; later ids are written inline.
    expect(keys.size()).toBe(3 + INTERN_VALUES_PER_KEY);
    expect(sizes[0]).toBeLessThanOrEqual(8);
    expect(sizes[sizes.length - 1]).toBeGreaterThan(sizes[0]);
    expect(() => decodePayload(encodePayload(makeSpan({ traceId: newTraceId(), service: 's', startTimeUs: 1, attributes: attrs(1) }), keys), 1)).toThrow(/key dictionary/);
  });

  it('hands out views that stay valid until reset, also when its buffer grows', () => {
    const keys = dictionary();
    const enc = new PayloadEncoder(keys);
    const spans = Array.from({ length: 40 }, (_, i) => makeSpan({
      traceId: newTraceId(), service: 's', startTimeUs: 1, attributes: [{ key: 'v', type: 'string', value: `${i}:` + 'y'.repeat(5_000 + i) }],
    }));
    const views = spans.map((s) => enc.encode(s));
    views.forEach((v, i) => expect(decodePayload(v, 1, keys).attributes).toEqual(spans[i].attributes));
  });

  it('still decodes format 1 (JSON) payloads', () => {
    const attrs: Attribute[] = [{ key: 'k', type: 'float64', value: 2 }, { key: 'big', type: 'int64', value: '18446744073709551615' }];
    const json = JSON.stringify([encodeAttributes(attrs), [[250, 'e']]]);
    const buf = Buffer.concat([Buffer.from([PAYLOAD_FORMAT_JSON]), Buffer.from(json)]);
    expect(decodePayload(buf, 1000)).toMatchObject({ attributes: attrs, events: [{ timeUs: 1250, name: 'e', attributes: [] }] });
    expect(decodeAttributes(JSON.parse(JSON.stringify(encodeAttributes(everyType.slice(0, 10)))))).toEqual(everyType.slice(0, 10));
  });

  it('rejects an unknown format byte and a truncated payload', () => {
    expect(() => decodePayload(Buffer.from([9, 91, 93]), 0)).toThrow(/unknown format 9/);
    const buf = encodePayload(makeRichSpan(newTraceId(), 1))!;
    expect(() => decodePayload(buf.subarray(0, buf.length - 3), 1)).toThrow(/truncated/);
  });
});
