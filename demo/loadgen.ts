/**
 * The demo's load generator: a few product-page requests per second against the productpage's
 * sidecar, bounded in rate, in concurrency and (optionally) in time. Failed requests are counted,
 * never retried: an unreachable target just makes every tick fail until it comes up.
 */

export interface LoadOptions {
  /** Base URL of the product page (its sidecar's inbound listener), e.g. http://127.0.0.1:9080. */
  target: string;
  /** Requests started per second (> 0). */
  rps: number;
  /** Stop after this many ms; 0 = run until stop(). */
  durationMs: number;
  /** Requests in flight at most; a tick that would exceed it is skipped (and counted). */
  maxInFlight?: number;
  /** Per-request timeout, ms (default 10 000). */
  timeoutMs?: number;
}

/** `failed`: an error status, connection error or timeout; `aborted`: cut off by stop(). */
export interface LoadStats { sent: number; ok: number; failed: number; aborted: number; skipped: number }

export interface LoadGenerator {
  readonly stats: Readonly<LoadStats>;
  /** Resolves when the load has stopped (duration over or stop()) and in-flight requests ended. */
  readonly done: Promise<void>;
  /** Stops starting requests, aborts the ones in flight; resolves like `done`. Idempotent. */
  stop(): Promise<void>;
}

/** The request mix: mostly HTML product pages, some JSON API calls, across the three books. */
export function pickPath(random: () => number = Math.random): string {
  const id = Math.floor(random() * 3);
  return random() < 0.75 ? `/productpage?id=${id}` : `/api/v1/products/${id}`;
}

/** Who is signed in: one request in five is Bookinfo's `jason`, whom the mesh config routes to reviews v2. */
export function pickUser(random: () => number = Math.random): string | undefined {
  return random() < 0.2 ? 'jason' : undefined;
}

export function startLoad(o: LoadOptions): LoadGenerator {
  if (!(o.rps > 0)) throw new Error(`rps must be greater than 0, got ${o.rps}`);
  const base = new URL(o.target);
  const maxInFlight = o.maxInFlight ?? 32;
  const stats: LoadStats = { sent: 0, ok: 0, failed: 0, aborted: 0, skipped: 0 };
  const abort = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let finish!: () => void;
  const stopped = new Promise<void>((r) => { finish = r; });

  const fire = () => {
    if (inFlight.size >= maxInFlight) { stats.skipped++; return; }
    stats.sent++;
    const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(o.timeoutMs ?? 10_000)]);
    const user = pickUser();
    const headers: Record<string, string> = { 'user-agent': 'meshtrace-demo-loadgen/1.0', ...(user ? { 'end-user': user } : {}) };
    const p = fetch(new URL(pickPath(), base), { signal, headers })
      .then(async (r) => { await r.arrayBuffer(); if (r.ok) stats.ok++; else stats.failed++; })
      .catch(() => { if (abort.signal.aborted) stats.aborted++; else stats.failed++; })
      .finally(() => { inFlight.delete(p); });
    inFlight.add(p);
  };
  const timer = setInterval(fire, 1000 / o.rps);
  const limit = o.durationMs > 0 ? setTimeout(() => finish(), o.durationMs) : undefined;
  fire();

  const done = stopped.then(async () => {
    clearInterval(timer);
    if (limit) clearTimeout(limit);
    // Let requests already sent complete (they are what the traces show); bounded by their timeout.
    await Promise.allSettled([...inFlight]);
  });
  return {
    stats,
    done,
    stop() {
      abort.abort();
      finish();
      return done;
    },
  };
}
