import type { IncomingHttpHeaders } from 'node:http';
import type { RetryOn, RetryPolicy } from './schema.js';

/**
 * Envoy's retry decision, reduced to HTTP/1 upstreams. Pure functions; the router
 * (proxy/traffic/router.ts) executes them.
 */

/** What one try came to, before anything was sent downstream. */
export type AttemptOutcome =
  | { kind: 'response'; status: number }
  /** connect-failure: never connected; reset: connection lost before response headers; timeout: the per-try timeout. */
  | { kind: 'connect-failure' | 'reset' | 'timeout' | 'resolve' | 'other'; code: string };

/** Istio's default `retryOn` for HTTP routes (its `unavailable`/`cancelled`/`refused-stream` are gRPC/HTTP2 only). */
export const DEFAULT_RETRY_ON: readonly RetryOn[] = ['connect-failure', 'retriable-status-codes'];
export const DEFAULT_RETRIABLE_STATUS_CODES: readonly number[] = [503];

/**
 * Largest request body kept for a possible retry (Envoy's per-request retry buffer, 64 KiB by
 * default). A larger or chunked body is streamed and tried once.
 */
export const RETRY_BUFFER_LIMIT_BYTES = 64 * 1024;

/** Envoy's default retry back-off: base 25 ms, at most 10 × base. */
export const RETRY_BACKOFF_BASE_MS = 25;
export const RETRY_BACKOFF_MAX_MS = 250;

/**
 * Whether `o` may be retried under `p` (attempt limits are the caller's). As in Envoy:
 * `5xx` covers every 5xx response, connect failures, resets and per-try timeouts; `gateway-error`
 * covers 502/503/504, connect failures, resets and per-try timeouts; `reset` covers a connection
 * lost (or never made) before response headers; `connect-failure` only a connection never made;
 * `retriable-4xx` is 409. Name-resolution failures are never retried (every try would fail alike).
 */
export function isRetriable(p: RetryPolicy, o: AttemptOutcome): boolean {
  const on = p.retryOn ?? DEFAULT_RETRY_ON;
  if (o.kind === 'response') {
    const s = o.status;
    for (const c of on) {
      if (c === '5xx' && s >= 500 && s <= 599) return true;
      if (c === 'gateway-error' && (s === 502 || s === 503 || s === 504)) return true;
      if (c === 'retriable-4xx' && s === 409) return true;
      if (c === 'retriable-status-codes' && (p.retriableStatusCodes ?? DEFAULT_RETRIABLE_STATUS_CODES).includes(s)) return true;
    }
    return false;
  }
  if (o.kind === 'resolve' || o.kind === 'other') return false;
  for (const c of on) {
    if (c === '5xx' || c === 'gateway-error') return true;
    if (c === 'reset' && (o.kind === 'reset' || o.kind === 'connect-failure')) return true;
    if (c === 'connect-failure' && o.kind === 'connect-failure') return true;
  }
  return false;
}

/**
 * Fully jittered exponential back-off before retry number `retry` (1 = first retry):
 * uniform in [0, min(base × 2^(retry−1), max)), as Envoy's JitteredExponentialBackOffStrategy.
 */
export function backoffMs(retry: number, random: number): number {
  const ceiling = Math.min(RETRY_BACKOFF_BASE_MS * 2 ** (retry - 1), RETRY_BACKOFF_MAX_MS);
  return Math.floor(random * ceiling);
}

/**
 * Whether a request's body can be held for retries: none, or a Content-Length ≤ the buffer
 * limit. Chunked bodies have no known size before they end, so they are never held.
 */
export function bodyFitsRetryBuffer(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return false;
  const cl = headers['content-length'];
  return cl === undefined || Number(cl) <= RETRY_BUFFER_LIMIT_BYTES;
}
