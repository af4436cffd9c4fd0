/**
 * Background retention: every `intervalMs`, delete data older than `maxAgeUs`; with a size cap,
 * then delete the oldest data until the store is under `maxSizeBytes`.
 *
 * Works with any `Storage`; the size cap needs a storage that can report its size and oldest
 * data (`SizeAwareStorage`, e.g. the SQLite backend). Runs never overlap; `stop()` prevents new
 * runs (a run in progress finishes its current chunk and ends).
 */
import type { Storage } from './api.js';

export interface SizeAwareStorage extends Storage {
  /** Bytes of stored data. */
  sizeBytes(): number;
  /** Start time (µs) of the oldest stored data; undefined when empty. */
  oldestStartUs(): number | undefined;
  /** Gives freed space back to the file system; optional. */
  reclaimSpace?(): Promise<number>;
}

export interface RetentionLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RetentionOptions {
  storage: Storage | SizeAwareStorage;
  /** Maximum age of a span's start time, µs; 0 = no age limit. */
  maxAgeUs: number;
  /** Size cap in bytes; 0 or absent = no cap. Requires a SizeAwareStorage. */
  maxSizeBytes?: number;
  /** Time between runs, ms; > 0. The first run starts at once. */
  intervalMs: number;
  logger?: RetentionLogger;
  /** Clock in µs (tests). */
  nowUs?: () => number;
}

export interface RetentionRunResult { removedByAge: number; removedBySize: number }

export interface RetentionHandle {
  stop(): void;
  /**
   * Runs once now, or returns the run in progress; after `stop()` only the run in progress (or
   * an empty result). For tests and shutdown hooks.
   */
  runNow(): Promise<RetentionRunResult>;
}

/** Fraction of the stored time range beyond the proportional estimate deleted per size step. */
const SIZE_STEP_MARGIN = 0.05;
const MAX_SIZE_STEPS = 20;

function isSizeAware(s: Storage): s is SizeAwareStorage {
  return typeof (s as SizeAwareStorage).sizeBytes === 'function' && typeof (s as SizeAwareStorage).oldestStartUs === 'function';
}

export function startRetention(opts: RetentionOptions): RetentionHandle {
  if (!Number.isFinite(opts.maxAgeUs) || opts.maxAgeUs < 0) throw new Error(`retention: 'maxAgeUs' must be ≥ 0 (0 = no age limit), got ${opts.maxAgeUs}`);
  if (!Number.isFinite(opts.intervalMs) || opts.intervalMs <= 0) throw new Error(`retention: 'intervalMs' must be greater than zero, got ${opts.intervalMs}`);
  const cap = opts.maxSizeBytes ?? 0;
  if (!Number.isFinite(cap) || cap < 0) throw new Error(`retention: 'maxSizeBytes' must be ≥ 0 (0 = no cap), got ${opts.maxSizeBytes}`);
  if (cap > 0 && !isSizeAware(opts.storage)) throw new Error("retention: 'maxSizeBytes' needs a storage that reports its size (sizeBytes/oldestStartUs)");
  const now = opts.nowUs ?? (() => Date.now() * 1000);
  const storage = opts.storage;

  let stopped = false;
  let running: Promise<RetentionRunResult> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const runOnce = async (): Promise<RetentionRunResult> => {
    const result: RetentionRunResult = { removedByAge: 0, removedBySize: 0 };
    if (opts.maxAgeUs > 0) result.removedByAge = await storage.purgeOlderThan(Math.floor(now() - opts.maxAgeUs));
    if (cap > 0 && isSizeAware(storage)) {
      for (let step = 0; step < MAX_SIZE_STEPS && !stopped; step++) {
        const size = storage.sizeBytes();
        if (size <= cap) break;
        const oldest = storage.oldestStartUs();
        if (oldest === undefined) break;
        // Assume size is spread evenly over time: cut the share of the time range that is over.
        const span = Math.max(now() - oldest, 1);
        const fraction = Math.min(1, (size - cap) / size + SIZE_STEP_MARGIN);
        result.removedBySize += await storage.purgeOlderThan(Math.ceil(oldest + span * fraction));
      }
    }
    if ((result.removedByAge || result.removedBySize) && isSizeAware(storage) && storage.reclaimSpace && !stopped) {
      await storage.reclaimSpace();
    }
    if (result.removedByAge || result.removedBySize) opts.logger?.info({ ...result }, 'retention removed spans');
    return result;
  };

  const runNow = (): Promise<RetentionRunResult> => {
    if (!running) {
      // After stop(): only wait for a run in progress, never start one.
      if (stopped) return Promise.resolve({ removedByAge: 0, removedBySize: 0 });
      running = runOnce().finally(() => { running = undefined; });
    }
    return running;
  };

  const tick = () => {
    if (stopped) return;
    runNow()
      .catch((err: unknown) => opts.logger?.error({ err }, 'retention run failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, opts.intervalMs).unref();
      });
  };
  // unref: retention alone must not keep the process alive; the owner calls stop() on shutdown.
  timer = setTimeout(tick, 0).unref();

  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    runNow,
  };
}
