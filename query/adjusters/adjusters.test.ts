import { describe, expect, it } from 'vitest';
import { buildSpan, newTraceId } from '../../model/span-builder.js';
import { SpanKind, type Span, type Trace } from '../../model/span.js';
import { correctClockSkew } from './clock-skew.js';
import { dedupeIdenticalSpans } from './dedupe-spans.js';
import { applyAdjusters, standardAdjusters } from './index.js';
import { dropInvalidLinks } from './links.js';
import { flagMissingParents } from './missing-parents.js';
import { sortSpans } from './sort.js';
import { spanIdUniquifier } from './span-id-uniquifier.js';

const T0 = 1_700_000_000_000_000;
const traceOf = (spans: Span[]): Trace => ({ traceId: spans[0].traceId, spans });
const hostRes = (service: string, host: string) => ({
  serviceName: service,
  attributes: [
    { key: 'service.name', type: 'string' as const, value: service },
    { key: 'host.name', type: 'string' as const, value: host },
  ],
});

describe('spanIdUniquifier', () => {
  it('gives a shared server span a new id under the client and moves its children', () => {
    const traceId = newTraceId();
    const root = buildSpan({ traceId, spanId: 'a000000000000001', name: 'root' });
    const client = buildSpan({ traceId, spanId: 'b000000000000001', parentSpanId: root.spanId, kind: SpanKind.CLIENT });
    const server = buildSpan({ traceId, spanId: 'b000000000000001', parentSpanId: root.spanId, kind: SpanKind.SERVER });
    const work = buildSpan({ traceId, spanId: 'c000000000000001', parentSpanId: 'b000000000000001' });
    const trace = traceOf([root, client, server, work]);
    spanIdUniquifier()(trace);
    expect(server.spanId).not.toBe('b000000000000001');
    expect(server.parentSpanId).toBe('b000000000000001');
    expect(work.parentSpanId).toBe(server.spanId);
    expect(client.spanId).toBe('b000000000000001');
    expect(new Set(trace.spans.map((s) => s.spanId)).size).toBe(4);
  });

  it('leaves unique ids alone', () => {
    const a = buildSpan({});
    const b = buildSpan({ traceId: a.traceId, parentSpanId: a.spanId });
    const before = JSON.stringify([a, b]);
    spanIdUniquifier()(traceOf([a, b]));
    expect(JSON.stringify([a, b])).toBe(before);
  });
});

describe('dedupeIdenticalSpans', () => {
  it('drops exact duplicates only', () => {
    const a = buildSpan({});
    const dup = structuredClone(a);
    const differs = { ...structuredClone(a), name: 'other' };
    const trace = traceOf([a, dup, differs]);
    dedupeIdenticalSpans()(trace);
    expect(trace.spans).toHaveLength(2);
  });
});

describe('dropInvalidLinks', () => {
  it('removes links with zero ids and keeps valid ones', () => {
    const s = buildSpan({
      links: [
        { traceId: '0'.repeat(32), spanId: '1'.repeat(16), attributes: [] },
        { traceId: '1'.repeat(32), spanId: '0'.repeat(16), attributes: [] },
        { traceId: '2'.repeat(32), spanId: '3'.repeat(16), attributes: [] },
      ],
    });
    dropInvalidLinks()(traceOf([s]));
    expect(s.links.map((l) => l.traceId)).toEqual(['2'.repeat(32)]);
  });
});

describe('flagMissingParents', () => {
  it('warns on the orphan and the trace, keeping the parent reference', () => {
    const root = buildSpan({});
    const orphan = buildSpan({ traceId: root.traceId, parentSpanId: 'dead00000000beef' });
    const child = buildSpan({ traceId: root.traceId, parentSpanId: root.spanId });
    const trace = traceOf([root, orphan, child]);
    flagMissingParents()(trace);
    expect(orphan.parentSpanId).toBe('dead00000000beef');
    expect(orphan.warnings?.[0]).toContain('dead00000000beef');
    expect(child.warnings).toBeUndefined();
    expect(root.warnings).toBeUndefined();
    expect(trace.warnings?.[0]).toContain('incomplete trace');
  });
});

describe('correctClockSkew', () => {
  const make = (childHost: string, childStart: number) => {
    const parent = buildSpan({ startTimeUs: T0, durationUs: 10_000, resource: hostRes('a', 'h1'), kind: SpanKind.CLIENT });
    const child = buildSpan({ traceId: parent.traceId, parentSpanId: parent.spanId, startTimeUs: childStart, durationUs: 4_000, resource: hostRes('b', childHost), events: [{ timeUs: childStart + 100, name: 'e', attributes: [] }] });
    const grandchild = buildSpan({ traceId: parent.traceId, parentSpanId: child.spanId, startTimeUs: childStart + 1000, durationUs: 1000, resource: hostRes('b', childHost) });
    return { parent, child, grandchild, trace: traceOf([parent, child, grandchild]) };
  };

  it('centres a skewed child from another host in its parent, with its subtree', () => {
    const { child, grandchild, trace } = make('h2', T0 + 50_000);
    correctClockSkew(1_000_000)(trace);
    expect(child.startTimeUs).toBe(T0 + 3_000);
    expect(child.events[0].timeUs).toBe(T0 + 3_100);
    expect(grandchild.startTimeUs).toBe(T0 + 4_000);
    expect(child.warnings?.[0]).toMatch(/adjusted by -47\.000ms/);
  });

  it('does not move a child on the same host, nor any child when disabled', () => {
    const same = make('h1', T0 + 50_000);
    correctClockSkew(1_000_000)(same.trace);
    expect(same.child.startTimeUs).toBe(T0 + 50_000);
    const off = make('h2', T0 + 50_000);
    correctClockSkew(0)(off.trace);
    expect(off.child.startTimeUs).toBe(T0 + 50_000);
  });

  it('refuses shifts above the maximum, with a warning', () => {
    const { child, trace } = make('h2', T0 + 50_000);
    correctClockSkew(1_000)(trace);
    expect(child.startTimeUs).toBe(T0 + 50_000);
    expect(child.warnings?.[0]).toContain('exceeds the maximum');
  });
});

describe('sortSpans', () => {
  it('orders spans by start then id, attributes by key, events by time', () => {
    const a = buildSpan({ startTimeUs: T0 + 2, spanId: '0000000000000002' });
    const b = buildSpan({ traceId: a.traceId, startTimeUs: T0 + 1, spanId: '0000000000000009', attributes: [{ key: 'z', type: 'string', value: '1' }, { key: 'a', type: 'string', value: '2' }], events: [{ timeUs: 5, name: 'late', attributes: [] }, { timeUs: 1, name: 'early', attributes: [] }] });
    const c = buildSpan({ traceId: a.traceId, startTimeUs: T0 + 1, spanId: '0000000000000001' });
    const trace = traceOf([a, b, c]);
    sortSpans()(trace);
    expect(trace.spans.map((s) => s.spanId)).toEqual(['0000000000000001', '0000000000000009', '0000000000000002']);
    expect(b.attributes.map((x) => x.key)).toEqual(['a', 'z']);
    expect(b.events.map((e) => e.name)).toEqual(['early', 'late']);
  });
});

describe('standardAdjusters', () => {
  it('runs uniquify → … → clock skew → sort, so sorting sees adjusted times', () => {
    const parent = buildSpan({ spanId: '00000000000000aa', startTimeUs: T0, durationUs: 10_000, resource: hostRes('a', 'h1'), kind: SpanKind.CLIENT });
    // Skewed child reported far in the future, then a sibling from the same host as the parent.
    const skewed = buildSpan({ traceId: parent.traceId, spanId: '00000000000000bb', parentSpanId: parent.spanId, startTimeUs: T0 + 900_000, durationUs: 2_000, resource: hostRes('b', 'h2') });
    const sibling = buildSpan({ traceId: parent.traceId, spanId: '00000000000000cc', parentSpanId: parent.spanId, startTimeUs: T0 + 8_000, durationUs: 1_000, resource: hostRes('a', 'h1') });
    const trace = applyAdjusters(traceOf([skewed, sibling, parent, structuredClone(sibling)]), standardAdjusters({ maxClockSkewAdjustUs: 1_000_000 }));
    expect(trace.spans.map((s) => s.spanId)).toEqual(['00000000000000aa', '00000000000000bb', '00000000000000cc']);
  });
});
