/**
 * Query benchmark (issue 6, scenario c): synthetic traces written straight through the SQLite
 * storage writer (1 M spans; `MESHTRACE_BENCH_SPANS` overrides, e.g. 10000000), then p50/p99 of
 * every read the Jaeger API offers — through the storage reader and through the real query API
 * over HTTP — against the cheapest read of the same trace in the same database: its summary row
 * by trace id through the table's key (a second, read-only connection:
 * `SELECT * FROM traces WHERE trace_id = ?`).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Span, SpanKind } from '../../model/span.js';
import { openSqliteStorage, type SqliteStorage } from '../../storage/sqlite/index.js';
import { OPERATIONS_PER_SERVICE, operationsOf, prng, SERVICES, TraceGenerator, traceIdOf, USER_IDS } from '../data/generator.js';
import { percentile, type BenchTable, type Scenario } from '../scenario.js';
import { withCpuProfile } from './support/profile.js';
import { openQueryFixture } from './support/query-fixture.js';
import { median, num, profileDir, spread, timeCalls } from './support/stats.js';

const HOUR_US = 3_600_000_000;
const SEED = 11;
/** Time budget per query type per phase (storage, HTTP) and rep, ms; at least 20 calls are made. */
const BUDGET_MS = 6_000;

/** Spans to generate: quick 5k, full 1 M, or `MESHTRACE_BENCH_SPANS`. */
export function benchSpanCount(quick: boolean): number {
  if (quick) return 5_000;
  const env = Number(process.env.MESHTRACE_BENCH_SPANS);
  return Number.isSafeInteger(env) && env > 0 ? env : 1_000_000;
}

export interface GeneratedStore {
  storage: SqliteStorage;
  /** The generator's seed: trace `i`'s id is `traceIdOf(seed, i)`. */
  seed: number;
  path: string;
  spans: number;
  traces: number;
  /** The data covers [startUs, endUs]. */
  startUs: number;
  endUs: number;
  writeMs: number;
}

/**
 * Writes `spans` synthetic spans (2 h of traffic ending now) through the storage writer, 2,000
 * spans per `writeSpans` (the collector's default batch), handing each batch to `onBatch` after it
 * is written. The storage stays open.
 */
export async function generateStore(dir: string, spans: number, onBatch?: (batch: Span[]) => void): Promise<GeneratedStore> {
  const path = join(dir, 'query.db');
  const storage = openSqliteStorage({ path });
  const estTraces = Math.ceil(spans / 27.5);
  const endUs = Date.now() * 1000;
  const startUs = endUs - 2 * HOUR_US;
  const gen = new TraceGenerator({ seed: SEED, startUs, spacingUs: Math.floor((2 * HOUR_US - 60_000_000) / estTraces) });
  const t0 = performance.now();
  const it = gen.batches(spans, 2000);
  let r = it.next();
  while (!r.done) {
    await storage.writer.writeSpans(r.value);
    onBatch?.(r.value);
    r = it.next();
  }
  return { storage, seed: SEED, path, spans: r.value.spans, traces: r.value.traces, startUs, endUs, writeMs: performance.now() - t0 };
}

interface Case {
  name: string;
  /** One storage-level call with fresh random parameters; resolves to the number of results. */
  storage: () => Promise<number>;
  /** The equivalent Jaeger API path (with query string). */
  http: () => string;
}

function cases(g: GeneratedStore, rnd: () => number): Case[] {
  const { reader } = g.storage;
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)];
  const end = g.endUs;
  const start = end - HOUR_US;
  const win = `start=${start}&end=${end}&limit=20`;
  const svc = () => pick(SERVICES);
  const traceId = () => traceIdOf(SEED, Math.floor(rnd() * g.traces));
  const find = (q: Parameters<typeof reader.findTraces>[0]) => reader.findTraces(q).then((t) => t.length);
  const base = { startTimeMinUs: start, startTimeMaxUs: end, limit: 20 };
  const user = () => `user-${Math.floor(rnd() * USER_IDS)}`;
  return [
    { name: 'trace by id', storage: () => reader.getTraces({ traceIds: [traceId()] }).then((t) => t.length), http: () => `/api/traces/${traceId()}` },
    { name: 'search: service', storage: () => find({ ...base, serviceName: svc() }), http: () => `/api/traces?service=${svc()}&${win}` },
    {
      name: 'search: service + operation',
      storage: () => {
        const s = svc();
        return find({ ...base, serviceName: s, operationName: operationsOf(s)[Math.floor(rnd() * OPERATIONS_PER_SERVICE)] });
      },
      http: () => {
        const s = svc();
        return `/api/traces?service=${s}&operation=${encodeURIComponent(operationsOf(s)[Math.floor(rnd() * OPERATIONS_PER_SERVICE)])}&${win}`;
      },
    },
    {
      name: 'search: service + tag (3 values)',
      storage: () => find({ ...base, serviceName: svc(), tags: { 'customer.tier': 'enterprise' } }),
      http: () => `/api/traces?service=${svc()}&tags=${encodeURIComponent('{"customer.tier":"enterprise"}')}&${win}`,
    },
    {
      name: 'search: tag, rare (user.id, 10k values)',
      storage: () => find({ ...base, tags: { 'user.id': user() } }),
      http: () => `/api/traces?tags=${encodeURIComponent(`{"user.id":"${user()}"}`)}&${win}`,
    },
    {
      name: 'search: service + tag with no match',
      storage: () => find({ ...base, serviceName: svc(), tags: { 'user.id': 'nobody' } }),
      http: () => `/api/traces?service=${svc()}&tags=${encodeURIComponent('{"user.id":"nobody"}')}&${win}`,
    },
    {
      name: 'search: service + duration 45–50 ms',
      storage: () => find({ ...base, serviceName: svc(), durationMinUs: 45_000, durationMaxUs: 50_000 }),
      http: () => `/api/traces?service=${svc()}&minDuration=45ms&maxDuration=50ms&${win}`,
    },
    { name: 'services list', storage: () => reader.getServices().then((x) => x.length), http: () => '/api/services' },
    {
      name: 'operations list',
      storage: () => reader.getOperations({ serviceName: svc() }).then((x) => x.length),
      http: () => `/api/operations?service=${svc()}`,
    },
    {
      name: 'dependencies (24 h)',
      storage: () => g.storage.dependencies.getDependencies({ startUs: end - 24 * HOUR_US, endUs: end }).then((x) => x.length),
      http: () => `/api/dependencies?endTs=${Math.floor(end / 1000)}&lookback=86400000`,
    },
    {
      // What Jaeger UI's Monitor tab asks for a service's operations table (one of its calls).
      name: 'RED metrics: p95 by operation (1 h)',
      storage: () => g.storage.spanMetrics.getSpanMetrics({ serviceNames: [svc()], spanKinds: [SpanKind.SERVER], startUs: end - 70 * 60_000_000, endUs: end }).then((x) => x.length),
      http: () => `/api/metrics/latencies?service=${svc()}&groupByOperation=true&quantile=0.95&spanKind=server&endTs=${Math.floor(end / 1000)}&lookback=3600000&step=60000&ratePer=600000`,
    },
  ];
}

export const queryScenario: Scenario = {
  name: 'query',
  description:
    'Query latency at 1 M stored spans (MESHTRACE_BENCH_SPANS to change): storage reader calls and the Jaeger HTTP API, ' +
    'p50/p99 per query type vs an indexed lookup of the trace row by id in the same database.',
  async run(opts) {
    const spans = benchSpanCount(opts.quick);
    const reps = opts.reps;
    const n = opts.quick ? 5 : 100;
    const fx = await openQueryFixture(opts.tmpDir, spans);
    const { g, httpGet } = fx;
    const rnd = prng(5);
    const results = new Map<string, { st50: number[]; st99: number[]; h50: number[]; h99: number[]; hits: number[]; calls: number[] }>();
    const base50: number[] = [];
    const base99: number[] = [];
    try {
      const cs = cases(g, rnd);
      // Warm-up: page cache and JIT, so the first measured case is not penalised.
      for (const c of cs) {
        await c.storage();
        await httpGet(c.http());
      }
      for (let rep = 0; rep < reps; rep++) {
        // The cheapest read of the same trace: its summary row through the trace-id key.
        const b = await timeCalls(n, async () => fx.lookup(Math.floor(rnd() * g.traces)));
        base50.push(percentile(b, 50));
        base99.push(percentile(b, 99));
        for (const c of cs) {
          const r = results.get(c.name) ?? { st50: [], st99: [], h50: [], h99: [], hits: [], calls: [] };
          let hits = 0;
          const st = await timeCalls(n, async () => {
            hits += await c.storage();
          }, BUDGET_MS);
          const h = await timeCalls(n, () => httpGet(c.http()), BUDGET_MS);
          r.calls.push(st.length);
          r.st50.push(percentile(st, 50));
          r.st99.push(percentile(st, 99));
          r.h50.push(percentile(h, 50));
          r.h99.push(percentile(h, 99));
          r.hits.push(hits / st.length);
          results.set(c.name, r);
        }
      }
      const dir = profileDir();
      if (dir) {
        // One profile per query type, storage level: what the p99s above are made of.
        for (const c of cs) {
          const file = join(dir, `query-${c.name.replace(/[^a-z0-9]+/gi, '-').replace(/-$/, '')}.cpuprofile`);
          await withCpuProfile(file, () => timeCalls(Math.min(n, 30), c.storage));
        }
        // And one through the HTTP API (the query app runs in this process): the API's own share.
        const svcCase = cs.find((c) => c.name === 'search: service')!;
        await withCpuProfile(join(dir, 'query-http-search-service.cpuprofile'), () => timeCalls(Math.min(n, 30), () => httpGet(svcCase.http())));
      }
    } finally {
      await fx.close();
    }
    const dbBytes = ['', '-wal'].reduce((n, suffix) => n + (existsSync(g.path + suffix) ? statSync(g.path + suffix).size : 0), 0);
    const b99 = median(base99);
    const rows = [...results].map(([name, r]) => [
      name,
      String(Math.min(...r.calls)),
      num(median(r.hits)),
      spread(r.st50),
      spread(r.st99),
      `${num(median(r.st99) / b99)}×`,
      spread(r.h50),
      spread(r.h99),
    ]);
    rows.unshift(['baseline: indexed lookup of the trace row by id', String(n), '1', spread(base50), spread(base99), '1×', '', '']);
    const table: BenchTable = {
      title: `Query latency at ${spans.toLocaleString('en-US')} spans (ms)`,
      columns: ['query', 'calls/rep', 'results/call', 'storage p50', 'storage p99', 'storage p99 vs baseline p99', 'HTTP API p50', 'HTTP API p99'],
      rows,
      notes: [
        `${reps} rep(s) × up to ${n} calls per query type with random parameters (fewer when a type's calls exceed ${BUDGET_MS / 1000} s, at least 20: "calls/rep"); each cell is the median over reps (min–max).`,
        'Searches: the last hour of the 2 h of data, limit 20 (the Jaeger UI default), full traces loaded. HTTP: real query app (fastify, adjusters, Jaeger JSON) on 127.0.0.1, one keep-alive connection.',
        `Data: ${g.spans.toLocaleString('en-US')} spans in ${g.traces.toLocaleString('en-US')} traces written through storage.writer in ${num(g.writeMs / 1000)} s (${num((g.spans / g.writeMs) * 1000)} spans/s, generation included), database ${num(dbBytes / 2 ** 20)} MiB with WAL (${num(dbBytes / g.spans)} B/span); shape in BENCHMARKS.md ("Synthetic data").`,
        'Targets (issue 6): trace by id p99 < 10 ms, every search p99 < 100 ms (at 10 M spans).',
      ],
    };
    return [table];
  },
};

export default queryScenario;
