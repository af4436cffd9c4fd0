/**
 * Runs a TraceQL query against any `TraceReader`: candidate trace ids from the store's indexes
 * (plan.ts), then each candidate read whole and evaluated exactly (evaluate.ts), newest first,
 * until `limit` traces matched.
 *
 * The reader returns the `n` most recent candidates for `limit: n`, so asking again with a larger
 * `n` returns the same prefix plus older ones: each round evaluates only the new tail, and the
 * matches come out newest first. Rounds grow ×4 from 2 × limit so a selective index costs one
 * round and a poor one a few. Bounded twice: at most `maxCandidates` candidate traces and
 * `maxScanSpans` spans read per query; reaching either ends the search early and `stoppedEarly`
 * says why (the answer then holds the matches among the candidates read).
 */
import type { Trace } from '../../model/span.js';
import type { TraceReader } from '../../storage/api.js';
import { SpanBudget } from '../../storage/span-budget.js';
import type { TraceQLQuery } from './ast.js';
import { evaluateTrace, indexTrace, type TraceIndex, type TraceMatchResult } from './evaluate.js';
import { planCandidates } from './plan.js';

/** What the search needs from storage: two methods every backend has. */
export type CandidateReader = Pick<TraceReader, 'findTraceIds' | 'getTraces'>;

export interface TraceQLSearchOptions {
  startUs: number;
  endUs: number;
  /** Traces to return at most. */
  limit: number;
  /** Spans read for evaluation at most (whole traces). */
  maxScanSpans: number;
  /** Candidate traces considered at most. */
  maxCandidates: number;
}

export interface TraceQLMatch extends TraceMatchResult {
  index: TraceIndex;
}

export interface TraceQLSearchResult {
  matches: TraceQLMatch[];
  inspectedTraces: number;
  inspectedSpans: number;
  narrowedBy: string[];
  /** Set when a bound ended the search before the candidates ran out. */
  stoppedEarly?: string;
}

/** Candidate ids read per getTraces call (a trace is dropped once evaluated: memory ~ one chunk). */
const READ_CHUNK = 64;

export async function searchTraceQL(reader: CandidateReader, q: TraceQLQuery, opts: TraceQLSearchOptions): Promise<TraceQLSearchResult> {
  const plan = planCandidates(q);
  const matches: TraceQLMatch[] = [];
  const evaluated = new Set<string>();
  let inspectedSpans = 0;
  let stoppedEarly: string | undefined;
  let want = Math.min(Math.max(opts.limit * 2, 20), opts.maxCandidates);

  rounds: for (;;) {
    const ids = await reader.findTraceIds({ ...plan.query, startTimeMinUs: opts.startUs, startTimeMaxUs: opts.endUs, limit: want });
    const fresh = ids.filter((id) => !evaluated.has(id));
    for (let i = 0; i < fresh.length; i += READ_CHUNK) {
      const chunk = fresh.slice(i, i + READ_CHUNK);
      const left = opts.maxScanSpans - inspectedSpans;
      if (left <= 0) { stoppedEarly = scanMessage(opts.maxScanSpans); break rounds; }
      const budget = new SpanBudget(left);
      const traces = await reader.getTraces({ traceIds: chunk }, budget);
      const byId = new Map<string, Trace>(traces.map((t) => [t.traceId, t]));
      for (const id of chunk) {
        if (budget.omittedTraceIds.includes(id) || budget.cutTraces.has(id)) {
          // Only part of the trace fits what is left of the scan: evaluating it would be inexact.
          stoppedEarly = scanMessage(opts.maxScanSpans);
          break rounds;
        }
        evaluated.add(id);
        const trace = byId.get(id);
        if (!trace || trace.spans.length === 0) continue; // purged since the ids were read
        inspectedSpans += trace.spans.length;
        const index = indexTrace(trace);
        const m = evaluateTrace(q, index);
        if (m) {
          matches.push({ ...m, index });
          if (matches.length >= opts.limit) break rounds;
        }
      }
    }
    if (ids.length < want) break; // every candidate seen
    if (want >= opts.maxCandidates) {
      stoppedEarly = `search stopped after ${evaluated.size} candidate traces (the most one TraceQL search reads); narrow the time range or add conditions on service, name or attributes`;
      break;
    }
    want = Math.min(want * 4, opts.maxCandidates);
  }
  return { matches, inspectedTraces: evaluated.size, inspectedSpans, narrowedBy: plan.narrowedBy, stoppedEarly };
}

const scanMessage = (max: number) =>
  `search stopped after reading ${max} spans (the most one TraceQL search reads); narrow the time range or add conditions on service, name or attributes`;
