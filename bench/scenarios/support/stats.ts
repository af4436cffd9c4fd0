/** Formatting of repeated measurements for the storage/collector bench tables. */
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
