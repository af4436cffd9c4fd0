/** Timing and formatting of repeated measurements for the storage/collector bench tables. */
import { performance } from 'node:perf_hooks';
import { summarize } from '../../scenario.js';

export type Summary = ReturnType<typeof summarize>;

/** Rounds to a precision that suits the magnitude (3 significant digits, integers from 100 up). */
export function num(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 100) return Math.round(n).toLocaleString('en-US');
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toPrecision(2);
}

/** "median (min–max)", or just the value for a single run. */
export function spread(values: number[]): string {
  const s = summarize(values);
  return values.length === 1 ? num(s.median) : `${num(s.median)} (${num(s.min)}–${num(s.max)})`;
}

export const median = (values: number[]) => summarize(values).median;

/** Ratio of medians with two decimals, e.g. "0.42×". */
export const ratio = (a: number[], b: number[]) => `${(median(a) / median(b)).toFixed(2)}×`;

/** Where `MESHTRACE_BENCH_PROFILE` points, if set: scenarios write .cpuprofile files there. */
export const profileDir = (): string | undefined => process.env.MESHTRACE_BENCH_PROFILE || undefined;

/**
 * Latencies (ms) of `n` sequential calls, call `i` being `fn(i)`; stops early once `budgetMs` has
 * been spent and at least `min` calls were made (keeps a slow query type from stretching a run at
 * 10 M spans).
 */
export async function timeCalls(n: number, fn: (i: number) => Promise<unknown>, budgetMs = Infinity, min = 20): Promise<number[]> {
  const out: number[] = [];
  const t00 = performance.now();
  for (let i = 0; i < n && (i < min || performance.now() - t00 < budgetMs); i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}
