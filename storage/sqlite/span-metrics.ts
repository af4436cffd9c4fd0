/**
 * RED metrics in the SQLite backend: per minute and operation, the call count, the error count
 * and a latency histogram (model/latency-histogram.ts) — what jaeger-query's Monitor tab reads.
 *
 * Write path, inside each batch's transaction: the batch's spans are summed in memory per
 * (minute, operation) and appended as one `span_metrics_recent` row per service. Once there are
 * `MERGE_EVERY_ROWS` recent rows they are summed into `span_metrics` (multi-row UPSERTs). Why
 * staged: a batch of 1,000 spans touches hundreds of operations (the bench data has 4,200), and
 * rewriting each of their rows per batch cost ~2 µs per span; staged, a busy minute's rows are
 * rewritten once per ~50 batches. Readers merge both tables, reading only the recent rows of
 * the services asked for.
 *
 * A span rewritten with the same id is not counted again (its first version's figures stay).
 */
import type Database from 'better-sqlite3';
import { type LatencyHistogram, latencyBin } from '../../model/latency-histogram.js';

/** Bucket length: the finest step `/api/metrics/*` can be read at. */
export const SPAN_METRICS_BUCKET_US = 60_000_000;
export const metricsBucketOf = (us: number): number => Math.floor(us / SPAN_METRICS_BUCKET_US);
/** Recent rows (one per service per batch) summed into `span_metrics` at a time. */
export const MERGE_EVERY_ROWS = 1024;

export interface MetricsFigures { calls: number; errors: number; latency: LatencyHistogram }
/** bucket → operation id → figures */
export type MetricsByBucket = Map<number, Map<number, MetricsFigures>>;

export interface SpanMetricsRow { bucket: number; op_id: number; calls: number; errors: number; latency: Buffer }

/** Rows per multi-row UPSERT in a merge: `upsert[k]` writes 2^k rows. */
const UPSERT_CHUNK = 32;

export function prepareSpanMetricsStatements(db: Database.Database) {
  // SQLite calls back into JS only when a merged row already exists (the minute at the edge of
  // the previous merge, late spans); new rows are plain inserts.
  db.function('meshtrace_merge_latency', { deterministic: true }, (a: unknown, b: unknown) =>
    encodeLatency(decodeLatency(a as Buffer, decodeLatency(b as Buffer))));
  const row = '(?, ?, ?, ?, ?, ?)';
  return {
    /** `upsert[k]`: 2^k rows of (service_id, bucket, op_id, calls, errors, latency), added to any stored figures. */
    upsert: Array.from({ length: Math.log2(UPSERT_CHUNK) + 1 }, (_, k) => db.prepare(
      `INSERT INTO span_metrics (service_id, bucket, op_id, calls, errors, latency) VALUES ${new Array(2 ** k).fill(row).join(', ')}
       ON CONFLICT (service_id, bucket, op_id) DO UPDATE SET calls = calls + excluded.calls, errors = errors + excluded.errors,
       latency = meshtrace_merge_latency(latency, excluded.latency)`)),
    /** (service_id, first bucket, last bucket) */
    range: db.prepare('SELECT bucket, op_id, calls, errors, latency FROM span_metrics WHERE service_id = ? AND bucket BETWEEN ? AND ?'),
    /** (bucket): rows before it, every service. */
    deleteBefore: db.prepare('DELETE FROM span_metrics WHERE service_id IN (SELECT id FROM services) AND bucket < ?'),
    /** (service_id, entries) */
    insertRecent: db.prepare('INSERT INTO span_metrics_recent (service_id, entries) VALUES (?, ?)'),
    recentAll: db.prepare('SELECT seq, entries FROM span_metrics_recent ORDER BY seq'),
    /** (service_id) */
    recentOfService: db.prepare('SELECT entries FROM span_metrics_recent WHERE service_id = ?').pluck(),
    recentCount: db.prepare('SELECT count(*) FROM span_metrics_recent').pluck(),
    /** (seq) */
    deleteRecentUpTo: db.prepare('DELETE FROM span_metrics_recent WHERE seq <= ?'),
  };
}
export type SpanMetricsStatements = ReturnType<typeof prepareSpanMetricsStatements>;

function figuresOf(m: MetricsByBucket, bucket: number, opId: number): MetricsFigures {
  let byOp = m.get(bucket);
  if (!byOp) m.set(bucket, (byOp = new Map()));
  let f = byOp.get(opId);
  if (!f) byOp.set(opId, (f = { calls: 0, errors: 0, latency: new Map() }));
  return f;
}

/** One batch's figures, summed in memory per service. */
export class SpanMetricsAccumulator {
  /** service id → its figures */
  private readonly byService = new Map<number, MetricsByBucket>();
  private last: { bucket: number; opId: number; f: MetricsFigures } | undefined;

  add(serviceId: number, opId: number, startUs: number, durationUs: number, isError: number): void {
    const bucket = metricsBucketOf(startUs);
    // Spans of one operation often come in runs (a trace's spans, a client's batch).
    let f: MetricsFigures;
    if (this.last && this.last.bucket === bucket && this.last.opId === opId) f = this.last.f;
    else {
      let figures = this.byService.get(serviceId);
      if (!figures) this.byService.set(serviceId, (figures = new Map()));
      f = figuresOf(figures, bucket, opId);
      this.last = { bucket, opId, f };
    }
    f.calls++;
    f.errors += isError;
    const bin = latencyBin(durationUs);
    f.latency.set(bin, (f.latency.get(bin) ?? 0) + 1);
  }

  /** Appends the batch's figures as one recent row per service; returns the rows written. */
  flush(st: SpanMetricsStatements): number {
    for (const [serviceId, figures] of this.byService) st.insertRecent.run(serviceId, encodeFigures(figures));
    return this.byService.size;
  }
}

/**
 * Sums every recent row into `span_metrics` and deletes them. `serviceOf` maps an operation id
 * to its service id (the table's first key column).
 */
export function mergeRecentMetrics(st: SpanMetricsStatements, serviceOf: (opId: number) => number | undefined): void {
  const rows = st.recentAll.all() as { seq: number; entries: Buffer }[];
  if (rows.length === 0) return;
  const sum: MetricsByBucket = new Map();
  for (const r of rows) decodeFigures(r.entries, sum);
  const params: unknown[] = [];
  for (const [bucket, byOp] of sum) {
    for (const [opId, f] of byOp) {
      const svc = serviceOf(opId);
      if (svc !== undefined) params.push(svc, bucket, opId, f.calls, f.errors, encodeLatency(f.latency));
    }
  }
  // Chunks of 2^k rows, largest first.
  const total = params.length / 6;
  let done = 0;
  for (let k = st.upsert.length - 1; k >= 0; k--) {
    const n = 2 ** k;
    while (total - done >= n) {
      st.upsert[k].run(params.slice(done * 6, (done + n) * 6));
      done += n;
    }
  }
  st.deleteRecentUpTo.run(rows[rows.length - 1].seq);
}

// --- encoding: unsigned LEB128 varints

class VarintWriter {
  readonly bytes: number[] = [];
  put(v: number): void {
    while (v >= 0x80) { this.bytes.push((v % 0x80) | 0x80); v = Math.floor(v / 0x80); }
    this.bytes.push(v);
  }
}

class VarintReader {
  i = 0;
  constructor(readonly buf: Uint8Array) {}
  get done(): boolean { return this.i >= this.buf.length; }
  next(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      const byte = this.buf[this.i++];
      if (byte === undefined) throw new Error('span metrics: truncated varint');
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
      mul *= 0x80;
    }
  }
}

/** Histogram as (bin delta, count) pairs, bins ascending, preceded by the pair count. */
function putLatency(w: VarintWriter, h: LatencyHistogram): void {
  const bins = [...h.keys()].sort((a, b) => a - b);
  w.put(bins.length);
  let prev = 0;
  for (const b of bins) {
    w.put(b - prev);
    w.put(h.get(b)!);
    prev = b;
  }
}

function readLatency(r: VarintReader, into: LatencyHistogram): LatencyHistogram {
  let bin = 0;
  for (let n = r.next(); n > 0; n--) {
    bin += r.next();
    const count = r.next();
    into.set(bin, (into.get(bin) ?? 0) + count);
  }
  return into;
}

export function encodeLatency(h: LatencyHistogram): Buffer {
  const w = new VarintWriter();
  putLatency(w, h);
  return Buffer.from(w.bytes);
}

/** Adds the histogram stored in `buf` into `into` and returns it. */
export function decodeLatency(buf: Uint8Array, into: LatencyHistogram = new Map()): LatencyHistogram {
  return readLatency(new VarintReader(buf), into);
}

/** A batch's figures: (bucket, op id, calls, errors, histogram) records. */
export function encodeFigures(m: MetricsByBucket): Buffer {
  const w = new VarintWriter();
  for (const [bucket, byOp] of m) {
    for (const [opId, f] of byOp) {
      w.put(bucket);
      w.put(opId);
      w.put(f.calls);
      w.put(f.errors);
      putLatency(w, f.latency);
    }
  }
  return Buffer.from(w.bytes);
}

/** Adds the records of `buf` into `into`; `keep` filters by (bucket, op id) before decoding further. */
export function decodeFigures(buf: Uint8Array, into: MetricsByBucket, keep?: (bucket: number, opId: number) => boolean): MetricsByBucket {
  const r = new VarintReader(buf);
  while (!r.done) {
    const bucket = r.next();
    const opId = r.next();
    const calls = r.next();
    const errors = r.next();
    if (keep && !keep(bucket, opId)) {
      readLatency(r, new Map());
      continue;
    }
    const f = figuresOf(into, bucket, opId);
    f.calls += calls;
    f.errors += errors;
    readLatency(r, f.latency);
  }
  return into;
}
