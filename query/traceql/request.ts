/**
 * The HTTP side of a TraceQL search shared by `/tempo/api/search` and `/api/ext/search`: the
 * bounded parameters (query/limits.ts) and one call into searchTraceQL. The two routes differ
 * only in the time unit of `start`/`end` (Tempo: Unix seconds; the Jaeger-style extension: µs,
 * as `/api/traces`) and in the response shape.
 */
import { BadRequestError } from '../errors.js';
import {
  boundedInt, DEFAULT_SPSS, MAX_SPSS, MAX_TIME_MS, MAX_TIME_US, searchLimit, TRACEQL_MAX_CANDIDATES, TRACEQL_MAX_SCAN_SPANS, timeUsParam,
} from '../limits.js';
import { one, type QueryString } from '../query-params.js';
import type { QueryService } from '../trace-service.js';
import type { TraceQLQuery } from './ast.js';
import { MAX_QUERY_LENGTH, parseTraceQL } from './parser.js';
import { searchTraceQL, type TraceQLSearchResult } from './search.js';

/** Without `start`, a search looks back this far from `end` (as `/api/traces` does). */
const DEFAULT_WINDOW_US = 48 * 3600 * 1_000_000;

export interface TraceQLRequest {
  query: TraceQLQuery;
  startUs: number;
  endUs: number;
  limit: number;
  spss: number;
}

/** `q` (default `{ }`: every trace), `start`/`end` in `timeUnit`, `limit`, `spss`. */
export function parseTraceQLRequest(q: QueryString, opts: { timeUnit: 's' | 'us'; defaultLimit: number; maxLimit: number; nowUs?: number }): TraceQLRequest {
  const text = one(q, 'q') ?? '{ }';
  if (text.length > MAX_QUERY_LENGTH) throw new BadRequestError(`unable to parse param 'q': at most ${MAX_QUERY_LENGTH} characters, got ${text.length}`);
  const query = parseTraceQL(text);
  const time = (name: string): number | undefined => (opts.timeUnit === 'us' ? timeUsParam(q, name) : secondsParamUs(q, name));
  const nowUs = opts.nowUs ?? Date.now() * 1000;
  // A Tempo `end` in whole seconds: the search covers that whole second.
  const endRaw = time('end');
  const endUs = endRaw === undefined ? nowUs : opts.timeUnit === 's' ? endRaw + 999_999 : endRaw;
  const startUs = time('start') ?? Math.max(0, endUs - DEFAULT_WINDOW_US);
  if (startUs > endUs) throw new BadRequestError("'start' should be before 'end'");
  const limit = searchLimit(boundedInt(q, 'limit', 0, Number.MAX_SAFE_INTEGER), 'limit', opts.defaultLimit, { maxLimit: opts.maxLimit, maxSpans: 1 });
  const spss = boundedInt(q, 'spss', 1, MAX_SPSS) ?? DEFAULT_SPSS;
  return { query, startUs, endUs, limit, spss };
}

/** A Unix time parameter in seconds (Tempo's `start`/`end`), as µs. */
export function secondsParamUs(q: QueryString, name: string): number | undefined {
  const maxS = Math.floor(MAX_TIME_MS / 1000);
  const s = boundedInt(q, name, 0, maxS, `a Unix time in seconds between 0 and ${maxS} (year 2200)`);
  return s === undefined ? undefined : Math.min(s * 1_000_000, MAX_TIME_US);
}

export function runTraceQLRequest(query: QueryService, r: TraceQLRequest): Promise<TraceQLSearchResult> {
  return searchTraceQL(query.reader, r.query, {
    startUs: r.startUs, endUs: r.endUs, limit: r.limit, maxScanSpans: TRACEQL_MAX_SCAN_SPANS, maxCandidates: TRACEQL_MAX_CANDIDATES,
  });
}
