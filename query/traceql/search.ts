/**
 * Runs a TraceQL query against any `TraceReader`: candidate trace ids from the store's indexes
 * (plan.ts), then each candidate read whole and evaluated exactly (evaluate.ts), until the
 * `limit` most recent matches are known. When the store offers span skeletons, candidates are
 * first checked on them (prefilter.ts) and only those that may match are read whole.
 *
 * The reader returns the `n` most recent candidates for `limit: n` (by trace start), so asking
 * again with a larger `n` returns the same prefix plus older ones: each round evaluates only the
 * new tail. Rounds start at 2 × limit and grow with the match rate seen (nextRoundSize), so a
 * selective index costs one round and a poor one two or three. With one candidate query the candidates arrive newest first and the search stops at the
 * `limit`-th match. With several (a spanset `||`: the union of their candidates) a round is
 * evaluated whole, and a match is final once it is newer than the oldest candidate of every
 * query whose prefix was full (anything not read yet is older than that).
 * Bounded twice: at most `maxCandidates` candidate traces and `maxScanSpans` spans read per query;
 * reaching either ends the search early and `stoppedEarly` says why (the answer then holds the
 * matches among the candidates read).
 */
import type { Trace } from '../../model/span.js';
import type { TraceQuery, TraceReader } from '../../storage/api.js';
import { SpanBudget } from '../../storage/span-budget.js';
import type { TraceQLQuery } from './ast.js';
import { evaluateTrace, indexTrace, type TraceIndex, type TraceMatchResult } from './evaluate.js';
import { planCandidates } from './plan.js';
import { mayMatch, prefilterApplies } from './prefilter.js';

/** What the search needs from storage: two methods every backend has, and optional faster ones. */
export type CandidateReader = Pick<TraceReader, 'findTraceIds' | 'getTraces' | 'findCandidateTraceIds' | 'getTraceSkeletons'>;

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
  /** Newest first (trace start). */
  matches: TraceQLMatch[];
  /** Candidate traces checked (on skeletons or whole). */
  inspectedTraces: number;
  /** Of those, ruled out on their span skeletons without being read whole (prefilter.ts). */
  skeletonRejected: number;
  /** Spans read whole (what `maxScanSpans` bounds); skeleton spans are not counted. */
  inspectedSpans: number;
  narrowedBy: string[];
  /** Set when a bound ended the search before the candidates ran out. */
  stoppedEarly?: string;
}

/** Candidate ids read per getTraces call (a trace is dropped once evaluated: memory ~ one chunk). */
const READ_CHUNK = 64;
/**
 * Skeletons are given up after this many candidates when they ruled out less than this share of
 * them (the index already implies what they can check, e.g. a service term and attribute conditions).
 */
const SKELETON_TRIAL = 32;
const SKELETON_MIN_REJECTED = 0.25;

const newestFirst = (a: TraceQLMatch, b: TraceQLMatch) =>
  b.index.startUs - a.index.startUs || (a.index.trace.traceId < b.index.trace.traceId ? 1 : -1);

export async function searchTraceQL(reader: CandidateReader, q: TraceQLQuery, opts: TraceQLSearchOptions): Promise<TraceQLSearchResult> {
  const plan = planCandidates(q);
  const single = plan.queries.length === 1;
  const matches: TraceQLMatch[] = [];
  /** Evaluated candidates → their trace start (the threshold of a multi-query round). */
  const evaluated = new Map<string, number>();
  let inspectedSpans = 0;
  let skeletonRejected = 0;
  // Skeletons first when the store has them and they can rule anything out — and go on with them
  // only while they do: a skeleton read costs a third to a half of a whole read.
  let skeletons = reader.getTraceSkeletons && prefilterApplies(q) ? reader.getTraceSkeletons.bind(reader) : undefined;
  let skeletonChecked = 0;
  let stoppedEarly: string | undefined;
  let want = Math.min(Math.max(opts.limit * 2, 20), opts.maxCandidates);
  const done = (): TraceQLSearchResult => ({
    matches: matches.sort(newestFirst).slice(0, opts.limit),
    inspectedTraces: evaluated.size,
    skeletonRejected,
    inspectedSpans,
    narrowedBy: plan.narrowedBy,
    stoppedEarly,
  });

  /** Reads and evaluates `ids` in order; false when the scan bound stopped it (or, single query, `limit` matched). */
  const evaluate = async (ids: string[]): Promise<boolean> => {
    for (let i = 0; i < ids.length; i += READ_CHUNK) {
      let chunk = ids.slice(i, i + READ_CHUNK);
      if (skeletons) {
        // A trace without a skeleton (purged, or larger than what is left of the scan bound) is
        // read whole below, under the span budget, which deals with both.
        const maxSpansPerTrace = opts.maxScanSpans - inspectedSpans;
        const byId = new Map((await skeletons({ traceIds: chunk, maxSpansPerTrace })).map((t) => [t.traceId, t]));
        chunk = chunk.filter((id) => {
          const t = byId.get(id);
          if (!t || t.spans.length === 0) return true;
          skeletonChecked++;
          if (mayMatch(q, t)) return true;
          evaluated.set(id, Math.min(...t.spans.map((sp) => sp.startTimeUs)));
          skeletonRejected++;
          return false;
        });
        if (skeletonChecked >= SKELETON_TRIAL && skeletonRejected < skeletonChecked * SKELETON_MIN_REJECTED) skeletons = undefined;
        if (chunk.length === 0) continue;
      }
      const left = opts.maxScanSpans - inspectedSpans;
      if (left <= 0) { stoppedEarly = scanMessage(opts.maxScanSpans); return false; }
      const budget = new SpanBudget(left);
      const traces = await reader.getTraces({ traceIds: chunk }, budget);
      const byId = new Map<string, Trace>(traces.map((t) => [t.traceId, t]));
      for (const id of chunk) {
        if (budget.omittedTraceIds.includes(id) || budget.cutTraces.has(id)) {
          // Only part of the trace fits what is left of the scan: evaluating it would be inexact.
          stoppedEarly = scanMessage(opts.maxScanSpans);
          return false;
        }
        const trace = byId.get(id);
        if (!trace || trace.spans.length === 0) { evaluated.set(id, -Infinity); continue; } // purged since the ids were read
        inspectedSpans += trace.spans.length;
        const index = indexTrace(trace);
        evaluated.set(id, index.startUs);
        const m = evaluateTrace(q, index);
        if (m) {
          matches.push({ ...m, index });
          if (single && matches.length >= opts.limit) return false;
        }
      }
    }
    return true;
  };

  for (;;) {
    // Unconfirmed candidates when the store offers them: each is read and evaluated here anyway.
    const find = (tq: TraceQuery) => (reader.findCandidateTraceIds ? reader.findCandidateTraceIds(tq) : reader.findTraceIds(tq));
    const lists = await Promise.all(plan.queries.map((cq) => find({ ...cq, startTimeMinUs: opts.startUs, startTimeMaxUs: opts.endUs, limit: want })));
    const fresh = [...new Set(lists.flat())].filter((id) => !evaluated.has(id));
    if (!(await evaluate(fresh))) return done();
    const full = lists.filter((ids) => ids.length >= want);
    if (full.length === 0) return done(); // every candidate seen
    if (!single) {
      // Not read yet ⇒ no newer than the oldest candidate of some full query's prefix.
      // (Purged candidates have no start: they are left out of the minimum.)
      const threshold = Math.max(...full.map((ids) => Math.min(...ids.map((id) => evaluated.get(id) ?? -Infinity).filter(Number.isFinite))));
      if (matches.filter((m) => m.index.startUs > threshold).length >= opts.limit) return done();
    }
    if (want >= opts.maxCandidates) {
      stoppedEarly = `search stopped after ${evaluated.size} candidate traces (the most one TraceQL search reads); narrow the time range or add conditions on service, name or attributes`;
      return done();
    }
    want = Math.min(nextRoundSize(want, evaluated.size, matches.length, opts.limit), opts.maxCandidates);
  }
}

/**
 * The next round's candidate count: from the match rate so far, enough to reach `limit` with 50 %
 * to spare (each round re-walks the index from the newest candidate, so one round too many costs
 * about as much as the whole previous round), at least ×2 and at most ×16; ×8 with no match yet.
 */
export function nextRoundSize(want: number, evaluated: number, matched: number, limit: number): number {
  if (matched === 0) return want * 8;
  const estimate = evaluated + Math.ceil((1.5 * (limit - matched) * evaluated) / matched);
  return Math.min(Math.max(estimate, want * 2), want * 16);
}

const scanMessage = (max: number) =>
  `search stopped after reading ${max} spans (the most one TraceQL search reads); narrow the time range or add conditions on service, name or attributes`;
