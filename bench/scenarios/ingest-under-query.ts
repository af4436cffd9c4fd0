/**
 * Search while ingesting (issue 6, scenario d): the all-in-one server (child process) holding
 * pre-generated data answers Jaeger API searches idle, then while OTLP protobuf spans arrive at
 * ~20,000 spans/s. Baseline: the same queries idle, in the same run, alternating with the loaded
 * phases.
 */
import { join } from 'node:path';
import { Pool } from 'undici';
import { OPERATIONS_PER_SERVICE, operationsOf, prng, SERVICES, TraceGenerator, traceIdOf } from '../data/generator.js';
import { reusableBodies } from '../data/otlp.js';
import { percentile, type BenchTable, type Scenario } from '../scenario.js';
import { ServerChild } from './support/child.js';
import { type LoadResult, sendAtRate } from './support/load.js';
import { median, num, spread } from './support/stats.js';
import { endlessBodies } from './memory.js';
import type { DataSpec } from './support/server-child.js';

const HOUR_US = 3_600_000_000;
const SEED = 31;

export const ingestUnderQueryScenario: Scenario = {
  name: 'ingest-under-query',
  description:
    'Jaeger API search latency on the all-in-one server (child process) idle vs while ingesting ~20,000 spans/s of OTLP protobuf (1,000-span requests).',
  async run(opts) {
    const reps = opts.reps;
    const preload = opts.quick ? 5_000 : 100_000;
    const rate = opts.quick ? 2_000 : 20_000;
    const queriesPerPhase = opts.quick ? 5 : 40;
    const endUs = Date.now() * 1000;
    const traces = Math.ceil(preload / 27.5);
    const spec: DataSpec = { seed: SEED, startUs: endUs - HOUR_US, spacingUs: Math.floor(HOUR_US / traces), totalSpans: preload, batchSpans: 2000 };
    const bodies = reusableBodies(new TraceGenerator({ seed: SEED + 1, startUs: endUs - HOUR_US / 2, spacingUs: 5_000 }).batches(opts.quick ? 5_000 : 50_000, 1000));
    const nextBody = endlessBodies(bodies);
    const child = ServerChild.start();
    const rnd = prng(3);
    const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)];
    const win = () => `start=${endUs - HOUR_US}&end=${Date.now() * 1000}&limit=20`;
    const queries: { name: string; path: () => string }[] = [
      { name: 'trace by id', path: () => `/api/traces/${traceIdOf(SEED, Math.floor(rnd() * traces * 0.9))}` },
      { name: 'search: service', path: () => `/api/traces?service=${pick(SERVICES)}&${win()}` },
      {
        name: 'search: service + operation',
        path: () => {
          const s = pick(SERVICES);
          return `/api/traces?service=${s}&operation=${operationsOf(s)[Math.floor(rnd() * OPERATIONS_PER_SERVICE)]}&${win()}`;
        },
      },
      { name: 'search: service + tag', path: () => `/api/traces?service=${pick(SERVICES)}&tags=${encodeURIComponent('{"customer.tier":"enterprise"}')}&${win()}` },
    ];
    const lat = new Map<string, { idle50: number[]; idle99: number[]; load50: number[]; load99: number[] }>();
    const achieved: number[] = [];
    let refused = 0;
    try {
      const dataDir = join(opts.tmpDir, 'aio');
      await child.request({ cmd: 'populate', dbPath: join(dataDir, 'meshtrace.db'), data: spec });
      const { otlpHttpUrl, queryUrl } = await child.request<{ otlpHttpUrl: string; queryUrl: string }>({ cmd: 'all-in-one', dataDir });
      const pool = new Pool(queryUrl, { connections: 1 });
      const runQueries = async (): Promise<Map<string, number[]>> => {
        const out = new Map<string, number[]>();
        for (let i = 0; i < queriesPerPhase; i++) {
          for (const q of queries) {
            const path = q.path();
            const t0 = performance.now();
            const res = await pool.request({ method: 'GET', path });
            await res.body.dump();
            if (res.statusCode !== 200) throw new Error(`GET ${path} → ${res.statusCode}`);
            const list = out.get(q.name) ?? [];
            list.push(performance.now() - t0);
            out.set(q.name, list);
          }
        }
        return out;
      };
      try {
        await runQueries(); // warm-up
        let generation = 0;
        for (let rep = 0; rep < reps; rep++) {
          const idle = await runQueries();
          // Ingest for as long as the loaded query phase runs.
          let stop = false;
          const base = generation;
          generation += 100_000;
          const ingest = (async () => {
            const results: LoadResult[] = [];
            while (!stop) results.push(await sendAtRate(otlpHttpUrl, (i) => nextBody(base + results.length * 10_000 + i), { spansPerSecond: rate, durationMs: 1000, maxInFlight: 16 }));
            return results;
          })();
          await new Promise((r) => setTimeout(r, 1000)); // let the load settle
          let loaded: Map<string, number[]>;
          try {
            loaded = await runQueries();
          } finally {
            stop = true;
          }
          const results = await ingest;
          const spans = results.reduce((n, r) => n + r.spans, 0);
          const ms = results.reduce((n, r) => n + r.ms, 0);
          refused += results.reduce((n, r) => n + r.refused, 0);
          if (results.some((r) => r.failed > 0)) throw new Error('ingest requests failed');
          achieved.push((spans / ms) * 1000);
          for (const q of queries) {
            const e = lat.get(q.name) ?? { idle50: [], idle99: [], load50: [], load99: [] };
            e.idle50.push(percentile(idle.get(q.name)!, 50));
            e.idle99.push(percentile(idle.get(q.name)!, 99));
            e.load50.push(percentile(loaded.get(q.name)!, 50));
            e.load99.push(percentile(loaded.get(q.name)!, 99));
            lat.set(q.name, e);
          }
        }
      } finally {
        await pool.close();
      }
    } finally {
      await child.close();
    }
    const rows = [...lat].map(([name, e]) => [
      name,
      spread(e.idle50),
      spread(e.idle99),
      spread(e.load50),
      spread(e.load99),
      `${(median(e.load99) / median(e.idle99)).toFixed(2)}×`,
    ]);
    const table: BenchTable = {
      title: `Search while ingesting: Jaeger API latency idle vs at ${rate.toLocaleString('en-US')} spans/s offered (ms)`,
      columns: ['query', 'idle p50', 'idle p99 (baseline)', 'ingesting p50', 'ingesting p99', 'p99 ingesting vs idle'],
      rows,
      notes: [
        `Ingest achieved ${spread(achieved)} spans/s (offered ${num(rate)}), ${refused} request(s) refused; ${preload.toLocaleString('en-US')} spans stored before the first query.`,
        `${reps} rep(s), each an idle phase then a loaded phase of ${queriesPerPhase} rounds of the queries (one keep-alive connection, sequential); searches over the last hour, limit 20.`,
        'Target (issue 6): search p99 within 2× of idle while ingesting 20k spans/s.',
      ],
    };
    return [table];
  },
};

export default ingestUnderQueryScenario;
