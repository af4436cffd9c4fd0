import { describe, expect, it } from 'vitest';
import type { Attribute } from '../../model/span.js';
import { makeRichSpan, makeSpan, newTraceId } from '../testdata/fixtures.js';
import { decodeAttributes, decodePayload, encodeAttributes, encodePayload, PAYLOAD_FORMAT_JSON } from './span-codec.js';

describe('span payload codec', () => {
  it('round-trips every payload field of a rich span', () => {
    const span = makeRichSpan(newTraceId(), 1_700_000_000_000_000);
    const buf = encodePayload(span);
    expect(buf?.[0]).toBe(PAYLOAD_FORMAT_JSON);
    expect(decodePayload(buf, span.startTimeUs)).toEqual({
      attributes: span.attributes,
      events: span.events,
      links: span.links,
      statusMessage: span.status.message,
      traceState: span.traceState,
      droppedAttributesCount: 5,
      droppedEventsCount: 6,
      droppedLinksCount: 7,
    });
  });

  it('stores nothing for a span without payload fields', () => {
    const span = makeSpan({ traceId: newTraceId(), service: 's', startTimeUs: 1 });
    expect(encodePayload(span)).toBeNull();
    expect(decodePayload(null, 1)).toEqual({ attributes: [], events: [], links: [], statusMessage: '', traceState: '' });
  });

  it('keeps attribute types JSON cannot tell apart', () => {
    const attrs: Attribute[] = [
      { key: 'int', type: 'int64', value: 3 },
      { key: 'float', type: 'float64', value: 3 },
      { key: 'nan', type: 'float64', value: NaN },
      { key: 'inf', type: 'float64', value: -Infinity },
      { key: 'negzero', type: 'float64', value: -0 },
      { key: 'big', type: 'int64', value: '18446744073709551615' },
      { key: 'numeric-string', type: 'string', value: '3' },
      { key: 'bool-string', type: 'string', value: 'true' },
    ];
    const back = decodeAttributes(JSON.parse(JSON.stringify(encodeAttributes(attrs))));
    expect(back).toEqual(attrs);
    expect(Object.is(back[4].value, -0)).toBe(true);
  });

  it('stores event times relative to the span start', () => {
    const span = makeSpan({ traceId: newTraceId(), service: 's', startTimeUs: 5_000_000, events: [{ timeUs: 5_000_250, name: 'e', attributes: [] }] });
    const json = encodePayload(span)!.toString('utf8', 1);
    expect(json).toBe('[0,[[250,"e"]]]');
    expect(decodePayload(encodePayload(span), 5_000_000).events).toEqual(span.events);
  });

  it('writes attribute keys as dictionary numbers when given a dictionary', () => {
    const ids = new Map<string, number>();
    const keys = {
      idOf: (k: string) => ids.get(k) ?? (ids.set(k, ids.size + 1), ids.size),
      keyOf: (id: number) => [...ids].find(([, v]) => v === id)![0],
    };
    const span = makeRichSpan(newTraceId(), 1_700_000_000_000_000);
    const buf = encodePayload(span, keys)!;
    expect(buf.toString('utf8', 1)).not.toContain('http.method');
    const back = decodePayload(buf, span.startTimeUs, keys);
    expect(back.attributes).toEqual(span.attributes);
    expect(back.events).toEqual(span.events);
    expect(back.links).toEqual(span.links);
    expect(() => decodePayload(buf, span.startTimeUs)).toThrow(/key dictionary/);
  });

  it('rejects an unknown format byte', () => {
    expect(() => decodePayload(Buffer.from([9, 91, 93]), 0)).toThrow(/unknown format 9/);
  });
});
