/**
 * Open-loop load at a constant rate, the way wrk2 measures latency: request i is due at
 * t0 + i / rate, and its latency runs from when it was due, not from when a connection was free to
 * send it. A client that waits for a free connection before starting the clock (autocannon's
 * `overallRate`, plain wrk) stops measuring while the server stalls, so a 50 ms stall shows up as
 * one slow request instead of the fifty that waited behind it — coordinated omission, which makes
 * p99 look better than what users see. Here every request that had to queue behind a stall counts
 * its full wait.
 *
 * Runs in the bench process (wrk2 is not packaged in Debian); at the rates used (≤ a few thousand
 * requests/s) the client's own cost is a small part of one core and is measured with the rest.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface ConstantRateResult {
  /** Latency of each successful (2xx) request, ms, from its due time to the end of its response. */
  latenciesMs: number[];
  ok: number;
  /** Non-2xx answers and failed requests. */
  errors: number;
  /** Requests due during the run (all were sent). */
  sent: number;
  seconds: number;
}

export async function constantRate(
  url: string,
  headers: Record<string, string> | undefined,
  o: { rate: number; seconds: number; connections: number },
): Promise<ConstantRateResult> {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: o.connections, pipelining: 1 });
  const path = target.pathname + target.search;
  const result: ConstantRateResult = { latenciesMs: [], ok: 0, errors: 0, sent: 0, seconds: o.seconds };
  const inFlight = new Set<Promise<void>>();
  const intervalMs = 1000 / o.rate;
  const t0 = performance.now();
  const endAt = t0 + o.seconds * 1000;
  const fire = (due: number) => {
    const p = pool.request({ path, method: 'GET', headers }).then(
      async (res) => {
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) {
          result.ok++;
          result.latenciesMs.push(performance.now() - due);
        } else result.errors++;
      },
      () => { result.errors++; },
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  try {
    for (;;) {
      const now = performance.now();
      if (now >= endAt) break;
      // Everything due by now goes out now, each keeping its own due time.
      const due = Math.floor((now - t0) / intervalMs) + 1;
      for (; result.sent < due; result.sent++) fire(t0 + result.sent * intervalMs);
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(1, t0 + result.sent * intervalMs - performance.now()))));
    }
    await Promise.all([...inFlight]);
  } finally {
    await pool.close();
  }
  return result;
}
