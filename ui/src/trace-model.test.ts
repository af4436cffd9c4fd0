import { describe, expect, it } from 'vitest';
import type { Span, Trace } from './jaeger-types.js';
import { criticalPath } from './critical-path.js';
import { buildTraceModel, collapseWithinService, findInTrace, foldMatching, visibleRows } from './trace-model.js';
import { traceStats } from './trace-stats.js';
import { compareTraces } from './compare.js';

const T = 'abc';
function sp(id: string, parent: string | null, start: number, duration: number, extra: Partial<Span> & { svc?: string } = {}): Span {
  const { svc, ...rest } = extra;
  return {
    traceID: T, spanID: id, operationName: `op-${id}`, startTime: 1_000_000 + start, duration,
    references: parent ? [{ refType: 'CHILD_OF', traceID: T, spanID: parent }] : [],
    tags: [], logs: [], processID: svc ?? 'p1', warnings: null, ...rest,
  };
}
function trace(spans: Span[]): Trace {
  return { traceID: T, spans, processes: { p1: { serviceName: 'front', tags: [] }, p2: { serviceName: 'back', tags: [] } }, warnings: null };
}

// root(0..100) ─ a(10..40) ─ a1(15..20)
//               └ b(50..95, back) ─ b1(60..90, back, error)
const sample = () => trace([
  sp('b1', 'b', 60, 30, { svc: 'p2', tags: [{ key: 'error', type: 'bool', value: true }] }),
  sp('a1', 'a', 15, 5),
  sp('root', null, 0, 100),
  sp('b', 'root', 50, 45, { svc: 'p2' }),
  sp('a', 'root', 10, 30, { tags: [{ key: 'http.url', type: 'string', value: '/Checkout' }] }),
]);

describe('buildTraceModel', () => {
  it('orders rows depth first by start time with depths and subtree ranges', () => {
    const m = buildTraceModel(sample());
    expect(m.spans.map((s) => s.spanID)).toEqual(['root', 'a', 'a1', 'b', 'b1']);
    expect([...m.depth]).toEqual([0, 1, 2, 1, 2]);
    expect([...m.parent]).toEqual([-1, 0, 1, 0, 3]);
    expect([...m.subtreeEnd]).toEqual([5, 3, 3, 5, 5]);
    expect([...m.start]).toEqual([0, 10, 15, 50, 60]);
    expect(m.services).toEqual(['front', 'back']);
    expect(m.errorCount).toBe(1);
    expect(m.error[4]).toBe(1);
    expect(m.durationUs).toBe(100);
    expect(m.rootCount).toBe(1);
    expect(m.orphanCount).toBe(0);
  });

  it('flags spans whose parent never arrived instead of re-rooting them silently', () => {
    const m = buildTraceModel(trace([sp('x', 'missing', 5, 10), sp('y', 'x', 6, 2)]));
    expect(m.rootCount).toBe(0);
    expect(m.orphanCount).toBe(1);
    expect(m.orphan[0]).toBe(1);
    expect(m.spans[1].spanID).toBe('y');
    expect(m.depth[1]).toBe(1);
  });

  it('survives reference cycles and 100k-deep chains', () => {
    const cyc = buildTraceModel(trace([sp('a', 'b', 0, 1), sp('b', 'a', 0, 1)]));
    expect(cyc.n).toBe(2);
    expect(cyc.orphanCount).toBe(1);
    const chain: Span[] = [];
    for (let i = 0; i < 100_000; i++) chain.push(sp(`s${i}`, i ? `s${i - 1}` : null, i, 100_000 - i));
    const m = buildTraceModel(trace(chain));
    expect(m.maxDepth).toBe(99_999);
    expect(m.subtreeEnd[0]).toBe(100_000);
  });
});

describe('visibleRows', () => {
  const none = (n: number) => ({ collapsed: new Uint8Array(n), hideShorterThanUs: 0, serviceLevel: false, only: null });
  it('hides folded subtrees', () => {
    const m = buildTraceModel(sample());
    const f = none(m.n);
    f.collapsed[1] = 1;
    expect([...visibleRows(m, f).rows]).toEqual([0, 1, 3, 4]);
  });
  it('hides short spans with their subtrees', () => {
    const m = buildTraceModel(sample());
    expect([...visibleRows(m, { ...none(m.n), hideShorterThanUs: 31 }).rows]).toEqual([0, 3]);
  });
  it('shows only service entry spans, nested by service hops', () => {
    const m = buildTraceModel(sample());
    const v = visibleRows(m, { ...none(m.n), serviceLevel: true });
    expect([...v.rows]).toEqual([0, 3]);
    expect([...v.depth]).toEqual([0, 1]);
  });
  it('folds within services but keeps cross-service calls open', () => {
    const m = buildTraceModel(sample());
    const c = collapseWithinService(m);
    expect([...c]).toEqual([0, 1, 0, 1, 0]); // a and b keep to their own service; root calls across
  });
});

describe('foldMatching', () => {
  it('folds every span of an operation, or a service where it is entered', () => {
    const m = buildTraceModel(sample());
    const none = new Uint8Array(m.n);
    expect([...foldMatching(m, none, 'operation', m.operations.indexOf('op-a'))]).toEqual([0, 1, 0, 0, 0]);
    expect([...foldMatching(m, none, 'service', m.services.indexOf('back'))]).toEqual([0, 0, 0, 1, 0]);
    expect([...none]).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('findInTrace', () => {
  it('matches operation, service and tag values case-insensitively', () => {
    const m = buildTraceModel(sample());
    expect([...findInTrace(m, 'checkout')]).toEqual([0, 1, 0, 0, 0]);
    expect([...findInTrace(m, 'BACK')]).toEqual([0, 0, 0, 1, 1]);
    expect([...findInTrace(m, '  ')]).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('critical path and statistics', () => {
  it('walks back from the end through the last-finishing children', () => {
    const m = buildTraceModel(sample());
    const cp = criticalPath(m);
    // root 95..100 and 40..50 and 0..10, b 90..95 and 50..60, b1 60..90, a 10..15 and 20..40, a1 15..20
    expect([...cp.onPath]).toEqual([1, 1, 1, 1, 1]);
    expect(cp.segments.get(4)).toEqual([60, 90]);
    const rootSegs = cp.segments.get(0)!;
    const total = (segs: number[]) => segs.reduce((acc, v, k) => acc + (k % 2 ? v - segs[k - 1] : 0), 0);
    expect(total(rootSegs)).toBe(25);
    let sum = 0;
    for (const segs of cp.segments.values()) sum += total(segs);
    expect(sum).toBe(100);
  });

  it('computes self time per service and operation', () => {
    const m = buildTraceModel(sample());
    const rows = traceStats(m);
    const root = rows.find((r) => r.operation === 'op-root')!;
    expect(root).toMatchObject({ service: 'front', count: 1, totalUs: 100, selfUs: 25 });
    expect(rows.find((r) => r.operation === 'op-b1')).toMatchObject({ errors: 1, selfUs: 30 });
  });
});

describe('compareTraces', () => {
  it('aligns call paths and reports what is missing on either side', () => {
    const a = buildTraceModel(sample());
    const b = buildTraceModel(trace([sp('root', null, 0, 200), sp('a', 'root', 10, 150), sp('c', 'root', 20, 5)]));
    const rows = compareTraces(a, b);
    expect(rows.map((r) => [r.operation, r.depth, r.countA, r.countB])).toEqual([
      ['op-root', 0, 1, 1], ['op-a', 1, 1, 1], ['op-a1', 2, 1, 0], ['op-b', 1, 1, 0], ['op-b1', 2, 1, 0], ['op-c', 1, 0, 1],
    ]);
    expect(rows[1]).toMatchObject({ totalA: 30, totalB: 150 });
  });
});
