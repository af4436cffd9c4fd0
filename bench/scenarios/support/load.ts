/**
 * OTLP/HTTP load generators over undici keep-alive connections, sending pre-encoded bodies.
 * - `sendAll`: closed loop, `concurrency` clients each sending its next body as soon as the
 *   previous one is answered (throughput).
 * - `sendAtRate`: open loop at a target span rate for a duration (latency under load, overload);
 *   a request is not started while `maxInFlight` are outstanding (counted as `skipped`).
 */
import { Pool } from 'undici';

export interface Body {
  data: Uint8Array | string;
  spans: number;
}

export interface LoadResult {
  /** Spans in requests answered 200. */
  spans: number;
  requests: number;
  /** Requests answered 503/429 (queue full). */
  refused: number;
  /** Requests answered anything else (a failure of the benchmark). */
  failed: number;
  /** Requests the open-loop sender did not start because `maxInFlight` were outstanding. */
  skipped: number;
  /** Whether every 503/429 carried Retry-After. */
  retryAfterAlways: boolean;
  ms: number;
}

export const contentTypeOf = (b: Body) => (typeof b.data === 'string' ? 'application/json' : 'application/x-protobuf');

function newResult(): LoadResult {
  return { spans: 0, requests: 0, refused: 0, failed: 0, skipped: 0, retryAfterAlways: true, ms: 0 };
}

async function post(pool: Pool, b: Body, r: LoadResult): Promise<void> {
  const res = await pool.request({ method: 'POST', path: '/v1/traces', headers: { 'content-type': contentTypeOf(b) }, body: b.data });
  await res.body.dump();
  r.requests++;
  if (res.statusCode === 200) r.spans += b.spans;
  else if (res.statusCode === 503 || res.statusCode === 429) {
    r.refused++;
    if (res.headers['retry-after'] === undefined) r.retryAfterAlways = false;
  } else r.failed++;
}

/** Sends every body once, `concurrency` at a time; refused requests are not retried. */
export async function sendAll(origin: string, bodies: readonly Body[], concurrency: number): Promise<LoadResult> {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  const r = newResult();
  let next = 0;
  const t0 = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) await post(pool, bodies[next++], r);
      }),
    );
  } finally {
    r.ms = performance.now() - t0;
    await pool.close();
  }
  if (r.failed > 0) throw new Error(`${r.failed} of ${r.requests} ingest requests failed`);
  return r;
}

/**
 * Offers `spansPerSecond` for `durationMs`, request `i` carrying `nextBody(i)`, ticking every 10 ms.
 */
export async function sendAtRate(
  origin: string,
  nextBody: (i: number) => Body,
  opts: { spansPerSecond: number; durationMs: number; maxInFlight: number },
): Promise<LoadResult> {
  const pool = new Pool(origin, { connections: opts.maxInFlight, pipelining: 1 });
  const r = newResult();
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  let offeredSpans = 0;
  let next = 0;
  try {
    for (;;) {
      const elapsed = performance.now() - t0;
      if (elapsed >= opts.durationMs) break;
      const due = (elapsed / 1000) * opts.spansPerSecond;
      while (offeredSpans < due) {
        const b = nextBody(next++);
        offeredSpans += b.spans;
        if (inFlight.size >= opts.maxInFlight) {
          r.skipped++;
          continue;
        }
        const p: Promise<void> = post(pool, b, r).catch(() => {
          r.failed++;
        }).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await new Promise((res) => setTimeout(res, 10));
    }
    await Promise.all(inFlight);
  } finally {
    r.ms = performance.now() - t0;
    await pool.close();
  }
  return r;
}
