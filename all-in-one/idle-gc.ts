/**
 * Gives memory back after a burst of ingest. V8 collects garbage when allocation asks for it, and
 * on the main thread its memory reducer also collects once the process goes idle; a worker thread
 * has no memory reducer. So after one 100k-span request the ingest worker kept ~300 MB of dead
 * decode objects (and the process ~550 MB RSS) for as long as no new request arrived to trigger a
 * collection. This does what the memory reducer would: once enough request bytes have been decoded
 * since the last collection and the worker has been idle for a moment, it runs one full GC.
 *
 * Steady ingest never pays for it (the worker is never idle long enough; V8's own GCs run), and a
 * trickle of small requests never reaches the byte threshold.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface IdleGcOptions {
  /** Request bytes decoded since the last collection before an idle collection is worth it. */
  thresholdBytes: number;
  /** How long without work counts as idle, ms. */
  idleMs: number;
  /** The collector; `exposeGc()` in production. */
  gc: () => void;
}

export interface IdleGc {
  /** A payload of `bytes` arrived: work started. */
  started(bytes: number): void;
  /** That payload's work finished (answered). */
  finished(): void;
  /** Full collections run so far. */
  collections(): number;
  stop(): void;
}

export function createIdleGc(opts: IdleGcOptions): IdleGc {
  let pendingBytes = 0;
  let busy = 0;
  let runs = 0;
  let timer: NodeJS.Timeout | undefined;
  const disarm = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  return {
    started(bytes) {
      busy++;
      pendingBytes += bytes;
      disarm();
    },
    finished() {
      busy = Math.max(0, busy - 1);
      if (busy > 0 || pendingBytes < opts.thresholdBytes) return;
      disarm();
      timer = setTimeout(() => {
        timer = undefined;
        if (busy > 0) return;
        pendingBytes = 0;
        runs++;
        opts.gc();
      }, opts.idleMs);
      // Never what keeps the thread alive.
      timer.unref();
    },
    collections: () => runs,
    stop: disarm,
  };
}

/**
 * V8's `gc()` without starting the process with --expose-gc: the flag is read when a context is
 * created, so a fresh context built after setting it has `gc` on its global.
 */
export function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
