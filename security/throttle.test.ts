import { describe, expect, it } from 'vitest';
import { FailureThrottle } from './throttle.js';

describe('FailureThrottle', () => {
  it('delays an address after its free failures, doubling up to the cap, and forgets it on success', () => {
    const t = new FailureThrottle({ freeFailures: 2, baseDelayMs: 100, maxDelayMs: 350 });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      delays.push(t.delayMs('10.0.0.1'));
      t.fail('10.0.0.1');
    }
    expect(delays).toEqual([0, 0, 100, 200, 350, 350]);
    expect(t.delayMs('10.0.0.2')).toBe(0); // per address
    t.succeed('10.0.0.1');
    expect(t.delayMs('10.0.0.1')).toBe(0);
  });

  it('forgets an address after a quiet period', () => {
    let now = 0;
    const t = new FailureThrottle({ freeFailures: 1, forgetAfterMs: 1_000, now: () => now });
    t.fail('a');
    t.fail('a');
    expect(t.delayMs('a')).toBe(200);
    now = 1_001;
    expect(t.delayMs('a')).toBe(0);
    t.fail('a');
    expect(t.delayMs('a')).toBe(100); // counted afresh
  });

  it('remembers at most maxAddresses, dropping the least recently failing', () => {
    const t = new FailureThrottle({ freeFailures: 1, maxAddresses: 100 });
    for (let i = 0; i < 10_000; i++) t.fail(`addr-${i}`);
    expect(t.size).toBe(100);
    expect(t.delayMs('addr-0')).toBe(0);
    expect(t.delayMs('addr-9999')).toBe(100);
  });
});
