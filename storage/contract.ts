/**
 * The storage contract suite: every backend runs it unchanged through `storage/api.ts` only.
 * A backend's test file builds a fresh, empty storage in `open` and calls
 * `runStorageContract(name, open)`. Each test gets its own storage and closes it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpanKind, StatusCode, type Span } from '../model/span.js';
import { histogramQuantile, mergeHistogram } from '../model/latency-histogram.js';
import type { SpanMetricsQuery, Storage, TraceQuery } from './api.js';
import { SpanBudget } from './span-budget.js';
import {
  bySpanId, DAY_US, HOUR_US, MINUTE_US, makeCallTrace, makeRichSpan, makeSpan, newSpanId, newTraceId, nowUs, str,
} from './testdata/fixtures.js';

export function runStorageContract(name: string, open: () => Promise<Storage>): void {
  describe(`storage contract: ${name}`, () => {
    let storage: Storage;
    let now: number;
    /** A query over the last two hours, most options unset. */
    const window = (q: Partial<TraceQuery> = {}): TraceQuery => ({
      startTimeMinUs: now - 2 * HOUR_US, startTimeMaxUs: now + MINUTE_US, limit: 100, ...q,
    });
    const write = (spans: Span[]) => storage.writer.writeSpans(spans);
    const findIds = async (q: Partial<TraceQuery>) => (await storage.reader.findTraceIds(window(q))).sort();

    beforeEach(async () => {
      storage = await open();
      now = nowUs();
    });
    afterEach(async () => {
      await storage.close();
    });

    describe('services and operations', () => {
      it('lists services sorted and de-duplicated; empty store lists none', async () => {
        expect(await storage.reader.getServices()).toEqual([]);
        const t = newTraceId();
        await write([
          makeSpan({ traceId: t, service: 'zeta', startTimeUs: now }),
          makeSpan({ traceId: t, service: 'alpha', startTimeUs: now }),
        ]);
        await write([makeSpan({ traceId: newTraceId(), service: 'zeta', startTimeUs: now }), makeSpan({ traceId: t, service: 'mid', startTimeUs: now })]);
        expect(await storage.reader.getServices()).toEqual(['alpha', 'mid', 'zeta']);
      });

      it('lists operations of a service with span kinds, sorted, filtered by kind', async () => {
        const t = newTraceId();
        await write([
          makeSpan({ traceId: t, service: 'svc', name: 'b-op', kind: SpanKind.SERVER, startTimeUs: now }),
          makeSpan({ traceId: t, service: 'svc', name: 'a-op', kind: SpanKind.CLIENT, startTimeUs: now }),
          makeSpan({ traceId: t, service: 'svc', name: 'a-op', kind: SpanKind.SERVER, startTimeUs: now }),
          makeSpan({ traceId: t, service: 'svc', name: 'a-op', kind: SpanKind.SERVER, startTimeUs: now + 1 }),
          makeSpan({ traceId: t, service: 'svc', name: 'plain', kind: SpanKind.UNSPECIFIED, startTimeUs: now }),
          makeSpan({ traceId: t, service: 'other', name: 'not-mine', kind: SpanKind.SERVER, startTimeUs: now }),
        ]);
        expect(await storage.reader.getOperations({ serviceName: 'svc' })).toEqual([
          { name: 'a-op', spanKind: 'client' },
          { name: 'a-op', spanKind: 'server' },
          { name: 'b-op', spanKind: 'server' },
          { name: 'plain', spanKind: '' },
        ]);
        expect(await storage.reader.getOperations({ serviceName: 'svc', spanKind: SpanKind.SERVER })).toEqual([
          { name: 'a-op', spanKind: 'server' },
          { name: 'b-op', spanKind: 'server' },
        ]);
        expect(await storage.reader.getOperations({ serviceName: 'nope' })).toEqual([]);
      });
    });

    describe('trace by id', () => {
      it('returns every span with every field exactly as written', async () => {
        const t = newTraceId();
        const rich = makeRichSpan(t, now - 5 * MINUTE_US);
        const root = makeSpan({ traceId: t, service: 'plain', startTimeUs: now - 5 * MINUTE_US - 10 });
        const child = { ...makeSpan({ traceId: t, service: 'plain', startTimeUs: now - 5 * MINUTE_US, parentSpanId: root.spanId }), traceState: 'x=1', flags: 0 };
        await write([rich, root, child]);
        const traces = await storage.reader.getTraces({ traceIds: [t] });
        expect(traces).toHaveLength(1);
        expect(traces[0].traceId).toBe(t);
        expect(bySpanId(traces[0].spans)).toEqual(bySpanId([rich, root, child]));
      });

      it('treats start-time bounds as hints: spans outside them are still returned', async () => {
        const t = newTraceId();
        const early = makeSpan({ traceId: t, service: 'hint', startTimeUs: now - 3 * HOUR_US });
        const late = makeSpan({ traceId: t, service: 'hint', parentSpanId: early.spanId, startTimeUs: now - MINUTE_US });
        await write([early, late]);
        const [trace] = await storage.reader.getTraces({ traceIds: [t], startTimeMinUs: now - 2 * MINUTE_US, startTimeMaxUs: now });
        expect(bySpanId(trace.spans)).toEqual(bySpanId([early, late]));
      });

      it('returns nothing for an unknown id, and only the known ones of a mixed request', async () => {
        const t = newTraceId();
        await write([makeSpan({ traceId: t, service: 's', startTimeUs: now })]);
        expect(await storage.reader.getTraces({ traceIds: [newTraceId()] })).toEqual([]);
        const got = await storage.reader.getTraces({ traceIds: [newTraceId(), t] });
        expect(got.map((x) => x.traceId)).toEqual([t]);
      });

      it('hands out fresh objects: mutating a result does not change the next read', async () => {
        const t = newTraceId();
        await write([makeSpan({ traceId: t, service: 's', startTimeUs: now, attributes: [str('k', 'v')] })]);
        const [first] = await storage.reader.getTraces({ traceIds: [t] });
        first.spans[0].attributes.push(str('added', 'x'));
        first.spans[0].resource.attributes.length = 0;
        const [second] = await storage.reader.getTraces({ traceIds: [t] });
        expect(second.spans[0].attributes).toEqual([str('k', 'v')]);
        expect(second.spans[0].resource.attributes).toEqual([str('service.name', 's')]);
      });

      it('is idempotent: rewriting a span replaces it, never duplicates it', async () => {
        const t = newTraceId();
        const spans = makeCallTrace({ traceId: t, startTimeUs: now });
        await write(spans);
        await write(spans);
        const changed = { ...spans[1], attributes: [str('version', '2')] };
        await write([changed, changed]);
        const [trace] = await storage.reader.getTraces({ traceIds: [t] });
        expect(bySpanId(trace.spans)).toEqual(bySpanId([spans[0], changed, spans[2]]));
        expect(await findIds({ tags: { version: '2' } })).toEqual([t]);
        const deps = await storage.dependencies.getDependencies({ startUs: now - HOUR_US, endUs: now + HOUR_US });
        expect(deps).toEqual([{ parent: 'frontend', child: 'backend', callCount: 1, errorCount: 0 }]);
      });

      it('keeps both halves of a Zipkin shared span (client and server reporting one span id)', async () => {
        const t = newTraceId();
        const root = makeSpan({ traceId: t, service: 'web', name: 'get /', kind: SpanKind.SERVER, startTimeUs: now });
        const shared = newSpanId();
        const client = makeSpan({ traceId: t, spanId: shared, parentSpanId: root.spanId, service: 'web', name: 'get /api', kind: SpanKind.CLIENT, startTimeUs: now + 10 });
        const server = makeSpan({ traceId: t, spanId: shared, parentSpanId: root.spanId, service: 'api', name: 'get /api', kind: SpanKind.SERVER, startTimeUs: now + 20 });
        const work = makeSpan({ traceId: t, parentSpanId: shared, service: 'api', name: 'query', kind: SpanKind.CLIENT, startTimeUs: now + 30 });
        await write([root, client]);
        await write([server, work]);
        await write([server]); // a rewrite of one half still replaces only that half
        const [trace] = await storage.reader.getTraces({ traceIds: [t] });
        expect(trace.spans).toHaveLength(4);
        expect(trace.spans.filter((s) => s.spanId === shared).map((s) => s.kind).sort()).toEqual([SpanKind.SERVER, SpanKind.CLIENT].sort());
        const deps = await storage.dependencies.getDependencies({ startUs: now - HOUR_US, endUs: now + HOUR_US });
        expect(deps).toContainEqual(expect.objectContaining({ parent: 'web', child: 'api' }));
      });

      it('stores and returns a 10k-span trace', async () => {
        const t = newTraceId();
        const root = makeSpan({ traceId: t, service: 'big', name: 'root', startTimeUs: now - MINUTE_US, durationUs: 60_000_000 });
        const spans: Span[] = [root];
        for (let i = 1; i < 10_000; i++) {
          spans.push(makeSpan({ traceId: t, service: `big-${i % 5}`, name: `op-${i % 50}`, parentSpanId: root.spanId, startTimeUs: now - MINUTE_US + i, attributes: [str('i', String(i))] }));
        }
        for (let i = 0; i < spans.length; i += 2500) await write(spans.slice(i, i + 2500));
        const [trace] = await storage.reader.getTraces({ traceIds: [t] });
        expect(trace.spans).toHaveLength(10_000);
        expect(new Set(trace.spans.map((s) => s.spanId)).size).toBe(10_000);
        expect(await findIds({ serviceName: 'big-3', tags: { i: '9998' } })).toEqual([t]);
      });
    });

    describe('findTraces', () => {
      it('finds by service and by service + operation', async () => {
        const a = makeCallTrace({ startTimeUs: now - 10 * MINUTE_US });
        const b = makeCallTrace({ startTimeUs: now - 9 * MINUTE_US, backend: 'billing' });
        await write([...a, ...b]);
        expect(await findIds({ serviceName: 'frontend' })).toEqual([a[0].traceId, b[0].traceId].sort());
        expect(await findIds({ serviceName: 'backend' })).toEqual([a[0].traceId]);
        expect(await findIds({ serviceName: 'billing', operationName: 'handle' })).toEqual([b[0].traceId]);
        expect(await findIds({ serviceName: 'frontend', operationName: 'handle' })).toEqual([]);
        expect(await findIds({ serviceName: 'no-such-service' })).toEqual([]);
        const traces = await storage.reader.findTraces(window({ serviceName: 'billing' }));
        expect(traces).toHaveLength(1);
        expect(bySpanId(traces[0].spans)).toEqual(bySpanId(b));
      });

      it('returns whole traces: spans of other services and outside the window included', async () => {
        const t = newTraceId();
        const early = makeSpan({ traceId: t, service: 'edge', startTimeUs: now - 5 * HOUR_US });
        const inWindow = makeSpan({ traceId: t, service: 'core', parentSpanId: early.spanId, startTimeUs: now - MINUTE_US });
        await write([early, inWindow]);
        const traces = await storage.reader.findTraces(window({ serviceName: 'core' }));
        expect(traces).toHaveLength(1);
        expect(bySpanId(traces[0].spans)).toEqual(bySpanId([early, inWindow]));
      });

      it('matches tags on span attributes, resource attributes, event attributes and event names', async () => {
        const mk = (extra: Partial<Parameters<typeof makeSpan>[0]>) => {
          const s = makeSpan({ traceId: newTraceId(), service: 'tagged', startTimeUs: now - MINUTE_US, ...extra });
          return s;
        };
        const onSpan = mk({ attributes: [str('http.status_code', '503'), { key: 'retries', type: 'int64', value: 3 }, { key: 'cached', type: 'bool', value: false }] });
        const onResource = mk({ resourceAttributes: [str('k8s.pod.name', 'pod-7')] });
        const onEvent = mk({ events: [{ timeUs: now - MINUTE_US + 5, name: 'exception', attributes: [str('exception.type', 'TimeoutError')] }] });
        await write([onSpan, onResource, onEvent]);
        expect(await findIds({ tags: { 'http.status_code': '503' } })).toEqual([onSpan.traceId]);
        expect(await findIds({ tags: { retries: '3' } })).toEqual([onSpan.traceId]);
        expect(await findIds({ tags: { cached: 'false' } })).toEqual([onSpan.traceId]);
        expect(await findIds({ tags: { 'k8s.pod.name': 'pod-7' } })).toEqual([onResource.traceId]);
        expect(await findIds({ tags: { 'exception.type': 'TimeoutError' } })).toEqual([onEvent.traceId]);
        expect(await findIds({ tags: { event: 'exception' } })).toEqual([onEvent.traceId]);
        expect(await findIds({ tags: { 'http.status_code': '500' } })).toEqual([]);
        expect(await findIds({ serviceName: 'tagged', tags: { 'k8s.pod.name': 'pod-7' } })).toEqual([onResource.traceId]);
        expect(await findIds({ tags: { 'service.name': 'tagged' } })).toEqual([onSpan.traceId, onResource.traceId, onEvent.traceId].sort());
        expect(await findIds({ tags: { 'service.name': 'other' } })).toEqual([]);
      });

      it('ANDs several tags', async () => {
        const both = makeSpan({ traceId: newTraceId(), service: 's', startTimeUs: now - MINUTE_US, attributes: [str('a', '1'), str('b', '2')] });
        const onlyA = makeSpan({ traceId: newTraceId(), service: 's', startTimeUs: now - MINUTE_US, attributes: [str('a', '1'), str('b', 'other')] });
        await write([both, onlyA]);
        expect(await findIds({ tags: { a: '1' } })).toEqual([both.traceId, onlyA.traceId].sort());
        expect(await findIds({ tags: { a: '1', b: '2' } })).toEqual([both.traceId]);
        expect(await findIds({ serviceName: 's', tags: { a: '1', b: '2' } })).toEqual([both.traceId]);
        expect(await findIds({ tags: { a: '1', c: '3' } })).toEqual([]);
      });

      it('requires the tag on a span of the queried service', async () => {
        const t = newTraceId();
        const root = makeSpan({ traceId: t, service: 'gateway', startTimeUs: now - MINUTE_US });
        const child = makeSpan({ traceId: t, service: 'db', parentSpanId: root.spanId, startTimeUs: now - MINUTE_US + 10, attributes: [str('db.system', 'postgresql')] });
        await write([root, child]);
        expect(await findIds({ serviceName: 'db', tags: { 'db.system': 'postgresql' } })).toEqual([t]);
        expect(await findIds({ serviceName: 'gateway', tags: { 'db.system': 'postgresql' } })).toEqual([]);
      });

      it('filters by trace duration (first start to last end), bounds inclusive', async () => {
        const mk = (durationUs: number) => {
          const t = newTraceId();
          const a = makeSpan({ traceId: t, service: 'dur', startTimeUs: now - MINUTE_US, durationUs: 1000 });
          // Two spans: the trace lasts `durationUs` though no single span does.
          const b = makeSpan({ traceId: t, service: 'dur', parentSpanId: a.spanId, startTimeUs: now - MINUTE_US + durationUs - 500, durationUs: 500 });
          return [a, b];
        };
        const short = mk(5_000);
        const mid = mk(50_000);
        const long = mk(500_000);
        await write([...short, ...mid]);
        await write(long); // summary spans several batches too
        const id = (spans: Span[]) => spans[0].traceId;
        expect(await findIds({ serviceName: 'dur', durationMinUs: 50_000 })).toEqual([id(mid), id(long)].sort());
        expect(await findIds({ serviceName: 'dur', durationMaxUs: 50_000 })).toEqual([id(short), id(mid)].sort());
        expect(await findIds({ serviceName: 'dur', durationMinUs: 10_000, durationMaxUs: 100_000 })).toEqual([id(mid)]);
        expect(await findIds({ durationMinUs: 400_000 })).toEqual([id(long)]);
      });

      it('filters by the time window of a matching span', async () => {
        const old = makeSpan({ traceId: newTraceId(), service: 'tw', startTimeUs: now - 3 * HOUR_US });
        const recent = makeSpan({ traceId: newTraceId(), service: 'tw', startTimeUs: now - 30 * MINUTE_US });
        await write([old, recent]);
        expect(await findIds({ serviceName: 'tw' })).toEqual([recent.traceId]);
        expect(await findIds({ serviceName: 'tw', startTimeMinUs: now - 4 * HOUR_US, startTimeMaxUs: now - 2 * HOUR_US })).toEqual([old.traceId]);
        expect(await findIds({ startTimeMinUs: now - 4 * HOUR_US, startTimeMaxUs: now })).toEqual([old.traceId, recent.traceId].sort());
        expect(await findIds({ serviceName: 'tw', startTimeMinUs: now - 29 * MINUTE_US, startTimeMaxUs: now })).toEqual([]);
        // An unbounded window costs no more than the data in it.
        expect(await findIds({ serviceName: 'tw', startTimeMinUs: 0, startTimeMaxUs: Number.MAX_SAFE_INTEGER })).toEqual([old.traceId, recent.traceId].sort());
      });

      it('returns at most `limit` traces, the most recent first', async () => {
        const spans: Span[] = [];
        for (let i = 0; i < 30; i++) spans.push(makeSpan({ traceId: newTraceId(), service: 'lim', startTimeUs: now - (i + 1) * MINUTE_US }));
        // Shuffled arrival order and two batches: order must come from start times only.
        await write(spans.filter((_, i) => i % 2 === 1));
        await write(spans.filter((_, i) => i % 2 === 0));
        const expected = spans.slice(0, 7).map((s) => s.traceId);
        expect(await storage.reader.findTraceIds(window({ serviceName: 'lim', limit: 7 }))).toEqual(expected);
        const traces = await storage.reader.findTraces(window({ serviceName: 'lim', limit: 7 }));
        expect(traces.map((t) => t.traceId)).toEqual(expected);
        expect(await storage.reader.findTraceIds(window({ limit: 3 }))).toEqual(spans.slice(0, 3).map((s) => s.traceId));
      });

      it('spends a span budget in result order: whole traces while they fit, then none; a first trace too large is cut to its earliest spans', async () => {
        // Traces of 3, 4, 2 and 1 spans, most recent first; the 4-span one is written in two batches.
        const sizes = [3, 4, 2, 1];
        const traces = sizes.map((n, i) => {
          const traceId = newTraceId();
          const t0 = now - (i + 1) * MINUTE_US;
          return Array.from({ length: n }, (_, k) => makeSpan({ traceId, service: 'budget', startTimeUs: t0 + (n - k) * 1000 }));
        });
        await write([...traces[0], ...traces[1].slice(0, 2), ...traces[2], ...traces[3]]);
        await write(traces[1].slice(2));
        const ids = traces.map((t) => t[0].traceId);

        // 3 + 4 = 7 fit in 8; the 2-span trace does not, so neither it nor the 1-span one after it is read.
        const budget = new SpanBudget(8);
        const found = await storage.reader.findTraces(window({ serviceName: 'budget' }), budget);
        expect(found.map((t) => [t.traceId, t.spans.length])).toEqual([[ids[0], 3], [ids[1], 4]]);
        expect(budget.omittedTraceIds).toEqual([ids[2], ids[3]]);
        expect(budget.cutTraces.size).toBe(0);
        expect(budget.spentSpans).toBe(7);

        // Without a budget: everything.
        expect((await storage.reader.findTraces(window({ serviceName: 'budget' }))).map((t) => t.spans.length)).toEqual(sizes);

        // By id, the first trace larger than the budget: its 3 earliest spans.
        const cut = new SpanBudget(3);
        const [big, ...rest] = await storage.reader.getTraces({ traceIds: [ids[1], ids[3]] }, cut);
        expect(rest).toEqual([]);
        const earliest = [...traces[1]].sort((a, b) => a.startTimeUs - b.startTimeUs).slice(0, 3).map((s) => s.spanId);
        expect(big.spans.map((s) => s.spanId).sort()).toEqual(earliest.sort());
        expect([...cut.cutTraces]).toEqual([[ids[1], { loaded: 3, total: 4 }]]);
        expect(cut.omittedTraceIds).toEqual([ids[3]]);
      });
    });

    describe('dependencies', () => {
      const deps = () => storage.dependencies.getDependencies({ startUs: now - HOUR_US, endUs: now + MINUTE_US });

      it('counts cross-service calls and errors; same-service parents do not count', async () => {
        await write([
          ...makeCallTrace({ startTimeUs: now - 5 * MINUTE_US }),
          ...makeCallTrace({ startTimeUs: now - 4 * MINUTE_US, childError: true }),
          ...makeCallTrace({ startTimeUs: now - 3 * MINUTE_US }),
        ]);
        expect(await deps()).toEqual([{ parent: 'frontend', child: 'backend', callCount: 3, errorCount: 1 }]);
      });

      it('counts an edge whichever span arrives first', async () => {
        const [root1, client1, server1] = makeCallTrace({ startTimeUs: now - 5 * MINUTE_US, childError: true });
        const [root2, client2, server2] = makeCallTrace({ startTimeUs: now - 4 * MINUTE_US });
        // Trace 1: child (server) before its parent (client), in separate batches.
        await write([server1]);
        await write([root1]);
        await write([client1]);
        // Trace 2: parent first.
        await write([root2, client2]);
        await write([server2]);
        expect(await deps()).toEqual([{ parent: 'frontend', child: 'backend', callCount: 2, errorCount: 1 }]);
      });

      it('only counts spans starting inside the window', async () => {
        await write(makeCallTrace({ startTimeUs: now - 3 * DAY_US }));
        await write(makeCallTrace({ startTimeUs: now - 5 * MINUTE_US, frontend: 'web', backend: 'api' }));
        expect(await deps()).toEqual([{ parent: 'web', child: 'api', callCount: 1, errorCount: 0 }]);
      });
    });

    describe('retention', () => {
      it('purgeOlderThan removes old traces from every query', async () => {
        const old = makeCallTrace({ startTimeUs: now - 3 * DAY_US, frontend: 'old-front', backend: 'old-back' });
        old[0].attributes.push(str('era', 'old'));
        const fresh = makeCallTrace({ startTimeUs: now - 5 * MINUTE_US });
        fresh[0].attributes.push(str('era', 'new'));
        await write([...old, ...fresh]);
        const all = { startTimeMinUs: now - 4 * DAY_US, startTimeMaxUs: now + MINUTE_US, limit: 100 };
        expect((await storage.reader.findTraceIds(all)).sort()).toEqual([old[0].traceId, fresh[0].traceId].sort());

        expect(await storage.purgeOlderThan(now - DAY_US)).toBe(3);

        expect(await storage.reader.getTraces({ traceIds: [old[0].traceId] })).toEqual([]);
        expect(await storage.reader.findTraceIds(all)).toEqual([fresh[0].traceId]);
        expect(await storage.reader.findTraceIds({ ...all, serviceName: 'old-front' })).toEqual([]);
        expect(await storage.reader.findTraceIds({ ...all, tags: { era: 'old' } })).toEqual([]);
        expect(await storage.reader.findTraces({ ...all, tags: { era: 'new' } })).toHaveLength(1);
        expect(await storage.dependencies.getDependencies({ startUs: now - 4 * DAY_US, endUs: now + MINUTE_US })).toEqual([
          { parent: 'frontend', child: 'backend', callCount: 1, errorCount: 0 },
        ]);
        const [kept] = await storage.reader.getTraces({ traceIds: [fresh[0].traceId] });
        expect(kept.spans).toHaveLength(3);
        expect(await storage.purgeOlderThan(now - DAY_US)).toBe(0);
      });

      it('a purge does not disturb writes of new data that follow it', async () => {
        await write(makeCallTrace({ startTimeUs: now - 2 * DAY_US }));
        await storage.purgeOlderThan(now - DAY_US);
        const t = makeCallTrace({ startTimeUs: now - MINUTE_US });
        await write(t);
        expect(await findIds({ serviceName: 'backend' })).toEqual([t[0].traceId]);
        expect(await storage.dependencies.getDependencies({ startUs: now - 3 * DAY_US, endUs: now + MINUTE_US })).toEqual([
          { parent: 'frontend', child: 'backend', callCount: 1, errorCount: 0 },
        ]);
      });
    });

    describe('span metrics (RED)', () => {
      /** Calls and errors summed over every bucket of (service, operation, kind); the merged latency histogram. */
      const totals = async (q: Partial<SpanMetricsQuery> = {}) => {
        const buckets = await storage.spanMetrics.getSpanMetrics({
          serviceNames: ['svc', 'other'], spanKinds: [], startUs: now - HOUR_US, endUs: now + MINUTE_US, ...q,
        });
        const out = new Map<string, { calls: number; errors: number; latency: Map<number, number> }>();
        for (const b of buckets) {
          expect(b.startUs % storage.spanMetrics.resolutionUs).toBe(0);
          const key = `${b.serviceName}|${b.operationName}|${b.spanKind}`;
          let t = out.get(key);
          if (!t) out.set(key, (t = { calls: 0, errors: 0, latency: new Map() }));
          t.calls += b.calls;
          t.errors += b.errors;
          mergeHistogram(t.latency, b.latency);
        }
        return out;
      };
      const serverSpans = (n: number, opts: { start: number; errorEvery?: number; service?: string; name?: string }) =>
        Array.from({ length: n }, (_, i) => makeSpan({
          traceId: newTraceId(), service: opts.service ?? 'svc', name: opts.name ?? 'GET /x', kind: SpanKind.SERVER,
          startTimeUs: opts.start + i, durationUs: (i + 1) * 1000,
          status: opts.errorEvery && i % opts.errorEvery === 0 ? { code: StatusCode.ERROR, message: 'boom' } : undefined,
        }));

      it('counts calls and errors and keeps latencies per operation and kind, across batches', async () => {
        await write(serverSpans(60, { start: now - 30 * MINUTE_US, errorEvery: 10 }));
        await write(serverSpans(40, { start: now - 2 * MINUTE_US, errorEvery: 10 }));
        await write([makeSpan({ traceId: newTraceId(), service: 'svc', name: 'GET /x', kind: SpanKind.CLIENT, startTimeUs: now, durationUs: 5 })]);
        await write(serverSpans(3, { start: now, service: 'other' }));
        const t = await totals();
        expect(t.get(`svc|GET /x|${SpanKind.SERVER}`)).toMatchObject({ calls: 100, errors: 10 });
        expect(t.get(`svc|GET /x|${SpanKind.CLIENT}`)).toMatchObject({ calls: 1, errors: 0 });
        expect(t.get(`other|GET /x|${SpanKind.SERVER}`)).toMatchObject({ calls: 3, errors: 0 });
        // Durations 1..60 ms and 1..40 ms: 1..40 twice, so the median (rank 50) is 25 ms; p99 is 59 ms.
        const latency = t.get(`svc|GET /x|${SpanKind.SERVER}`)!.latency;
        expect(histogramQuantile(latency, 0.5) / 1000).toBeGreaterThan(25 / 1.1);
        expect(histogramQuantile(latency, 0.5) / 1000).toBeLessThan(25 * 1.1);
        expect(histogramQuantile(latency, 0.99) / 1000).toBeGreaterThan(59 / 1.1);
        expect(histogramQuantile(latency, 0.99) / 1000).toBeLessThan(60 * 1.1);
      });

      it('filters by service, span kind and time; a rewritten span is not counted twice', async () => {
        const spans = serverSpans(5, { start: now - 5 * MINUTE_US });
        await write(spans);
        await write(spans); // the same ids again
        await write([makeSpan({ traceId: newTraceId(), service: 'svc', name: 'q', kind: SpanKind.CLIENT, startTimeUs: now })]);
        expect([...(await totals({ serviceNames: ['svc'], spanKinds: [SpanKind.SERVER] })).entries()])
          .toEqual([[`svc|GET /x|${SpanKind.SERVER}`, expect.objectContaining({ calls: 5 })]]);
        expect([...(await totals({ spanKinds: [SpanKind.CLIENT] })).keys()]).toEqual([`svc|q|${SpanKind.CLIENT}`]);
        expect((await totals({ serviceNames: ['nope'] })).size).toBe(0);
        expect((await totals({ startUs: now - MINUTE_US, spanKinds: [SpanKind.SERVER] })).size).toBe(0);
        // Buckets come back in time order within an operation.
        await write(serverSpans(2, { start: now - 20 * MINUTE_US }));
        const starts = (await storage.spanMetrics.getSpanMetrics({ serviceNames: ['svc'], spanKinds: [SpanKind.SERVER], startUs: now - HOUR_US, endUs: now }))
          .map((b) => b.startUs);
        expect(starts).toEqual([...starts].sort((a, b) => a - b));
        expect(starts.length).toBeGreaterThanOrEqual(2);
      });

      it('sums figures written over many batches (past any staging a backend does) exactly', async () => {
        // 150 batches, each with spans of 8 services: past a SQLite merge (every 1,024 service-batches).
        for (let i = 0; i < 150; i++) {
          const fillers = Array.from({ length: 7 }, (_, k) => serverSpans(1, { start: now - 10 * MINUTE_US + i * 1000, service: `filler-${k}` })).flat();
          await write([...serverSpans(2, { start: now - 10 * MINUTE_US + i * 1000, errorEvery: 2, name: `op-${i % 3}` }), ...fillers]);
        }
        const t = await totals();
        for (let k = 0; k < 3; k++) expect(t.get(`svc|op-${k}|${SpanKind.SERVER}`), `op-${k}`).toMatchObject({ calls: 100, errors: 50 });
        expect([...t.get(`svc|op-0|${SpanKind.SERVER}`)!.latency.values()].reduce((a, b) => a + b, 0)).toBe(100);
      });

      it('purgeOlderThan drops the figures of purged time', async () => {
        await write(serverSpans(4, { start: now - 2 * DAY_US }));
        await write(serverSpans(2, { start: now - MINUTE_US }));
        const all = { startUs: now - 3 * DAY_US };
        expect((await totals(all)).get(`svc|GET /x|${SpanKind.SERVER}`)?.calls).toBe(6);
        await storage.purgeOlderThan(now - DAY_US);
        expect((await totals(all)).get(`svc|GET /x|${SpanKind.SERVER}`)?.calls).toBe(2);
      });
    });

    it('an empty batch is accepted', async () => {
      await write([]);
      expect(await storage.reader.getServices()).toEqual([]);
    });

    it('keeps ids of the root span and parents as written', async () => {
      const t = newTraceId();
      const parent = newSpanId();
      await write([makeSpan({ traceId: t, service: 'p', startTimeUs: now, parentSpanId: parent, status: { code: StatusCode.OK, message: '' } })]);
      const [trace] = await storage.reader.getTraces({ traceIds: [t] });
      expect(trace.spans[0].parentSpanId).toBe(parent);
      expect(trace.spans[0].status).toEqual({ code: StatusCode.OK, message: '' });
    });
  });
}
