/**
 * Background retention: every `intervalMs`, delete data older than `maxAgeUs`; with a size cap,
 * also whenever a cheap check (`checkSize()`, called by the writer after its commits) finds the
 * store on disk over `maxSizeBytes`.
 *
 * The size cap counts what the store occupies on disk (SQLite: database + WAL files). Over it,
 * the oldest traces are deleted in steps, each sized from the data itself (trace counts by start
 * time, not a share of the time since the oldest span, which is wrong for bursts and skewed
 * clocks), until the data fits in the cap less `SIZE_MARGIN` and the WAL's share; then the freed
 * space is given back to the file system (which also truncates the WAL). A run never deletes the
 * newest `MIN_KEPT_FRACTION` of the traces it started with, nor the newest trace: the size of an
 * index or a log the cut cannot shrink must not make it delete everything (it once did, from a
 * 17×-over file: the current hour's index stayed, so every step was "still over" until no span
 * was left). When the cap cannot be met that way the run says so in the log instead.
 *
 * Works with any `Storage`; the size cap needs a `SizeAwareStorage` (e.g. the SQLite backend).
 * Runs never overlap; `stop()` prevents new runs (a run in progress finishes its current chunk
 * and ends).
 */
import type { Storage } from './api.js';

export interface SizeAwareStorage extends Storage {
  /** Bytes the cap counts: what the store occupies on disk right now. */
  diskBytes(): number;
  /** Bytes holding data: what `diskBytes()` comes down to once freed space is reclaimed. */
  sizeBytes(): number;
  storedTraces(): number;
  /**
   * A start time (µs) such that `purgeOlderThan(it)` deletes about the `traces` oldest traces,
   * never the newest trace; undefined when empty.
   */
  cutoffForOldestTraces(traces: number): number | undefined;
  /** Gives freed space back to the file system; optional. */
  reclaimSpace?(): Promise<number>;
  /** Keeps a write-ahead log near `bytes`; optional. */
  limitWalBytes?(bytes: number): void;
}

export interface RetentionLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
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
   * With a size cap: starts a run if the store is over it on disk (one file-size look-up, at most
   * every `SIZE_CHECK_MIN_INTERVAL_MS`; a no-op while a run is in progress). Call after writes.
   */
  checkSize(): void;
  /**
   * Runs once now, or returns the run in progress; after `stop()` only the run in progress (or
   * an empty result). For tests and shutdown hooks.
   */
  runNow(): Promise<RetentionRunResult>;
}

/** A size run deletes down to the cap less this share, so the next writes do not trip it at once. */
export const SIZE_MARGIN = 0.1;
/** Share of the traces (the newest) a size run never deletes, whatever its size accounting says. */
export const MIN_KEPT_FRACTION = 0.1;
/** Share of the cap the write-ahead log may take before it is checkpointed. */
export const WAL_SHARE_OF_CAP = 0.1;
/**
 * Least time between two file-size checks triggered by writes (two `stat` calls each): bounds
 * their cost under many small requests; a cap is crossed by what is written in that time at most.
 */
export const SIZE_CHECK_MIN_INTERVAL_MS = 10;
/**
 * Least time between write-triggered runs while the cap cannot be met: each run then deletes only
 * what came in since the last, and should not run (and reclaim space) after every write.
 */
export const STUCK_OVER_CAP_RUN_INTERVAL_MS = 1000;
const MAX_SIZE_STEPS = 20;

function isSizeAware(s: Storage): s is SizeAwareStorage {
  const t = s as Partial<SizeAwareStorage>;
  return typeof t.diskBytes === 'function' && typeof t.sizeBytes === 'function'
    && typeof t.storedTraces === 'function' && typeof t.cutoffForOldestTraces === 'function';
}

/**
 * Deletes the oldest traces until the data fits in `target` bytes, within `maxTraces`; resolves to
 * the spans deleted. Each step deletes the trace count the average bytes per trace says is over
 * (traces, not spans: counted and cut inside SQLite over an index). The average includes what no
 * cut frees (the catalog, a partly old index block), so a step deletes too little rather than too
 * much and the next step takes the rest; estimating from what a step freed overshot (pages free
 * unevenly: one step freed little, the next deleted almost everything).
 */
async function purgeDownTo(storage: SizeAwareStorage, target: number, maxTraces: number, stopped: () => boolean): Promise<number> {
  let removedSpans = 0;
  const before = storage.storedTraces();
  for (let step = 0; step < MAX_SIZE_STEPS && !stopped(); step++) {
    const live = storage.sizeBytes();
    if (live <= target) break;
    const traces = storage.storedTraces();
    if (traces === 0) break;
    // Traces written meanwhile do not count as removed: the bound is on what existed.
    const removedTraces = Math.max(0, before - traces);
    const want = Math.min(Math.ceil(((live - target) / live) * traces), maxTraces - removedTraces);
    if (want <= 0) break;
    const cutoff = storage.cutoffForOldestTraces(want);
    if (cutoff === undefined) break;
    const n = await storage.purgeOlderThan(cutoff);
    if (n === 0) break;
    removedSpans += n;
  }
  return removedSpans;
}

export function startRetention(opts: RetentionOptions): RetentionHandle {
  if (!Number.isFinite(opts.maxAgeUs) || opts.maxAgeUs < 0) throw new Error(`retention: 'maxAgeUs' must be ≥ 0 (0 = no age limit), got ${opts.maxAgeUs}`);
  if (!Number.isFinite(opts.intervalMs) || opts.intervalMs <= 0) throw new Error(`retention: 'intervalMs' must be greater than zero, got ${opts.intervalMs}`);
  const cap = opts.maxSizeBytes ?? 0;
  if (!Number.isFinite(cap) || cap < 0) throw new Error(`retention: 'maxSizeBytes' must be ≥ 0 (0 = no cap), got ${opts.maxSizeBytes}`);
  if (cap > 0 && !isSizeAware(opts.storage)) throw new Error("retention: 'maxSizeBytes' needs a storage that reports its size (SizeAwareStorage)");
  const now = opts.nowUs ?? (() => Date.now() * 1000);
  const storage = opts.storage;

  /**
   * Traces a run that could not meet the cap left (0 while the cap is met): later runs delete only
   * what came in since. Without it, each run took 90 % of what the previous one left when the
   * part no cut frees (the last batches' index, the catalog) alone was over the cap, and a few
   * runs emptied the store.
   */
  let keptWhenOverCap = 0;
  let stopped = false;
  let running: Promise<RetentionRunResult> | undefined;
  let timer: NodeJS.Timeout | undefined;

  if (cap > 0 && isSizeAware(storage)) storage.limitWalBytes?.(Math.floor(cap * WAL_SHARE_OF_CAP));
  const overCap = () => cap > 0 && isSizeAware(storage) && storage.diskBytes() > cap;

  const runOnce = async (): Promise<RetentionRunResult> => {
    const result: RetentionRunResult = { removedByAge: 0, removedBySize: 0 };
    if (opts.maxAgeUs > 0) result.removedByAge = await storage.purgeOlderThan(Math.floor(now() - opts.maxAgeUs));
    const sizeRun = overCap() && isSizeAware(storage);
    if (sizeRun) {
      const traces = storage.storedTraces();
      const maxTraces = Math.max(0, Math.min(Math.floor(traces * (1 - MIN_KEPT_FRACTION)), traces - keptWhenOverCap));
      // The data goes down to the cap less the margin and less the WAL's share, so that with a
      // log grown back to its share the store is still under the cap less the margin.
      const target = Math.floor(cap * (1 - SIZE_MARGIN - WAL_SHARE_OF_CAP));
      result.removedBySize = await purgeDownTo(storage, target, maxTraces, () => stopped);
    }
    // Over the cap, the space is given back even when nothing was deleted: a grown WAL or free
    // pages may be all that is over.
    if ((result.removedByAge || sizeRun) && isSizeAware(storage) && storage.reclaimSpace && !stopped) {
      await storage.reclaimSpace();
    }
    if (result.removedByAge || result.removedBySize) opts.logger?.info({ ...result }, 'retention removed spans');
    if (sizeRun && !stopped && isSizeAware(storage)) {
      const over = storage.diskBytes() > cap;
      // Said once when the cap stops being met, not after every write that re-checks it.
      if (over && keptWhenOverCap === 0) opts.logger?.warn({ diskBytes: storage.diskBytes(), maxSizeBytes: cap, storedTraces: storage.storedTraces() },
        'still over the size cap: the newest data (or what no deletion frees) is larger than the cap');
      keptWhenOverCap = over ? Math.max(1, storage.storedTraces()) : 0;
    }
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

  let lastSizeCheck = -Infinity;
  return {
    checkSize() {
      if (cap === 0 || stopped || running) return;
      const t = Date.now();
      if (t - lastSizeCheck < (keptWhenOverCap > 0 ? STUCK_OVER_CAP_RUN_INTERVAL_MS : SIZE_CHECK_MIN_INTERVAL_MS)) return;
      lastSizeCheck = t;
      if (!overCap()) {
        keptWhenOverCap = 0; // under the cap again (a restart, an age purge): back to normal runs
        return;
      }
      runNow().catch((err: unknown) => opts.logger?.error({ err }, 'retention run failed'));
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    runNow,
  };
}
