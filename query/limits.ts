/**
 * The bounds every query parameter is held to, and the server's per-response limits. A value
 * outside its bound is a 400 naming the parameter (and the bound), never a 500 or an unbounded
 * read: `limit=1000000000` once loaded every matching trace (3.5 GB, then "Invalid string
 * length"), `minDuration=99999999999999h` reached storage as a float and failed there.
 */
import { SpanBudget } from '../storage/span-budget.js';
import { parseGoDurationUs } from './duration.js';
import { BadRequestError } from './errors.js';
import { integer, one, type QueryString } from './query-params.js';

export interface QueryLimits {
  /** Most traces one search may ask for (`limit`, `query.num_traces`, repeated `traceID`); more → 400. */
  maxLimit: number;
  /** Most spans one response carries over all its traces (a `SpanBudget`); beyond it the answer is cut and says so. */
  maxSpans: number;
}

/**
 * Jaeger UI's search form caps `limit` at 1,500. 200,000 spans: twice the largest trace the UI is
 * built to open (100k spans, BENCHMARKS.md), ~150–300 MB of Jaeger JSON, far from V8's ~512 MiB
 * string limit.
 */
export const DEFAULT_QUERY_LIMITS: QueryLimits = { maxLimit: 1500, maxSpans: 200_000 };

/** Timestamps must lie in [1970-01-01, 2200-01-01): µs of later dates are no longer exact integers in JS near 2255. */
export const MAX_TIME_MS = Date.UTC(2200, 0, 1);
export const MAX_TIME_US = MAX_TIME_MS * 1000;
/** Durations, lookbacks, steps and rate windows: at most 100 years. */
export const MAX_DURATION_MS = 36_525 * 24 * 3_600_000;
export const MAX_DURATION_US = MAX_DURATION_MS * 1000;
/** Tag filters per search (each is one more index term to read). */
export const MAX_TAG_FILTERS = 50;

const outOfRange = (name: string, why: string) => new BadRequestError(`unable to parse param '${name}': ${why}`);

/** An integer parameter in [min, max]; undefined when absent. */
export function boundedInt(q: QueryString, name: string, min: number, max: number, bound = `between ${min} and ${max}`): number | undefined {
  const v = integer(q, name);
  if (v !== undefined && (v < min || v > max)) throw outOfRange(name, `must be ${bound}, got ${v}`);
  return v;
}

/** A Unix time parameter in microseconds (`start`, `end` of `/api/traces`). */
export function timeUsParam(q: QueryString, name: string): number | undefined {
  return boundedInt(q, name, 0, MAX_TIME_US, `a Unix time in microseconds between 0 and ${MAX_TIME_US} (year 2200)`);
}

/** A Unix time parameter in milliseconds (`endTs`). */
export function timeMsParam(q: QueryString, name: string): number | undefined {
  return boundedInt(q, name, 0, MAX_TIME_MS, `a Unix time in milliseconds between 0 and ${MAX_TIME_MS} (year 2200)`);
}

/** A length of time in milliseconds (`lookback`, `step`, `ratePer`); `min` 0 or 1. */
export function durationMsParam(q: QueryString, name: string, min: 0 | 1): number | undefined {
  return boundedInt(q, name, min, MAX_DURATION_MS, `between ${min} and ${MAX_DURATION_MS} milliseconds (100 years)`);
}

/** A Go duration string checked against [0, 100 years], µs; `label` is the name used in the error. */
export function goDurationUs(raw: string, label: string): number {
  const us = parseGoDurationUs(raw);
  if (us === undefined) throw new BadRequestError(`unable to parse param '${label}': time: invalid duration "${raw}"`);
  if (us < 0 || us > MAX_DURATION_US) throw outOfRange(label, `must be between 0 and 100 years (876000h), got "${raw}"`);
  return us;
}

/**
 * `lookback` of `/api/traces`: clients send it (`1h`, `2d`, `custom`) and, as in jaeger-query,
 * the search window comes from `start`/`end` only; still held to a bound so junk is a 400.
 */
export function checkSearchLookback(q: QueryString): void {
  const raw = one(q, 'lookback');
  if (raw === undefined || raw === 'custom') return;
  const m = /^(\d{1,6})([dw])$/.exec(raw);
  const us = m ? Number(m[1]) * (m[2] === 'd' ? 1 : 7) * 86_400_000_000 : parseGoDurationUs(raw);
  if (us === undefined) throw new BadRequestError(`unable to parse param 'lookback': expecting 'custom' or a duration such as 1h or 2d, got "${raw}"`);
  if (us < 0 || us > MAX_DURATION_US) throw outOfRange('lookback', `must be between 0 and 100 years, got "${raw}"`);
}

/** The repeated `name` parameter holds at most `max` values. */
export function checkCount(name: string, count: number, max: number, flag?: string): void {
  if (count > max) throw outOfRange(name, `at most ${max} values${flag ? ` (${flag})` : ''}, got ${count}`);
}

/** Number of `tag`/`tags` filters, checked after merging. */
export function checkTagCount(count: number, name: string): void {
  if (count > MAX_TAG_FILTERS) throw outOfRange(name, `at most ${MAX_TAG_FILTERS} tag filters, got ${count}`);
}

/** A search's trace count: 0/absent → `fallback`; above the server's maximum → 400 naming the bound. */
export function searchLimit(raw: number | undefined, name: string, fallback: number, limits: QueryLimits): number {
  if (raw === undefined || raw === 0) return Math.min(fallback, limits.maxLimit);
  if (raw < 0) throw outOfRange(name, `must not be negative, got ${raw}`);
  if (raw > limits.maxLimit) throw outOfRange(name, `must not exceed ${limits.maxLimit} (the server's --query-max-limit), got ${raw}`);
  return raw;
}

export function newSpanBudget(limits: QueryLimits): SpanBudget {
  return new SpanBudget(limits.maxSpans);
}

/** The trace-level warning of a trace cut by the budget. */
export function cutTraceWarning(loaded: number, total: number, maxSpans: number): string {
  return `trace cut to its ${loaded} earliest spans of ${total}: the server sends at most ${maxSpans} spans per response (--query-max-spans)`;
}

/** What a search says when the budget left traces out. */
export function omittedTracesMessage(returned: number, omitted: number, maxSpans: number, limitParam = 'limit'): string {
  return `search results cut to ${returned} traces: ${omitted} more matched but would exceed the server's ${maxSpans} spans per response (--query-max-spans); narrow the search or lower '${limitParam}'`;
}

/** What a lookup by ids says for each trace the budget left out. */
export function omittedTraceMessage(maxSpans: number): string {
  return `trace left out: the response reached the server's ${maxSpans} spans per response (--query-max-spans); ask for it on its own`;
}


/**
 * TraceQL search (query/traceql/search.ts): candidates come from indexes, but conditions the
 * indexes cannot serve (regexes, !=, structure) are checked on whole traces, so each search reads
 * at most this many candidate traces and spans; reaching either ends it early and the answer
 * says so. 1 M spans ≈ a second of evaluation on the bench machine and ~1 GB of model objects
 * read in chunks of 64 traces (only a chunk is held at once).
 */
export const TRACEQL_MAX_CANDIDATES = 20_000;
export const TRACEQL_MAX_SCAN_SPANS = 1_000_000;
/** `spss` (spans per spanset in a Tempo search answer): Tempo's default 3; bounded so one trace cannot fill the answer. */
export const DEFAULT_SPSS = 3;
export const MAX_SPSS = 1_000;
