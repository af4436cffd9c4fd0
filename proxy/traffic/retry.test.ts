import { describe, expect, it } from 'vitest';
import { backoffMs, bodyFitsRetryBuffer, isRetriable, RETRY_BUFFER_LIMIT_BYTES, type AttemptOutcome } from './retry.js';
import { decideFault } from './fault.js';

const resp = (status: number): AttemptOutcome => ({ kind: 'response', status });
const fail = (kind: 'connect-failure' | 'reset' | 'timeout' | 'resolve'): AttemptOutcome => ({ kind, code: kind });

describe('retry decision (Envoy retry_on)', () => {
  it('defaults to Istio: connect failures and 503', () => {
    const p = { attempts: 2 };
    expect([resp(503), resp(500), resp(502), resp(409), resp(200)].map((o) => isRetriable(p, o))).toEqual([true, false, false, false, false]);
    expect([fail('connect-failure'), fail('reset'), fail('timeout'), fail('resolve')].map((o) => isRetriable(p, o))).toEqual([true, false, false, false]);
  });
  it('knows each condition', () => {
    const on = (retryOn: string[], o: AttemptOutcome, codes?: number[]) => isRetriable({ attempts: 1, retryOn: retryOn as never, retriableStatusCodes: codes }, o);
    expect(on(['5xx'], resp(500))).toBe(true);
    expect(on(['5xx'], resp(499))).toBe(false);
    expect(on(['5xx'], fail('timeout'))).toBe(true);
    expect(on(['gateway-error'], resp(500))).toBe(false);
    expect(on(['gateway-error'], resp(504))).toBe(true);
    expect(on(['gateway-error'], fail('reset'))).toBe(true);
    expect(on(['reset'], fail('reset'))).toBe(true);
    expect(on(['reset'], fail('timeout'))).toBe(false);
    expect(on(['reset'], resp(503))).toBe(false);
    expect(on(['connect-failure'], fail('reset'))).toBe(false);
    expect(on(['retriable-4xx'], resp(409))).toBe(true);
    expect(on(['retriable-4xx'], resp(404))).toBe(false);
    expect(on(['retriable-status-codes'], resp(429), [429])).toBe(true);
    expect(on(['retriable-status-codes'], resp(503), [429])).toBe(false);
    expect(on(['5xx'], fail('resolve'))).toBe(false);
  });
  it('backs off with full jitter under 25 ms × 2^(n−1), at most 250 ms', () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => backoffMs(n, 0.999999))).toEqual([24, 49, 99, 199, 249, 249]);
    expect(backoffMs(3, 0)).toBe(0);
  });
  it('holds only bodies of known size within the retry buffer', () => {
    expect(bodyFitsRetryBuffer({})).toBe(true);
    expect(bodyFitsRetryBuffer({ 'content-length': String(RETRY_BUFFER_LIMIT_BYTES) })).toBe(true);
    expect(bodyFitsRetryBuffer({ 'content-length': String(RETRY_BUFFER_LIMIT_BYTES + 1) })).toBe(false);
    expect(bodyFitsRetryBuffer({ 'transfer-encoding': 'chunked' })).toBe(false);
  });
});

describe('fault decision', () => {
  const seq = (...xs: number[]) => () => xs.shift()!;
  it('draws delay and abort independently against their percentages', () => {
    const f = { delay: { percent: 50, fixedDelayMs: 100 }, abort: { percent: 10, httpStatus: 503 } };
    expect(decideFault(f, seq(0.49, 0.09))).toEqual({ delayMs: 100, abortStatus: 503 });
    expect(decideFault(f, seq(0.5, 0.09))).toEqual({ delayMs: 0, abortStatus: 503 });
    expect(decideFault(f, seq(0.49, 0.1))).toEqual({ delayMs: 100, abortStatus: 0 });
    expect(decideFault(f, seq(0.5, 0.1))).toBeUndefined();
    expect(decideFault({ abort: { percent: 100, httpStatus: 418 } }, seq(0.9999))).toEqual({ delayMs: 0, abortStatus: 418 });
    expect(decideFault({ abort: { percent: 0, httpStatus: 418 } }, seq(0))).toBeUndefined();
  });
});
