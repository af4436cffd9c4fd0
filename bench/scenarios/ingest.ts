/**
 * Ingest benchmark (issue 6, scenarios a and b): OTLP/HTTP end to end into a real collector +
 * SQLite store running in a child process, against two baselines measured in the same run:
 * - a raw better-sqlite3 insert of the same spans (bench/data/raw-sqlite.ts) in the same kind of
 *   child process, one transaction per request-sized batch;
 * - protobufjs `decode` alone (and `JSON.parse` alone) of the same request bodies, against our
 *   decode + normalize into the span model.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodeOtlpJson } from '../../collector/otlp/decode-json.js';
import { decodeOtlpProtobuf } from '../../collector/otlp/decode-protobuf.js';
import { otlpTypes } from '../../collector/otlp/schema.js';
import { TraceGenerator } from '../data/generator.js';
import { encodeOtlpJson, encodeOtlpProtobuf } from '../data/otlp.js';
import type { BenchTable, Scenario } from '../scenario.js';
import { ServerChild } from './support/child.js';
import { type Body, sendAll } from './support/load.js';
import type { DataSpec } from './support/server-child.js';
import { median, num, profileDir, ratio, spread } from './support/stats.js';
import { splitThreadCpu, type ThreadCpuSplit } from './support/thread-cpu.js';

const HOUR_US = 3_600_000_000;

function dataSpec(totalSpans: number, batchSpans: number, seed: number): DataSpec {
  // 200 traces/s of live traffic ending about now (so retention never touches it).
  const spacingUs = 5_000;
  return { seed, startUs: Date.now() * 1000 - HOUR_US, spacingUs, totalSpans, batchSpans };
}

function encodeBodies(spec: DataSpec, json: boolean): Body[] {
  const out: Body[] = [];
  for (const b of new TraceGenerator(spec).batches(spec.totalSpans, spec.batchSpans)) {
    out.push({ data: json ? encodeOtlpJson(b) : encodeOtlpProtobuf(b), spans: b.length });
  }
  return out;
}

function removeDb(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
}

interface Run { spansPerSec: number; cpuUsPerSpan: number; threads?: ThreadCpuSplit }

interface ChildUsage { cpuUs: number; threads: [number, number][]; pid: number; ingestTid?: number }

/** One end-to-end run on a fresh database; server CPU measured from first request to last answer. */
async function ingestRun(child: ServerChild, dir: string, bodies: Body[], clients: number, tag: string, warmup: Body[] = []): Promise<Run> {
  const dbPath = join(dir, `ingest-${tag}.db`);
  const { port } = await child.request<{ port: number }>({ cmd: 'collector', dbPath });
  try {
    // Every run starts a new ingest worker thread, i.e. a fresh V8 isolate that must JIT-compile
    // the decoder and writer again; a long-running server pays that once. Warm it on other traces
    // (same encoding and request size) before measuring the steady state.
    if (warmup.length > 0) await sendAll(`http://127.0.0.1:${port}`, warmup, clients);
    const before = (await child.usage()) as unknown as ChildUsage;
    const r = await sendAll(`http://127.0.0.1:${port}`, bodies, clients);
    const after = (await child.usage()) as unknown as ChildUsage;
    if (r.refused > 0) throw new Error(`${r.refused} requests refused (queue full) in a throughput run`);
    const split = splitThreadCpu(new Map(before.threads), new Map(after.threads), after.pid, after.ingestTid);
    const perSpan = (us: number) => us / r.spans;
    return {
      spansPerSec: (r.spans / r.ms) * 1000,
      cpuUsPerSpan: (after.cpuUs - before.cpuUs) / r.spans,
      threads: { mainUs: perSpan(split.mainUs), ingestUs: perSpan(split.ingestUs), otherUs: perSpan(split.otherUs) },
    };
  } finally {
    await child.request({ cmd: 'stop' });
    removeDb(dbPath);
  }
}

/** The raw better-sqlite3 insert (`raw`) or the storage writer alone (`write`) of the same spans. */
async function baselineRun(child: ServerChild, cmd: 'raw' | 'write', dir: string, spec: DataSpec, tag: string): Promise<Run> {
  const dbPath = join(dir, `${cmd}-${tag}.db`);
  try {
    const r = await child.request<{ ms: number; cpuUs: number; spans: number }>({ cmd, dbPath, data: spec });
    return { spansPerSec: (r.spans / r.ms) * 1000, cpuUsPerSpan: r.cpuUs / r.spans };
  } finally {
    removeDb(dbPath);
  }
}

/** µs per span of `fn` over all bodies, best of a short warm-up then one timed pass. */
function timePerSpan(bodies: Body[], fn: (b: Body) => void): number {
  for (const b of bodies.slice(0, 3)) fn(b);
  let spans = 0;
  const t0 = performance.now();
  for (const b of bodies) {
    fn(b);
    spans += b.spans;
  }
  return ((performance.now() - t0) * 1000) / spans;
}

export const ingestScenario: Scenario = {
  name: 'ingest',
  description:
    'OTLP/HTTP ingest end to end (undici keep-alive clients → collector → SQLite, server in a child process, fresh database per run) ' +
    'vs a raw better-sqlite3 insert of the same spans; OTLP decode vs protobufjs decode / JSON.parse alone.',
  async run(opts) {
    const reps = opts.reps;
    const total = opts.quick ? 2_000 : 100_000;
    const jsonTotal = opts.quick ? 2_000 : 50_000;
    const configs: { batch: number; clients: number; json: boolean }[] = [
      { batch: 100, clients: 1, json: false },
      { batch: 100, clients: 8, json: false },
      { batch: 1000, clients: 1, json: false },
      { batch: 1000, clients: 8, json: false },
      { batch: 100, clients: 8, json: true },
      { batch: 1000, clients: 8, json: true },
    ];
    const bodyCache = new Map<string, Body[]>();
    const bodiesFor = (batch: number, json: boolean) => {
      const key = `${batch}:${json}`;
      let b = bodyCache.get(key);
      if (!b) bodyCache.set(key, (b = encodeBodies(dataSpec(json ? jsonTotal : total, batch, 7), json)));
      return b;
    };
    const warmupCache = new Map<string, Body[]>();
    const warmupFor = (batch: number, json: boolean) => {
      const key = `${batch}:${json}`;
      let b = warmupCache.get(key);
      // Another seed: other trace ids, so the measured run writes only new traces.
      if (!b) warmupCache.set(key, (b = encodeBodies(dataSpec(opts.quick ? 500 : 20_000, batch, 11), json)));
      return b;
    };
    const e2e = new Map<string, Run[]>();
    const raw = new Map<number, Run[]>();
    const writer = new Map<number, Run[]>();
    const child = ServerChild.start();
    try {
      // Warm-up: JIT the server's hot paths before the first measured run.
      await ingestRun(child, opts.tmpDir, encodeBodies(dataSpec(2_000, 100, 99), false), 2, 'warmup');
      for (let rep = 0; rep < reps; rep++) {
        // Baselines and configurations interleaved, so a noisy moment hits them alike.
        for (const batch of [100, 1000]) {
          const runs = raw.get(batch) ?? [];
          runs.push(await baselineRun(child, 'raw', opts.tmpDir, dataSpec(total, batch, 7), `${batch}-${rep}`));
          raw.set(batch, runs);
          const w = writer.get(batch) ?? [];
          w.push(await baselineRun(child, 'write', opts.tmpDir, dataSpec(total, batch, 7), `${batch}-${rep}`));
          writer.set(batch, w);
        }
        for (const c of configs) {
          const key = `${c.json ? 'json' : 'protobuf'}:${c.batch}:${c.clients}`;
          const runs = e2e.get(key) ?? [];
          runs.push(await ingestRun(child, opts.tmpDir, bodiesFor(c.batch, c.json), c.clients, `${key.replaceAll(':', '-')}-${rep}`, warmupFor(c.batch, c.json)));
          e2e.set(key, runs);
        }
      }
      const dir = profileDir();
      if (dir) {
        await child.request({ cmd: 'profile-start' });
        await ingestRun(child, opts.tmpDir, bodiesFor(1000, false), 8, 'profile', warmupFor(1000, false));
        await child.request({ cmd: 'profile-stop', path: join(dir, 'ingest-protobuf-1000x8.cpuprofile') });
      }
    } finally {
      await child.close();
    }

    const rows: (string | number)[][] = [];
    for (const batch of [100, 1000]) {
      const base = raw.get(batch)!;
      for (const [name, runs] of [['baseline: raw better-sqlite3 insert', base], ['storage.writer alone (no HTTP, no decode)', writer.get(batch)!]] as const) {
        const sps = runs.map((r) => r.spansPerSec);
        const cpu = runs.map((r) => r.cpuUsPerSpan);
        rows.push([name, String(batch), '—', spread(sps), spread(cpu), num(1e6 / median(cpu)), '', ratio(sps, base.map((r) => r.spansPerSec)), ratio(cpu, base.map((r) => r.cpuUsPerSpan))]);
      }
    }
    for (const c of configs) {
      const runs = e2e.get(`${c.json ? 'json' : 'protobuf'}:${c.batch}:${c.clients}`)!;
      const base = raw.get(c.batch)!;
      const sps = runs.map((r) => r.spansPerSec);
      const cpu = runs.map((r) => r.cpuUsPerSpan);
      rows.push([
        c.json ? 'JSON' : 'protobuf',
        String(c.batch),
        String(c.clients),
        spread(sps),
        spread(cpu),
        num(1e6 / median(cpu)),
        spread(base.map((r) => r.spansPerSec)),
        ratio(sps, base.map((r) => r.spansPerSec)),
        ratio(cpu, base.map((r) => r.cpuUsPerSpan)),
      ]);
    }
    const split = e2e.get('protobuf:1000:8')!.map((r) => r.threads).filter((t): t is ThreadCpuSplit => t !== undefined);
    const threadNote = split.length === 0 || split.every((t) => t.mainUs + t.ingestUs + t.otherUs === 0)
      ? 'CPU by thread: not available (needs Linux /proc).'
      : `CPU by thread, protobuf 1,000 × 8 (µs/span, median): main thread (HTTP receive, hand-over) ${num(median(split.map((t) => t.mainUs)))}, ` +
        `ingest worker (decode + SQLite writes) ${num(median(split.map((t) => t.ingestUs)))}, ` +
        `other threads (V8 garbage collection and compiler, libuv) ${num(median(split.map((t) => t.otherUs)))}; from /proc/<pid>/task/*/stat, 10 ms ticks.`;
    const ingestTable: BenchTable = {
      title: 'Ingest: OTLP/HTTP end to end vs raw better-sqlite3 insert of the same spans',
      columns: [
        'encoding', 'spans/request', 'clients', 'spans/s, median (min–max)', 'server CPU µs/span', 'spans per CPU-second',
        'raw insert spans/s (same batches)', 'throughput vs raw', 'CPU/span vs raw',
      ],
      rows,
      notes: [
        `${reps} run(s) per row, ${total.toLocaleString('en-US')} spans per protobuf run, ${jsonTotal.toLocaleString('en-US')} per JSON run, each into a fresh database and a fresh server (ingest worker thread) warmed first with ${opts.quick ? 500 : '20,000'} spans of other traces (not measured); configurations and baselines interleaved.`,
        'Server CPU = process.cpuUsage() (user + system, all threads) of the server child process from the first request to the last answer; "spans per CPU-second" is ingest per fully used core.',
        '"storage.writer alone": the same spans as model objects (decoded before timing) written with writeSpans, one call per request-sized batch, in the same child process: the storage share of the end-to-end cost.',
        'Raw baseline: the same spans pre-converted to rows (ids as BLOBs, attributes + events + resource as one JSON text), one minimal rowid table without indexes, one prepared INSERT, one transaction per request-sized batch, WAL + synchronous NORMAL.',
        'Targets (issue 6): ≥ 50,000 spans/s per core end to end, and ≥ 0.5× the raw insert rate.',
        'The load generator runs on the same 2 cores; spans/s is wall-clock throughput, CPU per span is the server alone.',
        threadNote,
      ],
    };

    // Decode alone vs decode + normalize, in this process, on the 1,000-span bodies.
    const decodeRows: (string | number)[][] = [];
    for (const json of [false, true]) {
      const bodies = bodiesFor(1000, json).slice(0, opts.quick ? 2 : 50);
      const baseline: number[] = [];
      const ours: number[] = [];
      for (let rep = 0; rep < reps; rep++) {
        if (json) {
          baseline.push(timePerSpan(bodies, (b) => JSON.parse(b.data as string)));
          ours.push(timePerSpan(bodies, (b) => decodeOtlpJson(b.data as string)));
        } else {
          baseline.push(timePerSpan(bodies, (b) => otlpTypes.ExportTraceServiceRequest.decode(b.data as Uint8Array)));
          ours.push(timePerSpan(bodies, (b) => decodeOtlpProtobuf(b.data as Uint8Array)));
        }
      }
      const bytes = bodies.reduce((n, b) => n + (typeof b.data === 'string' ? Buffer.byteLength(b.data) : b.data.byteLength), 0);
      const spans = bodies.reduce((n, b) => n + b.spans, 0);
      decodeRows.push([
        json ? 'JSON' : 'protobuf',
        json ? 'JSON.parse' : 'protobufjs decode',
        spread(baseline),
        spread(ours),
        ratio(ours, baseline),
        num(bytes / spans),
      ]);
    }
    const decodeTable: BenchTable = {
      title: 'Decode: our decode + normalize vs the parser alone (µs per span, 1,000-span requests)',
      columns: ['encoding', 'baseline', 'baseline µs/span', 'decode + normalize µs/span', 'ratio', 'request bytes/span'],
      rows: decodeRows,
      notes: [`${reps} pass(es) over the same bodies as the ingest runs, in the bench process (one core).`],
    };
    return [ingestTable, decodeTable];
  },
};

export default ingestScenario;
