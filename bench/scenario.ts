/**
 * A benchmark scenario. `npm run bench [-- <name> …] [--quick]` runs the selected scenarios,
 * prints each result table and appends it to BENCHMARKS.md with the date, machine and command.
 *
 * Every figure is reported next to a baseline measured in the same run (the machines are shared
 * and noisy): each scenario repeats its measurements (≥ 3 runs, `quick` may use 1) and reports
 * the median and the spread (min–max).
 */
/** Repetitions of every measurement in a recorded run (median and min–max spread are reported). */
export const REPETITIONS = 5;

export interface BenchOptions {
  /** Tiny sizes, one repetition: used by the smoke test so bench code cannot rot. */
  quick: boolean;
  /** Repetitions of each measurement: 1 when quick, else `REPETITIONS`. */
  reps: number;
  /** Working directory for temporary files (SQLite databases, configs); removed afterwards. */
  tmpDir: string;
}

export interface BenchTable {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  /** Free-text notes printed under the table (baseline definitions, data shape, targets). */
  notes?: string[];
}

export interface Scenario {
  name: string;
  description: string;
  run(opts: BenchOptions): Promise<BenchTable[]>;
}

/** Median and spread of repeated measurements. */
export function summarize(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** Percentile (0–100) of unsorted samples, nearest-rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}
