/**
 * Group commit in front of a `SpanWriter`: spans of concurrent requests are written together, and
 * each `consume()` resolves only after the write holding ITS spans has committed, so a receiver
 * acknowledges nothing that a crash could lose.
 *
 * When a write starts (see `BatchWriterConfig` for the knobs):
 * - no write in flight → on the next event-loop turn (requests that arrived together share it);
 * - a write in flight → when it completes, everything that gathered meanwhile goes in one write;
 *   earlier if the gathered spans reach `maxBatchSpans`, or the oldest has waited `flushIntervalMs`
 *   (so a stalled write does not hold up the rest; writes are idempotent, so overlapping is safe).
 *
 * A failed write that grouped several requests is retried one request per write, so a request
 * the storage refuses fails alone. The queue (waiting + being written) is bounded by span count: beyond `maxQueueSpans`, `consume`
 * rejects at once with `QueueFullError`.
 */
import type { Span } from '../../model/span.js';
import { QueueFullError, type Component } from '../pipeline.js';
import { parseBatchWriterConfig, type BatchWriterConfig } from './config.js';

export interface BatchWriterCounters {
  /** Spans taken into the queue. */
  acceptedSpans: number;
  /** Spans refused with `QueueFullError` (queue full or shutting down). */
  refusedSpans: number;
  /** Spans whose write committed. */
  writtenSpans: number;
  /** Spans whose write failed (their `consume` rejected with the storage error). */
  failedSpans: number;
  /** `writeSpans` calls made (committed or failed). */
  writes: number;
  /** Failed multi-request writes that were retried one request at a time. */
  splitRetries: number;
  /** Spans accepted and not yet committed or failed, right now. */
  queuedSpans: number;
}

interface Entry<T> {
  items: T[];
  /** Spans in `items`. */
  spans: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Seconds clients are told to wait when the queue is full: a write of a full batch takes far less. */
const RETRY_AFTER_SECONDS = 1;

/**
 * Where a `BatchWriter` writes: a `SpanWriter` for spans; `T` = another unit of spans for a
 * storage-specific path (the SQLite ingest worker writes prepared batches, storage/sqlite/prepared-batch.ts).
 */
export interface BatchSink<T> {
  writeSpans(batch: readonly T[]): Promise<void>;
}

/** `T`: what is queued and written, by default spans; `consume` is told how many spans its items hold. */
export class BatchWriter<T = Span> implements Component {
  private pending: Entry<T>[] = [];
  private pendingSpans = 0;
  private inFlightWrites = 0;
  private inFlightSpans = 0;
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private drainWaiters: Array<() => void> = [];
  private readonly stats = { acceptedSpans: 0, refusedSpans: 0, writtenSpans: 0, failedSpans: 0, writes: 0, splitRetries: 0 };

  private readonly config: BatchWriterConfig;

  /**
   * `config` fields left out take the defaults of `defaultBatchWriterConfig()`; an invalid config
   * throws `CollectorConfigError` naming the fields.
   */
  constructor(
    private readonly writer: BatchSink<T>,
    config: Partial<BatchWriterConfig> = {},
  ) {
    this.config = parseBatchWriterConfig(config);
  }

  async start(): Promise<void> {}

  /** Resolves once the write holding `items` committed; `spans`: how many spans they hold (for T = Span, `items.length`). */
  consume(items: T[], spans: number = items.length): Promise<void> {
    const n = spans;
    if (n === 0) return Promise.resolve();
    if (this.closing) {
      this.stats.refusedSpans += n;
      return Promise.reject(new QueueFullError('the collector is shutting down', RETRY_AFTER_SECONDS));
    }
    const queued = this.pendingSpans + this.inFlightSpans;
    if (queued > 0 && queued + n > this.config.maxQueueSpans) {
      this.stats.refusedSpans += n;
      return Promise.reject(
        new QueueFullError(
          `span queue full: ${queued} spans waiting to be written, ${n} more would exceed maxQueueSpans (${this.config.maxQueueSpans})`,
          RETRY_AFTER_SECONDS,
        ),
      );
    }
    this.stats.acceptedSpans += n;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ items, spans: n, resolve, reject });
      this.pendingSpans += n;
      this.schedule();
    });
  }

  /** A snapshot of the counters (plain numbers). */
  counters(): BatchWriterCounters {
    return { ...this.stats, queuedSpans: this.pendingSpans + this.inFlightSpans };
  }

  /** Refuses new spans, writes everything accepted, and resolves when all writes have settled. */
  shutdown(): Promise<void> {
    this.closing = true;
    this.clearTriggers();
    while (this.pending.length > 0) this.writeBatch(this.takeBatch());
    if (this.inFlightWrites === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private isFull(): boolean {
    return this.config.maxBatchSpans === 0 || this.pendingSpans >= this.config.maxBatchSpans;
  }

  private schedule(): void {
    if (this.pending.length === 0) return;
    if (this.inFlightWrites === 0) {
      this.immediate ??= setImmediate(() => this.flush());
    } else if (this.isFull()) {
      this.flush();
    } else if (this.config.flushIntervalMs > 0) {
      this.timer ??= setTimeout(() => this.flush(), this.config.flushIntervalMs);
    }
  }

  private clearTriggers(): void {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
  }

  /** Starts one write, then more only while full batches remain; the rest waits for a trigger. */
  private flush(): void {
    this.clearTriggers();
    if (this.pending.length === 0) return;
    this.writeBatch(this.takeBatch());
    while (this.pending.length > 0 && this.isFull()) this.writeBatch(this.takeBatch());
    this.schedule();
  }

  /** Whole requests, oldest first, up to `maxBatchSpans` (at least one request). */
  private takeBatch(): Entry<T>[] {
    const max = this.config.maxBatchSpans;
    let i = 1;
    let n = this.pending[0].spans;
    if (max > 0) {
      while (i < this.pending.length && n + this.pending[i].spans <= max) n += this.pending[i++].spans;
    }
    const entries = this.pending.splice(0, i);
    this.pendingSpans -= n;
    return entries;
  }

  private writeBatch(entries: Entry<T>[]): void {
    let batch: T[];
    let n = 0;
    if (entries.length === 1) {
      batch = entries[0].items;
      n = entries[0].spans;
    } else {
      batch = [];
      for (const e of entries) {
        for (const s of e.items) batch.push(s);
        n += e.spans;
      }
    }
    this.inFlightWrites++;
    this.inFlightSpans += n;
    this.stats.writes++;
    let write: Promise<void>;
    try {
      write = this.writer.writeSpans(batch);
    } catch (err) {
      write = Promise.reject(err);
    }
    write.then(
      () => {
        this.stats.writtenSpans += n;
        this.settle(n);
        for (const e of entries) e.resolve();
      },
      (err: unknown) => {
        if (entries.length > 1) {
          // One bad request must not fail the others it was grouped with. Writes are idempotent,
          // so each request is retried alone; only the ones that fail again are rejected. (When
          // storage is down this costs one extra failing write per request of the batch.)
          this.stats.splitRetries++;
          for (const e of entries) this.writeBatch([e]);
          this.settle(n);
          return;
        }
        this.stats.failedSpans += n;
        this.settle(n);
        for (const e of entries) e.reject(err);
      },
    );
  }

  private settle(n: number): void {
    this.inFlightWrites--;
    this.inFlightSpans -= n;
    if (this.closing) {
      if (this.inFlightWrites === 0 && this.pending.length === 0) {
        for (const w of this.drainWaiters.splice(0)) w();
      }
      return;
    }
    this.schedule();
  }
}
