/**
 * `findTraceIds` for the SQLite backend: candidates from indexes, confirmed exactly.
 *
 * Plan:
 * 1. Turn the query into terms: service+operation (or service alone), one per tag, or the
 *    any-span term when there is neither.
 * 2. Count each term's posting entries in the window (blocks, single entries, recent records),
 *    capped (the cost is one row per posting block, not per entry), and, with a duration bound, the traces in that duration range
 *    (`traces_by_duration`, capped). The smallest is the driver; unconfirmed (below) the duration
 *    range counts CONFIRM_WEIGHT times, since its candidates are still confirmed by their spans.
 * 3. Terms other than the driver with few entries become sets of trace numbers: a candidate
 *    missing from one is dropped without reading anything.
 * 4. Term driver: hour bucket by hour bucket, newest first, walk three sources of the term's
 *    entries, each newest first: its posting blocks and its single-entry postings (both in pages:
 *    keyset paging, since better-sqlite3 cannot run other statements while an iterator is open)
 *    and its records in `postings_recent` (read once per search, found by binary search).
 *    A source stops once `limit` traces are confirmed and it is older than the limit-th trace
 *    start: no later posting can belong to a more recent trace (a trace starts no later than any
 *    of its postings); the walk ends at a bucket older than that. Duration driver: read the
 *    traces in the duration range that overlap the window, newest first, and stop the same way
 *    once `limit` are confirmed.
 * 5. Confirm each new candidate: duration from the summary row; every predicate against the
 *    trace's spans (service, operation, each tag on a span of the service, span start in the
 *    window). A lone service/operation/any term whose posting starts inside the window needs no
 *    span reads: the posting's start is the start of a span carrying the term — unless that
 *    span may have been purged (posting older than the retention watermark) or rewritten with
 *    another operation or start (`moved_traces`).
 *    Results sorted by trace start, newest first.
 */
import type { TraceQuery } from '../api.js';
import type { Catalog } from './catalog.js';
import { decodeBlock, type PostingEntry } from './posting-block.js';
import type { PostingBlockRow, SingleRow, SpanRow, Statements, SummaryRow } from './queries.js';
import { recentOfTerm } from './recent-postings.js';
import { hourOf, HOUR_US } from './schema.js';
import { decodePayload } from './span-codec.js';
import { ANY_TERM, operationTerm, serviceTerm, spanOwnTagMatches, tagQueryTerm } from './terms.js';
import { validateTraceQuery } from '../trace-query.js';

/** Posting blocks per page (a block holds one batch's entries for a term). */
const PAGE = 32;
/** Single-entry postings per page. */
const SINGLE_PAGE = 256;
/** Duration ranges holding at least this many traces (over all time) are walked by start time. */
const START_SCAN_MIN = 2_000;
const START_PAGE = 256;
/** Counting stops here: beyond it a term is "common" and only useful as a driver of last resort. */
const COUNT_CAP = 100_000;
/** Terms with at most this many entries in the window filter candidates by set membership. */
const SET_CAP = 50_000;
/**
 * Unconfirmed (TraceQL), a term's candidate costs a summary row (the duration check) while a
 * duration candidate is still confirmed by reading all its spans — 20–50× more. So the duration
 * range drives only when it holds this many times fewer traces than the smallest term.
 */
const CONFIRM_WEIGHT = 16;

/** A trace found: its number, 16-byte id, start (µs) and span count (for a span budget, before any span is read). */
export interface FoundTrace { num: number; id: Buffer; startUs: number; spans: number }
type Found = FoundTrace;

/** What the search needs to know about the store besides its tables. */
export interface SearchContext {
  /**
   * Latest span start stored (µs), < 0 when empty. With the oldest trace start it clamps the
   * hour buckets visited, so a window like [0, ∞) costs no more than the data.
   */
  maxStartUs: number;
  /** Retention cutoff applied so far (µs): postings older than it may name purged spans. */
  watermarkUs: number;
  /** Traces whose postings may be stale after a rewrite: always confirmed. */
  movedTraces: ReadonlySet<number>;
}

/**
 * With `unconfirmed`, a trace found through a term's postings (step 4) is returned without
 * reading its spans (step 5's span checks are skipped; its duration is still checked): a superset
 * of the exact answer, the newest `limit` of the traces the index names. For callers that check
 * every candidate themselves (TraceQL reads each candidate's spans anyway). Traces found through
 * the duration index are still confirmed: the index says nothing about their terms.
 */
export function findTraceIds(st: Statements, catalog: Catalog, q: TraceQuery, ctx: SearchContext, unconfirmed = false): FoundTrace[] {
  const { maxStartUs } = ctx;
  validateTraceQuery(q);
  const wMin = q.startTimeMinUs;
  const wMax = q.startTimeMaxUs;
  if (wMin > wMax) return [];
  if (q.durationMinUs !== undefined && q.durationMaxUs !== undefined && q.durationMinUs > q.durationMaxUs) return [];

  const service = q.serviceName || undefined;
  const operation = q.operationName || undefined;
  const svc = service !== undefined ? catalog.serviceByName(service) : undefined;
  if (service !== undefined && !svc) return [];
  const tags = Object.entries(q.tags ?? {});

  const terms: number[] = [];
  if (service !== undefined) terms.push(operation !== undefined ? operationTerm(service, operation) : serviceTerm(service));
  for (const [k, v] of tags) terms.push(tagQueryTerm(k, v));
  if (terms.length === 0) terms.push(ANY_TERM);
  // A posting proves its own term; tags (service constraint) and a bare operation need the spans.
  const needSpans = tags.length > 0 || (operation !== undefined && service === undefined);

  const oldest = st.oldestStart.get() as number | null;
  if (oldest === null || maxStartUs < 0) return [];
  const hiBucket = Math.min(hourOf(wMax), hourOf(maxStartUs));
  const loBucket = Math.max(hourOf(wMin), hourOf(oldest));
  if (loBucket > hiBucket) return [];
  const hasDuration = q.durationMinUs !== undefined || q.durationMaxUs !== undefined;
  const durMin = q.durationMinUs ?? 0;
  const durMax = q.durationMaxUs ?? Number.MAX_SAFE_INTEGER;

  // Entries of the last batches, not merged into the posting tables yet (recent-postings.ts).
  const recent = recentByTerm(st, terms);
  // Plan: the smallest source drives; other small terms filter by set membership.
  const durationCount = hasDuration ? (st.durationCount.get(durMin, durMax, COUNT_CAP) as number) : Infinity;
  const durationCost = durationCount * (unconfirmed ? CONFIRM_WEIGHT : 1);
  // Counting stops at the cap: past the duration range's (weighted) size a term cannot drive, so
  // there is no point reading its postings further (at 10 M spans a service term holds ~100k entries).
  const countCap = Math.min(COUNT_CAP, durationCost + 1);
  const counts = terms.length === 1 && !hasDuration
    ? [0]
    : terms.map((t) => countEntries(st, t, loBucket, hiBucket, wMin, wMax, countCap, recent.get(t)!));
  let driverIdx = 0;
  for (let i = 1; i < terms.length; i++) if (counts[i] < counts[driverIdx]) driverIdx = i;
  const byDuration = durationCost < counts[driverIdx];
  const filters: Set<number>[] = [];
  for (let i = 0; i < terms.length; i++) {
    // A count at the cap is a lower bound: the term may be far larger than SET_CAP.
    if ((i !== driverIdx || byDuration) && counts[i] <= SET_CAP && counts[i] < countCap && terms[i] !== ANY_TERM) {
      filters.push(termTraces(st, terms[i], loBucket, hiBucket, wMin, wMax, recent.get(terms[i])!));
    }
  }

  const found: Found[] = [];
  const seen = new Set<number>();
  let threshold = -Infinity; // start of the limit-th most recent confirmed trace
  /** Confirms a new candidate; `proven` = its span predicates are known to hold. */
  const consider = (num: number, proven: boolean) => {
    if (seen.has(num)) return;
    seen.add(num);
    for (const f of filters) if (!f.has(num)) return;
    const sum = st.summary.get(num) as SummaryRow | undefined;
    if (!sum) return; // posting left behind by a purge
    const dur = sum.end_us - sum.start_us;
    if (dur < durMin || dur > durMax) return;
    if (!(proven && !ctx.movedTraces.has(num)) && !confirm(st, catalog, num, q, svc?.id, tags)) return;
    found.push({ num, id: sum.trace_id, startUs: sum.start_us, spans: sum.span_count });
    if (found.length >= q.limit) {
      found.sort(byStartDesc);
      found.length = q.limit;
      threshold = found[q.limit - 1].startUs;
    }
  };

  if (byDuration && durationCount < START_SCAN_MIN) {
    // Newest first: once `limit` traces are confirmed, a candidate starting before the limit-th
    // cannot enter the result (ties are still considered, `finish` orders them by id).
    for (const r of st.tracesByDuration.all(durMin, durMax, wMax, wMin) as { id: number; start_us: number }[]) {
      if (found.length >= q.limit && r.start_us < threshold) break;
      consider(r.id, false);
    }
    return finish(found, q.limit);
  }
  if (byDuration) {
    // A common duration range (thousands of traces): collecting all of them in the window and
    // sorting them cost most of the search at 10 M spans (p50 67 ms). Walk the traces newest
    // first along traces_by_start instead, a page at a time, and stop as above: for a range
    // holding a fraction p of the traces, about limit / p rows are read. A trace overlapping the
    // window started at most durMax before it.
    const lowest = Math.max(0, wMin - durMax);
    let keyStart = wMax + 1;
    let keyId = 0;
    for (;;) {
      const rows = st.tracesByStartPage.all(lowest, keyStart, keyId, durMin, durMax, wMin, START_PAGE) as { id: number; start_us: number }[];
      for (const r of rows) {
        if (found.length >= q.limit && r.start_us < threshold) return finish(found, q.limit);
        consider(r.id, false);
      }
      if (rows.length < START_PAGE) break;
      keyStart = rows[rows.length - 1].start_us;
      keyId = rows[rows.length - 1].id;
    }
    return finish(found, q.limit);
  }

  const driver = terms[driverIdx];
  // Unconfirmed: a posting of the driver in the window (and membership of the filter sets) is enough.
  const lone = unconfirmed || (!needSpans && terms.length === 1);
  const full = () => found.length >= q.limit;
  for (let bucket = hiBucket; bucket >= loBucket; bucket--) {
    const base = bucket * HOUR_US;
    const maxStartOff = Math.min(wMax - base, HOUR_US - 1);
    const minEndOff = wMin - base;
    // The bucket's blocks, then its single-entry postings, each newest first: a source stops
    // once it is older than the limit-th confirmed trace.
    let curMax = HOUR_US; // keyset bound (max_off, seq) < (curMax, curSeq); max_off < HOUR_US
    let curSeq = 0;
    blocks: for (;;) {
      const blocks = st.postingBlocks.all(bucket, driver, curMax, curSeq, maxStartOff, minEndOff, PAGE) as PostingBlockRow[];
      for (const block of blocks) {
        // Later blocks hold entries no newer than this block's newest.
        if (full() && base + block.max_off < threshold) break blocks;
        for (const e of decodeBlock(block.entries)) {
          if (e.startOff > maxStartOff || e.startOff + e.spreadUs < minEndOff) continue;
          const postingStart = base + e.startOff;
          if (full() && postingStart < threshold) break; // entries are newest first
          consider(e.trace, lone && postingStart >= wMin && postingStart >= ctx.watermarkUs);
        }
      }
      if (blocks.length < PAGE) break;
      const last = blocks[blocks.length - 1];
      curMax = last.max_off;
      curSeq = last.seq;
    }
    let curOff = HOUR_US; // keyset bound (off, trace) < (curOff, curTrace)
    let curTrace = 0;
    singles: for (;;) {
      const rows = st.singles.all(bucket, driver, curOff, curTrace, maxStartOff, minEndOff - HOUR_US, SINGLE_PAGE) as SingleRow[];
      for (const r of rows) {
        const postingStart = base + r.off;
        if (full() && postingStart < threshold) break singles;
        if (r.off + r.spread < minEndOff) continue;
        consider(r.trace, lone && postingStart >= wMin && postingStart >= ctx.watermarkUs);
      }
      if (rows.length < SINGLE_PAGE) break;
      curOff = rows[rows.length - 1].off;
      curTrace = rows[rows.length - 1].trace;
    }
    for (const e of recent.get(driver)!.get(bucket) ?? []) {
      const postingStart = base + e.startOff;
      if (full() && postingStart < threshold) break; // newest first
      if (e.startOff > maxStartOff || e.startOff + e.spreadUs < minEndOff) continue;
      consider(e.trace, lone && postingStart >= wMin && postingStart >= ctx.watermarkUs);
    }
    // Older buckets hold only older postings.
    if (full() && base < threshold) break;
  }
  return finish(found, q.limit);
}

const byStartDesc = (a: Found, b: Found) => b.startUs - a.startUs || Buffer.compare(b.id, a.id);

function finish(found: Found[], limit: number): Found[] {
  found.sort(byStartDesc);
  return found.slice(0, limit);
}

type RecentOfTerm = Map<number, PostingEntry[]>;

/** Each term's entries in `postings_recent`: bucket → entries, newest first. */
function recentByTerm(st: Statements, terms: number[]): Map<number, RecentOfTerm> {
  const out = new Map<number, RecentOfTerm>();
  const rows = st.recentEntries.all() as Buffer[];
  for (const term of terms) {
    if (out.has(term)) continue;
    const byBucket: RecentOfTerm = new Map();
    for (const blob of rows) {
      for (const r of recentOfTerm(blob, term)) {
        const list = byBucket.get(r.bucket);
        if (list) list.push(r); else byBucket.set(r.bucket, [r]);
      }
    }
    for (const list of byBucket.values()) list.sort((a, b) => b.startOff - a.startOff);
    out.set(term, byBucket);
  }
  return out;
}

/** Posting entries of `term` in the window, counted up to about `cap`. */
function countEntries(st: Statements, term: number, lo: number, hi: number, wMin: number, wMax: number, cap: number, recent: RecentOfTerm): number {
  let n = 0;
  for (let b = hi; b >= lo && n < cap; b--) {
    const base = b * HOUR_US;
    const maxStartOff = Math.min(wMax - base, HOUR_US - 1);
    for (const e of recent.get(b) ?? []) if (e.startOff <= maxStartOff && e.startOff + e.spreadUs >= wMin - base) n++;
    n += st.postingsCount.get(b, term, maxStartOff, wMin - base, cap - n) as number;
    if (n < cap) n += st.singlesCount.get(b, term, maxStartOff, wMin - base - HOUR_US, wMin - base, cap - n) as number;
  }
  return n;
}

/** Trace numbers with a posting of `term` overlapping the window. */
function termTraces(st: Statements, term: number, lo: number, hi: number, wMin: number, wMax: number, recent: RecentOfTerm): Set<number> {
  const out = new Set<number>();
  for (let b = hi; b >= lo; b--) {
    const base = b * HOUR_US;
    const maxStartOff = Math.min(wMax - base, HOUR_US - 1);
    const minEndOff = wMin - base;
    for (const e of recent.get(b) ?? []) if (e.startOff <= maxStartOff && e.startOff + e.spreadUs >= minEndOff) out.add(e.trace);
    for (const block of st.postingBlocksAll.all(b, term, maxStartOff, minEndOff) as { entries: Buffer }[]) {
      for (const e of decodeBlock(block.entries)) {
        if (e.startOff <= maxStartOff && e.startOff + e.spreadUs >= minEndOff) out.add(e.trace);
      }
    }
    let curOff = HOUR_US;
    let curTrace = 0;
    for (;;) {
      const rows = st.singles.all(b, term, curOff, curTrace, maxStartOff, minEndOff - HOUR_US, SINGLE_PAGE) as SingleRow[];
      for (const r of rows) if (r.off + r.spread >= minEndOff) out.add(r.trace);
      if (rows.length < SINGLE_PAGE) break;
      curOff = rows[rows.length - 1].off;
      curTrace = rows[rows.length - 1].trace;
    }
  }
  return out;
}

/** Exact check of the service/operation/tag predicates against the trace's spans. */
function confirm(
  st: Statements, catalog: Catalog, trace: number, q: TraceQuery,
  serviceId: number | undefined, tags: [string, string][],
): boolean {
  const rows = st.traceSpans.all(trace) as SpanRow[];
  const inWindow = (r: SpanRow) => r.start_us >= q.startTimeMinUs && r.start_us <= q.startTimeMaxUs;
  const ofService = (r: SpanRow) => serviceId === undefined || catalog.operationById(r.op_id)!.serviceId === serviceId;

  if (serviceId !== undefined || q.operationName) {
    const ok = rows.some((r) => inWindow(r) && ofService(r) && (!q.operationName || catalog.operationById(r.op_id)!.name === q.operationName));
    if (!ok) return false;
  } else if (tags.length === 0 && !rows.some(inWindow)) {
    return false;
  }
  if (tags.length === 0) return true;

  const candidates = rows.filter((r) => inWindow(r) && ofService(r));
  const decoded = new Map<SpanRow, ReturnType<typeof decodePayload>>();
  for (const [key, value] of tags) {
    const ok = candidates.some((r) => {
      if (catalog.resourceById(r.resource_id)?.tags.get(key)?.has(value)) return true;
      let p = decoded.get(r);
      if (!p) decoded.set(r, (p = decodePayload(r.payload, r.start_us, catalog)));
      const op = catalog.operationById(r.op_id)!;
      return spanOwnTagMatches({ attributes: p.attributes, events: p.events, kind: op.kind, status: { code: r.status as 0 | 1 | 2, message: '' } }, key, value);
    });
    if (!ok) return false;
  }
  return true;
}
