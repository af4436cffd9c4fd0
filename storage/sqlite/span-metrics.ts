/**
 * RED metrics in the SQLite backend: one `span_metrics` row per (operation, 10-second bucket)
 * with the call count, error count and a latency histogram (model/latency-histogram.ts).
 *
 * Written with each batch, inside its transaction: the batch's spans are summed in memory per
 * (operation, bucket) and each touched row is read, merged and written back once, so the cost
 * is a few statements per batch, not per span. A span rewritten with the same id is not counted
 * again (its first version's figures stay).
 */
import type Database from 'better-sqlite3';
import { type LatencyHistogram, latencyBin } from '../../model/latency-histogram.js';

/** Bucket length: the finest step `/api/metrics/*` can be read at. */
export const SPAN_METRICS_BUCKET_US = 10_000_000;
export const metricsBucketOf = (us: number): number => Math.floor(us / SPAN_METRICS_BUCKET_US);

interface BucketAgg { calls: number; errors: number; latency: LatencyHistogram }

export interface SpanMetricsRow { op_id: number; bucket: number; calls: number; errors: number; latency: Buffer }

export function prepareSpanMetricsStatements(db: Database.Database) {
  return {
    /** (op_id, bucket) */
    get: db.prepare('SELECT calls, errors, latency FROM span_metrics WHERE op_id = ? AND bucket = ?'),
    /** (op_id, bucket, calls, errors, latency) */
    put: db.prepare('INSERT OR REPLACE INTO span_metrics (op_id, bucket, calls, errors, latency) VALUES (?, ?, ?, ?, ?)'),
    /** (op_id, first bucket, last bucket) */
    range: db.prepare('SELECT op_id, bucket, calls, errors, latency FROM span_metrics WHERE op_id = ? AND bucket BETWEEN ? AND ? ORDER BY bucket'),
    /** (bucket): rows of buckets before it, every operation (the primary key's first column is walked per operation). */
    deleteBefore: db.prepare('DELETE FROM span_metrics WHERE op_id IN (SELECT id FROM operations) AND bucket < ?'),
  };
}
export type SpanMetricsStatements = ReturnType<typeof prepareSpanMetricsStatements>;

/** A batch's figures, summed in memory and merged into the table once per touched row. */
export class SpanMetricsAccumulator {
  /** op id → bucket → figures */
  private readonly byOp = new Map<number, Map<number, BucketAgg>>();

  add(opId: number, startUs: number, durationUs: number, isError: number): void {
    let byBucket = this.byOp.get(opId);
    if (!byBucket) this.byOp.set(opId, (byBucket = new Map()));
    const bucket = metricsBucketOf(startUs);
    let agg = byBucket.get(bucket);
    if (!agg) byBucket.set(bucket, (agg = { calls: 0, errors: 0, latency: new Map() }));
    agg.calls++;
    agg.errors += isError;
    const bin = latencyBin(durationUs);
    agg.latency.set(bin, (agg.latency.get(bin) ?? 0) + 1);
  }

  /** Merges the figures into the table and forgets them. Runs inside the batch's transaction. */
  flush(st: SpanMetricsStatements): void {
    for (const [opId, byBucket] of this.byOp) {
      for (const [bucket, agg] of byBucket) {
        const old = st.get.get(opId, bucket) as { calls: number; errors: number; latency: Buffer } | undefined;
        if (old) {
          decodeLatency(old.latency, agg.latency);
          agg.calls += old.calls;
          agg.errors += old.errors;
        }
        st.put.run(opId, bucket, agg.calls, agg.errors, encodeLatency(agg.latency));
      }
    }
    this.byOp.clear();
  }

  /** Drops what was added (the batch's transaction rolled back). */
  clear(): void {
    this.byOp.clear();
  }
}

/** Sparse histogram → bytes: (bin delta, count) pairs as unsigned LEB128 varints, bins ascending. */
export function encodeLatency(h: LatencyHistogram): Buffer {
  const bins = [...h.keys()].sort((a, b) => a - b);
  const out: number[] = [];
  const varint = (v: number) => {
    while (v >= 0x80) { out.push((v % 0x80) | 0x80); v = Math.floor(v / 0x80); }
    out.push(v);
  };
  let prev = 0;
  for (const b of bins) {
    varint(b - prev);
    varint(h.get(b)!);
    prev = b;
  }
  return Buffer.from(out);
}

/** Adds the histogram stored in `buf` into `into` and returns it. */
export function decodeLatency(buf: Uint8Array, into: LatencyHistogram = new Map()): LatencyHistogram {
  let i = 0;
  const varint = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const byte = buf[i++];
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
      mul *= 0x80;
    }
  };
  let bin = 0;
  while (i < buf.length) {
    bin += varint();
    const n = varint();
    into.set(bin, (into.get(bin) ?? 0) + n);
  }
  return into;
}
