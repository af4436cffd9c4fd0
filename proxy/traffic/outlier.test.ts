import { describe, expect, it } from 'vitest';
import { TrafficState } from './state.js';

const a = { host: '127.0.0.1', port: 1 };
const b = { host: '127.0.0.1', port: 2 };
const c = { host: '127.0.0.1', port: 3 };

function setup(od: Record<string, number>, endpoints = [a, b]) {
  let now = 1_000_000;
  const events: string[] = [];
  const state = new TrafficState({ now: () => now, events: { upstreamOverflow: (u) => events.push(`overflow ${u}`), outlierEjection: (u) => events.push(`eject ${u}`), upstreamRetry: () => {} } });
  const policy = { outlierDetection: { consecutive5xxErrors: 2, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 100, ...od } };
  const us = state.upstream('reviews', endpoints, policy, 1);
  return { state, us, events, advance: (ms: number) => { now += ms; } };
}

describe('outlier detection', () => {
  it('ejects an endpoint after consecutive failures, skips it, and takes it back after the ejection time', () => {
    const { us, events, advance } = setup({});
    us.report(a, true);
    us.report(a, false); // a success resets the count
    us.report(a, true);
    expect(us.ejected()).toEqual([]);
    us.report(a, true);
    expect(us.ejected()).toEqual(['127.0.0.1:1']);
    expect(events).toEqual(['eject reviews']);
    expect([us.pick(), us.pick(), us.pick()]).toEqual([b, b, b]);
    advance(29_999);
    expect(us.ejected()).toEqual(['127.0.0.1:1']);
    advance(1);
    expect(us.ejected()).toEqual([]);
    expect(new Set([us.pick(), us.pick()])).toEqual(new Set([a, b]));
  });
  it('ejects for base × times ejected, a healthy interval taking one step back', () => {
    const { us, advance } = setup({});
    const eject = () => { us.report(a, true); us.report(a, true); };
    eject();
    advance(30_000);
    eject(); // second ejection right after the first ended: 60 s
    advance(59_999);
    expect(us.ejected()).toEqual(['127.0.0.1:1']);
    advance(1);
    expect(us.ejected()).toEqual([]);
    advance(10_000); // one healthy interval: multiplier 2 → 1, so the next ejection is 2 × base again
    eject();
    advance(59_999);
    expect(us.ejected()).toEqual(['127.0.0.1:1']);
    advance(1);
    expect(us.ejected()).toEqual([]);
  });
  it('keeps within maxEjectionPercent, though one endpoint may always be ejected (Envoy)', () => {
    const { us } = setup({ maxEjectionPercent: 50 }, [a, b, c]);
    for (const e of [a, a, b, b, c, c]) us.report(e, true);
    expect(us.ejected()).toEqual(['127.0.0.1:1']);
    const two = setup({ maxEjectionPercent: 10 }).us;
    for (const e of [a, a, b, b]) two.report(e, true);
    expect(two.ejected()).toEqual(['127.0.0.1:1']);
  });
  it('returns no endpoint when every one is ejected', () => {
    const { us } = setup({});
    for (const e of [a, a, b, b]) us.report(e, true);
    expect(us.pick()).toBeUndefined();
  });
  it('keeps ejections, turns and request counts when a reloaded configuration refreshes the upstream', () => {
    const { state, us } = setup({});
    us.report(a, true); us.report(a, true);
    expect(us.tryAcquire()).toBe(true);
    const again = state.upstream('reviews', [a, b], { maxRequests: 1, outlierDetection: us.policy!.outlierDetection }, 1);
    expect(again).toBe(us);
    expect(again.ejected()).toEqual(['127.0.0.1:1']);
    expect(again.tryAcquire()).toBe(false); // the request counted before the reload still holds its slot
    again.release();
    expect(again.tryAcquire()).toBe(true);
    // An endpoint dropped from the configuration loses its state.
    state.upstream('reviews', [b, c], us.policy, 1);
    expect(us.ejected()).toEqual([]);
  });
  it('counts overflows against maxRequests and maxPendingRequests', () => {
    const { state, events } = setup({});
    const limited = state.upstream('ratings', [a], { maxRequests: 3, maxPendingRequests: 1 }, 1);
    // one request on the endpoint's only connection, one pending, the third overflows the pending limit
    expect([limited.tryAcquire(), limited.tryAcquire(), limited.tryAcquire()]).toEqual([true, true, false]);
    expect(events).toEqual(['overflow ratings']);
  });
});
