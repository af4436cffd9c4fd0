/**
 * Watches the ingest worker's writes for storage refusing them (disk full, I/O errors, a
 * read-only file): a state of the store, not a per-request error. While it lasts:
 * - failed writes reject with `StorageRefusedError` (→ 503 + Retry-After) and are logged here,
 *   at most once per `logIntervalMs` with the count since the last line — not by every receiver
 *   with a stack trace (a short full-disk run logged 935 lines). The interval holds across
 *   recoveries too: a nearly full disk takes a small write now and then, and each such flap
 *   must not start a new round of lines;
 * - the WAL is checkpointed and truncated at most once per interval, so a log that grew while
 *   nothing could be copied out of it gives its space back as soon as that is possible;
 * - `onChange` tells the main thread, whose `/ready` answers 503 with the reason.
 * The first write that commits ends it (logged with the count): recovery needs no restart.
 */
import type { Span } from '../model/span.js';
import { StorageRefusedError, type BatchSink } from '../collector/index.js';
import { writeRefusalCode } from '../storage/sqlite/write-refusal.js';

/** Storage refusing writes, as reported to the main thread (structured-clone data). */
export interface StorageRefusal {
  /** What SQLite said, e.g. `SQLITE_FULL: database or disk is full`. */
  reason: string;
  /** When the first refused write failed (ms since the epoch). */
  sinceMs: number;
  /** Writes refused since then. */
  refusedWrites: number;
}

/** `T`: what the watched writer writes (spans, or the worker's prepared batches). */
export interface StorageWriteWatchOptions<T = Span> {
  writer: BatchSink<T>;
  /** Gives the WAL's space back (`wal_checkpoint(TRUNCATE)`); may throw while the disk is full. */
  checkpointWal: () => void;
  onChange: (refusal: StorageRefusal | undefined) => void;
  logger: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** Least time between two log lines (and two checkpoints) while refused. */
  logIntervalMs?: number;
  nowMs?: () => number;
}

export const STORAGE_REFUSAL_LOG_INTERVAL_MS = 10_000;

export class StorageWriteWatch<T = Span> implements BatchSink<T> {
  private refusal: StorageRefusal | undefined;
  /** The refusal in progress was announced in the log (so its end is announced too). */
  private announced = false;
  private refusedSinceLog = 0;
  private lastLogMs = -Infinity;
  private lastCheckpointMs = -Infinity;
  private readonly interval: number;
  private readonly now: () => number;

  constructor(private readonly opts: StorageWriteWatchOptions<T>) {
    this.interval = opts.logIntervalMs ?? STORAGE_REFUSAL_LOG_INTERVAL_MS;
    this.now = opts.nowMs ?? Date.now;
  }

  /** The refusal in progress; undefined while writes commit. */
  current(): StorageRefusal | undefined {
    return this.refusal && { ...this.refusal };
  }

  async writeSpans(batch: readonly T[]): Promise<void> {
    try {
      await this.opts.writer.writeSpans(batch);
    } catch (err) {
      const code = writeRefusalCode(err);
      if (code === undefined) throw err;
      const reason = `${code}: ${err instanceof Error ? err.message : String(err)}`;
      this.refused(reason);
      throw new StorageRefusedError(`storage refuses writes (${reason})`);
    }
    if (this.refusal) this.recovered();
  }

  private refused(reason: string): void {
    const t = this.now();
    const first = this.refusal === undefined;
    this.refusal = first ? { reason, sinceMs: t, refusedWrites: 1 } : { ...this.refusal!, reason, refusedWrites: this.refusal!.refusedWrites + 1 };
    this.refusedSinceLog++;
    if (first) this.opts.onChange(this.current());
    if (t - this.lastCheckpointMs >= this.interval) {
      this.lastCheckpointMs = t;
      try {
        this.opts.checkpointWal();
      } catch {
        // Expected while the disk stays full; tried again next interval.
      }
    }
    if (t - this.lastLogMs >= this.interval) {
      this.opts.logger.warn(
        { reason, refusedWrites: this.refusedSinceLog, sinceMs: this.refusal.sinceMs },
        this.announced ? 'storage still refuses writes' : 'storage refuses writes; requests are answered 503 and /ready is 503 until a write commits',
      );
      this.announced = true;
      this.lastLogMs = t;
      this.refusedSinceLog = 0;
      // The count /ready shows, as of this line.
      if (!first) this.opts.onChange(this.current());
    }
  }

  private recovered(): void {
    const { refusedWrites, sinceMs } = this.refusal!;
    this.refusal = undefined;
    // Refusals not yet in a line stay counted for the next one; the intervals keep running.
    if (this.announced) this.opts.logger.info({ refusedWrites, refusedForMs: this.now() - sinceMs }, 'storage accepts writes again');
    this.announced = false;
    this.opts.onChange(undefined);
  }
}
