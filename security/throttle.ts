/**
 * Slows credential guessing per client address: the first few failures cost nothing (a typo, a
 * rotated token), then every further attempt from that address waits 100 ms, 200 ms, … up to 2 s
 * before it is checked. A success or ten quiet minutes forget the address. Memory is bounded: at
 * most `maxAddresses` are remembered, the least recently failing dropped first.
 */
export interface ThrottleOptions {
  /** Failures an address may have before its attempts are delayed. */
  freeFailures?: number;
  /** Delay after the first failure beyond the free ones, ms; doubles with each further failure. */
  baseDelayMs?: number;
  /** Largest delay, ms. */
  maxDelayMs?: number;
  /** An address with no failure for this long is forgotten, ms. */
  forgetAfterMs?: number;
  /** Most addresses remembered. */
  maxAddresses?: number;
  now?: () => number;
}

export class FailureThrottle {
  private readonly free: number;
  private readonly base: number;
  private readonly max: number;
  private readonly forgetAfter: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;
  /** address → failures and the time of the last one; Map order = least recently failing first. */
  private readonly failures = new Map<string, { count: number; last: number }>();

  constructor(o: ThrottleOptions = {}) {
    this.free = o.freeFailures ?? 5;
    this.base = o.baseDelayMs ?? 100;
    this.max = o.maxDelayMs ?? 2_000;
    this.forgetAfter = o.forgetAfterMs ?? 10 * 60_000;
    this.maxAddresses = o.maxAddresses ?? 10_000;
    this.now = o.now ?? Date.now;
  }

  /** How long the next attempt from `address` should wait before it is checked, ms. */
  delayMs(address: string): number {
    const f = this.failures.get(address);
    if (!f) return 0;
    if (this.now() - f.last > this.forgetAfter) {
      this.failures.delete(address);
      return 0;
    }
    // The attempt after the last free failure waits `base`, each one after it twice the last.
    const over = f.count - this.free;
    return over < 0 ? 0 : Math.min(this.base * 2 ** over, this.max);
  }

  fail(address: string): void {
    const f = this.failures.get(address);
    const fresh = !f || this.now() - f.last > this.forgetAfter;
    this.failures.delete(address);
    this.failures.set(address, { count: fresh ? 1 : f.count + 1, last: this.now() });
    if (this.failures.size > this.maxAddresses) this.failures.delete(this.failures.keys().next().value as string);
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }

  /** Addresses remembered (for tests and metrics). */
  get size(): number {
    return this.failures.size;
  }
}
