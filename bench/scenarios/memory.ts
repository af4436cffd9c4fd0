/**
 * Memory benchmark (issue 6, scenario g): RSS of a collector + SQLite server process (a child,
 * default collector configuration) idle, under sustained ingest at half its measured capacity and
 * under 3× its capacity, where it must stay bounded by refusing with 503 + Retry-After instead of
 * queueing without limit. Baseline: the same process's idle RSS after warm-up, same run.
 */
import { join } from 'node:path';
import { TraceGenerator } from '../data/generator.js';
import { reusableBodies, type ReusableBody } from '../data/otlp.js';
import type { BenchOptions, BenchTable, Scenario } from '../scenario.js';
import { ServerChild } from './support/child.js';
import { type Body, type LoadResult, sendAll, sendAtRate } from './support/load.js';
import { median, num, spread } from './support/stats.js';

const MiB = 2 ** 20;

/** Request bodies that never repeat a trace id: generation `g` of body `i`. */
export function endlessBodies(bodies: ReusableBody[]): (i: number) => Body {
  return (i) => ({ data: bodies[i % bodies.length].copy(1 + Math.floor(i / bodies.length)), spans: bodies[i % bodies.length].spans });
}

/** Runs `phase` while sampling the child's RSS every 200 ms. */
async function sampled<T>(child: ServerChild, phase: () => Promise<T>): Promise<{ result: T; rss: number[] }> {
  const rss: number[] = [];
  let done = false;
  const sampler = (async () => {
    while (!done) {
      rss.push((await child.usage()).rss);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  try {
    return { result: await phase(), rss };
  } finally {
    done = true;
    await sampler;
  }
}

export const memoryScenario: Scenario = {
  name: 'memory',
  description:
    'Collector RSS (server child process, default config: queue 100,000 spans) idle, at 0.5× and at 3× its measured ingest capacity ' +
    '(OTLP protobuf, 1,000-span requests); under overload it must answer 503 + Retry-After and stay bounded.',
  async run(opts) {
    const reps = opts.reps;
    const phaseMs = opts.quick ? 1_000 : 8_000;
    const gen = new TraceGenerator({ seed: 23, startUs: Date.now() * 1000 - 3_600_000_000, spacingUs: 5_000 });
    const bodies = reusableBodies(gen.batches(opts.quick ? 10_000 : 100_000, 1000));
    const nextBody = endlessBodies(bodies);
    const child = ServerChild.start();
    const rows: (string | number)[][] = [];
    let capacity = 0;
    let idle = 0;
    try {
      const { port } = await child.request<{ port: number }>({ cmd: 'collector', dbPath: join(opts.tmpDir, 'memory.db') });
      const origin = `http://127.0.0.1:${port}`;
      // Capacity probe (also the warm-up): closed loop, 8 clients.
      const probe = await sendAll(origin, Array.from({ length: opts.quick ? 10 : 200 }, (_, i) => nextBody(i)), 8);
      capacity = (probe.spans / probe.ms) * 1000;
      await new Promise((r) => setTimeout(r, 500));
      idle = (await child.usage()).rss;
      let sent = 1_000_000;
      // Overload allows 256 requests (256k spans) in flight: more than the collector's queue
      // (100k spans), so its bound, not the client's, is what is tested.
      const phases: { name: string; factor: number; maxInFlight: number }[] = [
        { name: 'sustained 0.5× capacity', factor: 0.5, maxInFlight: 64 },
        { name: 'overload 3× capacity', factor: 3, maxInFlight: 256 },
      ];
      const acc = new Map<string, { p50: number[]; max: number[]; growth: number[]; accepted: number[]; refused: number[]; retryAfter: boolean }>();
      for (let rep = 0; rep < reps; rep++) {
        for (const ph of phases) {
          const base = sent;
          sent += 100_000;
          const { result, rss } = await sampled<LoadResult>(child, () =>
            sendAtRate(origin, (i) => nextBody(base + i), { spansPerSecond: capacity * ph.factor, durationMs: phaseMs, maxInFlight: ph.maxInFlight }),
          );
          const a = acc.get(ph.name) ?? { p50: [], max: [], growth: [], accepted: [], refused: [], retryAfter: true };
          const q = Math.max(1, Math.floor(rss.length / 4));
          a.p50.push(median(rss) / MiB);
          a.max.push(Math.max(...rss) / MiB);
          a.growth.push((median(rss.slice(-q)) - median(rss.slice(0, q))) / MiB);
          a.accepted.push((result.spans / result.ms) * 1000);
          a.refused.push(result.requests ? result.refused / result.requests : 0);
          a.retryAfter &&= result.retryAfterAlways;
          if (result.failed > 0) throw new Error(`${result.failed} requests failed during ${ph.name}`);
          acc.set(ph.name, a);
        }
      }
      for (const [name, a] of acc) {
        rows.push([
          name,
          spread(a.accepted),
          `${num(median(a.refused) * 100)} %`,
          a.retryAfter ? 'yes' : 'NO',
          spread(a.p50),
          spread(a.max),
          `${num(median(a.max) / (idle / MiB))}×`,
          spread(a.growth),
        ]);
      }
      rows.unshift(['baseline: idle after warm-up', '', '', '', num(idle / MiB), num(idle / MiB), '1×', '']);
    } finally {
      await child.close();
    }
    const table: BenchTable = {
      title: 'Memory: collector RSS under sustained ingest and overload (MiB)',
      columns: ['phase', 'accepted spans/s', 'requests refused', 'Retry-After on every 503', 'RSS median', 'RSS max', 'max vs idle', 'RSS growth last ¼ − first ¼'],
      rows,
      notes: [
        `Capacity measured first in the same run (closed loop, 8 clients): ${num(capacity)} spans/s. Each phase ${phaseMs / 1000} s, ${reps} rep(s), alternating; RSS sampled every 200 ms.`,
        'Open-loop offered load; at most 64 (sustained) / 256 (overload) requests in flight, beyond that a request is not sent (counted as offered); every request carries fresh trace ids.',
        'Target (issue 6): RSS bounded under overload (no growth across the phase), overload answered with 429/503 + Retry-After.',
      ],
    };
    return [table, await burstTable(opts)];
  },
};

/**
 * RSS after a burst of large requests (issue 10): three 100k-span requests, then quiet. Before the
 * ingest worker's idle GC, the dead decode objects of the burst stayed in the worker's heap (and
 * the process held ~550 MiB) until the next request arrived.
 */
async function burstTable(opts: BenchOptions): Promise<BenchTable> {
  const reps = opts.reps;
  const spansPerRequest = opts.quick ? 5_000 : 100_000;
  const settleMs = opts.quick ? 1_500 : 5_000;
  const gen = new TraceGenerator({ seed: 29, startUs: Date.now() * 1000 - 3_600_000_000, spacingUs: 5_000 });
  const bodies = reusableBodies(gen.batches(spansPerRequest * 3, spansPerRequest));
  const acc = { idle: [] as number[], peak: [] as number[], after: [] as number[] };
  for (let rep = 0; rep < reps; rep++) {
    const child = ServerChild.start();
    try {
      const { port } = await child.request<{ port: number }>({
        cmd: 'collector',
        dbPath: join(opts.tmpDir, `burst-${rep}.db`),
        config: { maxRequestBodyBytes: 64 * MiB, maxQueueSpans: 200_000 },
      });
      const origin = `http://127.0.0.1:${port}`;
      // Warm-up: a few small requests so idle RSS includes the loaded code.
      const warm = reusableBodies(gen.batches(5_000, 1_000));
      await sendAll(origin, warm.map((b) => ({ data: b.copy(rep + 7), spans: b.spans })), 1);
      await new Promise((r) => setTimeout(r, 1_000));
      const idle = (await child.usage()).rss;
      const { rss } = await sampled(child, () => sendAll(origin, bodies.map((b) => ({ data: b.copy(rep + 1), spans: b.spans })), 1));
      await new Promise((r) => setTimeout(r, settleMs));
      const after = (await child.usage()).rss;
      acc.idle.push(idle / MiB);
      acc.peak.push(Math.max(idle, ...rss) / MiB);
      acc.after.push(after / MiB);
    } finally {
      await child.close();
    }
  }
  const idle = median(acc.idle);
  return {
    title: `Memory: RSS after a burst of three ${num(spansPerRequest)}-span requests (MiB)`,
    columns: ['moment', 'RSS', 'vs idle'],
    rows: [
      ['baseline: idle after warm-up', spread(acc.idle), '1×'],
      ['peak during the burst', spread(acc.peak), `${num(median(acc.peak) / idle)}×`],
      [`${settleMs / 1000} s after the burst (quiet)`, spread(acc.after), `${num(median(acc.after) / idle)}×`],
    ],
    notes: [
      `Collector child with the ingest worker thread, --max-body-size 64 MiB; requests sent one at a time (OTLP protobuf); ${reps} rep(s), a fresh process each.`,
      'What must hold: RSS after the burst returns towards idle without another request arriving (the worker collects its garbage once idle, see all-in-one/idle-gc.ts).',
    ],
  };
}

export default memoryScenario;
