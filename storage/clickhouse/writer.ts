/**
 * `SpanWriter` on ClickHouse: one INSERT per batch (the collector's batch writer already groups
 * requests; ClickHouse wants few large inserts), JSONEachRow through @clickhouse/client.
 *
 * Before inserting, the writer asks `trace_index` whether any trace of the batch is already
 * stored (one read of a table ordered by trace id); only then does it read those traces' span
 * identities, to mark rewrites `first_write = 0` so span metrics count a span once. The common
 * case (new traces) costs one small read.
 *
 * With `asyncInsert`, inserts go through ClickHouse's async insert buffer with
 * `wait_for_async_insert=1`: the server merges many small inserts into parts, and the promise
 * still resolves only once the rows are written (the collector acknowledges after that).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { SpanWriter } from '../api.js';
import type { Span } from '../../model/span.js';
import type { Schema } from './schema.js';
import { toRow } from './span-row.js';
import { num, rows, traceIdList } from './sql.js';

/** The error a failed write rejects with; the collector answers 503 + Retry-After for it. */
export class ClickHouseWriteError extends Error {
  constructor(message: string, override readonly cause: unknown) {
    super(message);
    this.name = 'ClickHouseWriteError';
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/** A message that says whether ClickHouse was unreachable, too slow, or refused the data. */
export function describeFailure(err: unknown, url: string): string {
  const e = err as { code?: unknown; message?: unknown };
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  if (/timeout/i.test(msg) || e?.code === 'ETIMEDOUT') return `ClickHouse at ${url} did not answer in time (${msg})`;
  if ((typeof e?.code === 'string' && NETWORK_CODES.has(e.code)) || /socket hang up|ECONNREFUSED|ECONNRESET/i.test(msg)) {
    return `ClickHouse at ${url} is unreachable (${msg})`;
  }
  return `ClickHouse at ${url} refused the write (${msg})`;
}

export interface ClickHouseWriterOptions {
  asyncInsert?: boolean;
  /** For error messages only. */
  url: string;
}

export class ClickHouseSpanWriter implements SpanWriter {
  private lastVersion = 0;
  /** The write in progress: writes run one at a time (see writeSpans). */
  private tail: Promise<unknown> = Promise.resolve();
  constructor(private readonly client: ClickHouseClient, private readonly schema: Schema, private readonly opts: ClickHouseWriterOptions) {}

  /** Increasing per process: a later write of a span wins over an earlier one (ReplacingMergeTree's version, and reads). */
  private nextVersion(): number {
    this.lastVersion = Math.max(this.lastVersion + 1, Date.now() * 1000);
    return this.lastVersion;
  }

  /**
   * One at a time: a batch's read of stored identities must see the batches written before it
   * (the collector's batch writer can have several in flight, e.g. when it retries requests one
   * by one). ClickHouse prefers fewer, larger inserts anyway; meanwhile the batch writer groups
   * what arrives, and a slow ClickHouse fills its bounded queue (→ 503) instead of piling up inserts.
   */
  writeSpans(batch: readonly Span[]): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    const run = this.tail.then(() => this.write(batch));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async write(batch: readonly Span[]): Promise<void> {
    try {
      const seen = await this.storedIdentities(new Set(batch.map((s) => s.traceId)));
      const values = batch.map((s) => {
        const key = identity(s.traceId, s.spanId, s.kind);
        const firstWrite = !seen.has(key);
        seen.add(key);
        return toRow(s, { firstWrite, version: this.nextVersion() });
      });
      await this.client.insert({
        table: this.schema.table('spans'),
        values,
        format: 'JSONEachRow',
        clickhouse_settings: {
          ...(this.opts.asyncInsert ? { async_insert: 1, wait_for_async_insert: 1 } : {}),
          // Into a Distributed table an insert is by default queued on this node and sent to
          // the shards later: the batch would be acknowledged before it is stored on a shard.
          ...(this.schema.cluster ? { distributed_foreground_insert: 1 } : {}),
        },
      });
    } catch (err) {
      throw new ClickHouseWriteError(`writing ${batch.length} spans failed: ${describeFailure(err, this.opts.url)}`, err);
    }
  }

  /** Identities (trace, span, kind) already stored for these traces. */
  private async storedIdentities(traceIds: Set<string>): Promise<Set<string>> {
    const list = traceIdList(traceIds);
    const [range] = await rows<{ n: unknown; lo: unknown; hi: unknown }>(this.client,
      `SELECT count() AS n, min(start_min) AS lo, max(start_max) AS hi FROM ${this.schema.table('trace_index')} WHERE trace_id IN ${list}`);
    const out = new Set<string>();
    if (!range || num(range.n) === 0) return out;
    const found = await rows<{ trace_id: string; span_id: string; kind: unknown }>(this.client,
      `SELECT DISTINCT trace_id, span_id, kind FROM ${this.schema.table('spans')}
       WHERE trace_id IN ${list} AND start_us BETWEEN {lo:Int64} AND {hi:Int64}`,
      { lo: num(range.lo), hi: num(range.hi) });
    for (const r of found) out.add(identity(r.trace_id, r.span_id, num(r.kind)));
    return out;
  }
}

/** A span's identity: a Zipkin shared span's client and server halves (one span id) are two spans. */
export const identity = (traceId: string, spanId: string, kind: number): string => `${traceId}|${spanId}|${kind}`;
