import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Attribute, Span } from '../model/span.js';
import { cutString, defaultSpanLimits, SpanLimiter, spanLimitsWarning, type SpanLimits } from './span-limits.js';

const TRACE = '5b8efff798038103d269b633813fc60c';
const str = (key: string, value: string): Attribute => ({ key, type: 'string', value });
const attrs = (n: number, prefix = 'a'): Attribute[] => Array.from({ length: n }, (_, i) => str(`${prefix}${i}`, `v${i}`));

function span(over: Partial<Span> = {}): Span {
  return {
    traceId: TRACE, spanId: 'eee19b7ec3c1b174', parentSpanId: '', traceState: '', flags: 1, name: 'op', kind: 2,
    startTimeUs: 1_700_000_000_000_000, durationUs: 10, attributes: [], events: [], links: [],
    status: { code: 0, message: '' }, resource: { serviceName: 'svc', attributes: [str('service.name', 'svc')] },
    scope: { name: '', version: '' }, ...over,
  };
}

const limits = (over: Partial<SpanLimits> = {}): SpanLimits => ({ ...defaultSpanLimits(), ...over });

describe('span limits', () => {
  it('keeps the first attributes of a span, event and link and adds the rest to what the client already dropped', () => {
    const s = span({
      attributes: attrs(10_000),
      droppedAttributesCount: 5,
      events: [{ timeUs: 1, name: 'e', attributes: attrs(300) }],
      links: [{ traceId: TRACE, spanId: '0000000000000001', attributes: attrs(129), droppedAttributesCount: 1 }],
    });
    const { spans, counts } = new SpanLimiter(limits()).apply([s]);
    expect(spans).toEqual([s]);
    expect(s.attributes).toHaveLength(128);
    expect(s.attributes[127]).toEqual(str('a127', 'v127'));
    expect(s.droppedAttributesCount).toBe(5 + 10_000 - 128);
    expect(s.events[0].attributes).toHaveLength(128);
    expect(s.events[0].droppedAttributesCount).toBe(300 - 128);
    expect(s.links[0].droppedAttributesCount).toBe(2);
    expect(counts.droppedAttributes).toBe(10_000 - 128 + 300 - 128 + 1);
  });

  it('keeps the last events and the first links', () => {
    const events = Array.from({ length: 200 }, (_, i) => ({ timeUs: i, name: `e${i}`, attributes: [] }));
    const links = Array.from({ length: 150 }, (_, i) => ({ traceId: TRACE, spanId: (i + 1).toString(16).padStart(16, '0'), attributes: [] }));
    const s = span({ events, links });
    const { counts } = new SpanLimiter(limits()).apply([s]);
    expect(s.events.map((e) => e.name)).toEqual(events.slice(72).map((e) => e.name));
    expect(s.links).toHaveLength(128);
    expect(s.links[0].spanId).toBe('0000000000000001');
    expect([s.droppedEventsCount, s.droppedLinksCount]).toEqual([72, 22]);
    expect([counts.droppedEvents, counts.droppedLinks]).toEqual([72, 22]);
  });

  it('cuts long values everywhere a span carries text, without splitting a surrogate pair', () => {
    const big = 'x'.repeat(1_000_000);
    const resource = { serviceName: 'svc', attributes: [str('service.name', 'svc'), str('host.blob', big)] };
    const s = span({
      resource,
      attributes: [
        str('big', big),
        { key: 'bin', type: 'binary', value: Buffer.alloc(100).toString('base64') },
        { key: 'arr', type: 'array', value: JSON.stringify({ values: [{ stringValue: big }, { intValue: '1' }] }) },
        { key: 'many', type: 'array', value: JSON.stringify({ values: Array.from({ length: 100 }, () => ({ stringValue: 'abcdefghij' })) }) },
        { key: 'n', type: 'int64', value: 7 },
      ],
      status: { code: 2, message: big },
      events: [{ timeUs: 1, name: big, attributes: [str('stack', big)] }],
    });
    const other = span({ spanId: 'eee19b7ec3c1b175', resource });
    const { counts } = new SpanLimiter(limits({ maxAttributeValueLength: 64 })).apply([s, other]);
    expect(s.attributes[0].value).toBe('x'.repeat(64));
    expect(Buffer.from(s.attributes[1].value as string, 'base64').length).toBe(63);
    const arr = JSON.parse(s.attributes[2].value as string) as { values: unknown[] };
    expect(JSON.stringify(arr).length).toBeLessThanOrEqual(64);
    const many = JSON.parse(s.attributes[3].value as string) as { values: { stringValue: string }[] };
    expect(many.values.length).toBeGreaterThan(0);
    expect(many.values.every((v) => v.stringValue === 'abcdefghij')).toBe(true);
    expect(s.attributes[3].value.toString().length).toBeLessThanOrEqual(64);
    expect(s.attributes[4].value).toBe(7);
    expect(s.status.message).toHaveLength(64);
    expect(s.events[0].name).toHaveLength(64);
    expect(s.events[0].attributes[0].value).toHaveLength(64);
    expect(resource.attributes[1].value).toHaveLength(64);
    // 5 of the span, 2 of the event, 1 of the shared resource (counted once).
    expect(counts.truncatedValues).toBe(8);
    expect(cutString(`${'a'.repeat(9)}😀`, 10)).toBe('a'.repeat(9));
  });

  it('keeps at most maxSpansPerTrace spans of a trace across requests, and forgets spans that were not stored', () => {
    const limiter = new SpanLimiter(limits({ maxSpansPerTrace: 3 }));
    const other = '0af7651916cd43dd8448eb211c80319c';
    const first = limiter.apply([span(), span(), span({ traceId: other })]);
    expect(first.counts.droppedSpans).toBe(0);
    const second = limiter.apply([span(), span(), span({ traceId: other })]);
    expect(second.spans.map((s) => s.traceId)).toEqual([TRACE, other]);
    expect(second.counts.droppedSpans).toBe(1);
    limiter.forget(second.spans);
    expect(limiter.apply([span()]).spans).toHaveLength(1);
    expect(limiter.apply([span()]).counts.droppedSpans).toBe(1);
  });

  it('changes nothing at 0 (no limit) and says nothing when nothing was cut', () => {
    const s = span({ attributes: attrs(1000), status: { code: 0, message: 'y'.repeat(100_000) } });
    const { counts } = new SpanLimiter({ maxAttributes: 0, maxAttributeValueLength: 0, maxEvents: 0, maxLinks: 0, maxSpansPerTrace: 0 }).apply([s, span(), span()]);
    expect(s.attributes).toHaveLength(1000);
    expect(s.status.message).toHaveLength(100_000);
    expect(spanLimitsWarning(counts, defaultSpanLimits())).toBe('');
    expect(spanLimitsWarning({ ...counts, droppedAttributes: 2, droppedSpans: 1 }, defaultSpanLimits())).toBe(
      'span limits applied: 2 attribute(s) dropped (more than 128 on a span, event or link), 1 span(s) dropped: their trace already has 100000 spans',
    );
  });
});

describe('span limits, as a property', () => {
  const value = fc.oneof(
    fc.string({ maxLength: 40 }).map((v): Omit<Attribute, 'key'> => ({ type: 'string', value: v })),
    fc.uint8Array({ maxLength: 40 }).map((b): Omit<Attribute, 'key'> => ({ type: 'binary', value: Buffer.from(b).toString('base64') })),
    fc.array(fc.string({ maxLength: 12 }), { maxLength: 6 }).map((a): Omit<Attribute, 'key'> => ({ type: 'array', value: JSON.stringify({ values: a.map((s) => ({ stringValue: s })) }) })),
    fc.integer().map((n): Omit<Attribute, 'key'> => ({ type: 'int64', value: n })),
  );
  const attributeList = fc.array(fc.tuple(fc.string({ maxLength: 4 }), value).map(([key, v]) => ({ key, ...v }) as Attribute), { maxLength: 12 });
  const limit = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 16, max: 64 }));

  it('keeps every list within its limit, every value within the length, and counts exactly what it dropped', () => {
    fc.assert(fc.property(
      fc.record({ maxAttributes: limit, maxAttributeValueLength: limit, maxEvents: limit, maxLinks: limit, maxSpansPerTrace: fc.constant(0) }),
      attributeList, fc.array(attributeList, { maxLength: 8 }), fc.integer({ min: 0, max: 8 }), fc.nat({ max: 3 }),
      (limits, attributes, eventAttrs, links, clientDropped) => {
        const s = span({
          attributes,
          droppedAttributesCount: clientDropped || undefined,
          events: eventAttrs.map((a, i) => ({ timeUs: i, name: `e${i}`, attributes: a })),
          links: Array.from({ length: links }, (_, i) => ({ traceId: TRACE, spanId: (i + 1).toString(16).padStart(16, '0'), attributes: [] })),
        });
        const before = { attrs: attributes.length, events: eventAttrs.length, links, eventAttrs: eventAttrs.map((a) => a.length) };
        const { counts } = new SpanLimiter(limits).apply([s]);
        const cap = (n: number, max: number) => (max > 0 ? Math.min(n, max) : n);
        expect(s.attributes).toHaveLength(cap(before.attrs, limits.maxAttributes));
        expect(s.droppedAttributesCount ?? 0).toBe(clientDropped + before.attrs - s.attributes.length);
        expect(s.events).toHaveLength(cap(before.events, limits.maxEvents));
        expect(s.droppedEventsCount ?? 0).toBe(before.events - s.events.length);
        expect(s.links).toHaveLength(cap(before.links, limits.maxLinks));
        expect(s.droppedLinksCount ?? 0).toBe(before.links - s.links.length);
        const keptEventAttrs = before.eventAttrs.slice(before.events - s.events.length);
        s.events.forEach((e, i) => expect(e.attributes.length + (e.droppedAttributesCount ?? 0)).toBe(keptEventAttrs[i]));
        expect(counts.droppedAttributes).toBe(before.attrs - s.attributes.length + keptEventAttrs.reduce((a, n, i) => a + n - s.events[i].attributes.length, 0));
        const max = limits.maxAttributeValueLength;
        for (const a of [...s.attributes, ...s.events.flatMap((e) => e.attributes)]) {
          if (a.type === 'array') expect(Array.isArray(JSON.parse(a.value).values)).toBe(true);
          if (max === 0) continue;
          if (a.type === 'string') expect(a.value.length).toBeLessThanOrEqual(max);
          if (a.type === 'binary') expect(Buffer.from(a.value, 'base64').length).toBeLessThanOrEqual(max);
          if (a.type === 'array') expect(a.value.length).toBeLessThanOrEqual(Math.max(max, '{"values":[]}'.length));
        }
      },
    ), { numRuns: 300 });
  });
});
