/**
 * The write path: one call = one batch = run inside one transaction by the caller. Its input is
 * one or more prepared batches (prepared-batch.ts): spans already validated, grouped by trace and
 * de-duplicated, with keys, parents, tag terms and payloads computed ahead (in the all-in-one
 * server on the main thread); what is left here depends on the store — catalog numbers, trace
 * numbers, stored spans, postings, dependency edges and span metrics.
 *
 * Per span: one row, in multi-row INSERTs of `SPAN_CHUNK` rows for traces new to the store (no
 * conflict possible), with parent links resolved in memory; for a trace with stored spans one
 * INSERT each, one parent lookup by primary key and one pending-children lookup (and, when the
 * INSERT found the row, the rewrite path). Per trace per batch: one summary
 * UPSERT. Per batch: one `postings_recent` row holding every (hour, term, trace) entry, merged
 * into posting blocks / single-entry rows every `mergeLimits` batches; dependency increments
 * summed in memory and written once per (hour, parent, child).
 *
 * Dependency edges: a parent→child pair is counted exactly once, when the second of the two
 * spans is written (child first: it waits in `pending_edges` until the parent arrives). A rewrite
 * that changes a span's service, start hour or error status moves its edge as a child; edges
 * where it is the parent keep the old attribution (documented limitation, rewrites of that kind
 * do not happen with well-behaved SDKs).
 */
import { SpanKind, StatusCode } from '../../model/span.js';
import type { Catalog, ResourceEntry } from './catalog.js';
import { newPreparedSpan, PreparedBatchReader, type PreparedSpan, readSpan } from './prepared-batch.js';
import { type OldSpanRow, type PendingRow, SINGLE_CHUNK, SPAN_CHUNK, SPAN_COLUMNS, type Statements } from './queries.js';
import { hourOf, HOUR_US } from './schema.js';
import { encodeBlock, type PostingEntry } from './posting-block.js';
import { RECORD_BYTES, RecentPostingsBuilder } from './recent-postings.js';
import { MERGE_EVERY_ROWS, mergeRecentMetrics, SpanMetricsAccumulator } from './span-metrics.js';
import { PayloadEncoder } from './span-codec.js';
import { ANY_TERM, operationTerm, serviceTerm } from './terms.js';

interface TermSpan { min: number; max: number }

interface TraceAgg {
  trace: number;
  minStart: number;
  maxEnd: number;
  added: number;
  rootOpId: number | null;
  recompute: boolean;
  /** hour → term → its entry in the batch's `RecentPostingsBuilder` */
  terms: Map<number, Map<number, number>>;
  /** hour → resource → earliest/latest start of the spans of that resource */
  resources: Map<number, Map<ResourceEntry, TermSpan>>;
}

/**
 * Where the terms of the trace and hour being written are noted: one posting entry per
 * (trace, hour, term) in the batch's builder, widened by each further span carrying the term.
 */
class TermNotes {
  /** term → entry index, for `trace` in `hour`. */
  terms!: Map<number, number>;
  hour = 0;
  trace = 0;
  constructor(readonly recent: RecentPostingsBuilder) {}
  at(terms: Map<number, number>, hour: number, trace: number): void {
    this.terms = terms;
    this.hour = hour;
    this.trace = trace;
  }
  note(term: number, start: number): void {
    const i = this.terms.get(term);
    if (i === undefined) this.terms.set(term, this.recent.add(this.hour, term, start, this.trace));
    else this.recent.widen(i, start);
  }
}

const SEQ_KEY = 'posting_seq';
const TRACE_NUM_KEY = 'trace_num_hwm';
const MAX_START_KEY = 'max_start_us';
/**
 * `postings_recent` is merged into the posting tables once it holds `rows` batches or `entries`
 * entries (a search reads all of them: 24 B each, ≤ ~1 MB). Mutable for tests only.
 */
export const mergeLimits = { rows: 64, entries: 40_000 };

export class BatchWriter {
  /** Batch number: the tiebreak in posting block keys, persisted so it survives a restart. */
  private seq: number;
  /**
   * Next trace number. Allocated here rather than by SQLite so that numbers are never reused
   * (SQLite would reuse the largest after it is deleted) — a stale posting must never point at
   * another trace. The high-water mark is persisted with every batch.
   */
  private nextTraceNum: number;
  /** Traces whose postings may be stale (see `moved_traces` in schema.ts). Read-only outside. */
  readonly movedTraces: Set<number>;
  /** Latest span start ever written (µs), -1 when none; bounds the hour buckets a search visits. Read-only outside. */
  maxStartUs: number;
  /**
   * Rows and entries in `postings_recent` (counted at open; after a rolled-back batch they may
   * overestimate, which only merges a little early).
   */
  private recentRows: number;
  private recentEntries: number;
  /** Rows in `span_metrics_recent` (counted at open and after a rolled-back batch). */
  private metricsRecentRows: number;
  private readonly payloads: PayloadEncoder;
  /** The current batch's postings (one `postings_recent` row). */
  private readonly recent = new RecentPostingsBuilder();
  private readonly notes = new TermNotes(this.recent);
  /**
   * What ops and resources of earlier batches resolved to, by their number in the preparing
   * `PrepareCache` (prepared-batch.ts) of epoch `epoch`. Forgotten with the catalog's numbers.
   */
  private epoch = -1;
  private readonly knownOps = new Map<number, BatchOp>();
  private readonly knownResources = new Map<number, ResourceEntry>();
  /** Spans of the trace being written (reused from trace to trace). */
  private readonly recs: SpanRec[] = [];
  /** Parameters of spans waiting for the next multi-row INSERT (`SPAN_CHUNK` rows). */
  private readonly spanParams: unknown[] = [];
  /** service number → operation name → by kind (see `operation`). */
  private readonly opCache = new Map<number, Map<string, (OpSlot | undefined)[]>>();

  constructor(private readonly st: Statements, private readonly catalog: Catalog) {
    this.payloads = new PayloadEncoder(catalog);
    const recent = st.recentCount.get() as { rows: number; entries: number | null };
    this.recentRows = recent.rows;
    this.recentEntries = recent.entries ?? 0;
    this.metricsRecentRows = st.spanMetrics.recentCount.get() as number;
    this.seq = Number(st.getMeta.get(SEQ_KEY) ?? 0);
    this.movedTraces = new Set(st.allMoved.all() as number[]);
    this.nextTraceNum = Math.max(Number(st.getMeta.get(TRACE_NUM_KEY) ?? 0), Number(st.maxTraceNum.get() ?? 0)) + 1;
    // A file without the key (older writer): every span starts before its trace ends. One scan of
    // the per-trace rows at open.
    this.maxStartUs = Number(st.getMeta.get(MAX_START_KEY) ?? st.maxTraceEnd.get() ?? -1);
  }

  /**
   * Writes prepared batches (prepared-batch.ts) as one: must run inside a transaction; throws on
   * a malformed batch before writing.
   */
  write(batches: readonly Uint8Array[]): void {
    // A batch whose commit failed after `write` returned left `seq` ahead of the database.
    const committedSeq = Number(this.st.getMeta.get(SEQ_KEY) ?? 0);
    if (committedSeq !== this.seq) {
      this.seq = committedSeq;
      this.forgetCaches();
    }
    try {
      this.writeBatch(batches);
    } catch (err) {
      this.forgetCaches();
      throw err;
    }
  }

  /**
   * After a rolled-back batch the catalog reloads (sqlite-storage.ts) and may hand out the
   * numbers of names interned in it again for other names: drop everything remembered here.
   */
  private forgetCaches(): void {
    this.opCache.clear();
    this.knownOps.clear();
    this.knownResources.clear();
    this.payloads.forgetIds();
    const recent = this.st.recentCount.get() as { rows: number; entries: number | null };
    this.recentRows = recent.rows;
    this.recentEntries = recent.entries ?? 0;
    this.metricsRecentRows = this.st.spanMetrics.recentCount.get() as number;
  }

  /**
   * The catalog entry of an operation with its service and operation terms, without the
   * catalog's string key while `start` is before the entry's last-seen hour.
   */
  private operation(svcId: number, service: string, name: string, kind: SpanKind, start: number): OpSlot {
    let byName = this.opCache.get(svcId);
    if (!byName) this.opCache.set(svcId, (byName = new Map()));
    let byKind = byName.get(name);
    if (!byKind) byName.set(name, (byKind = []));
    let slot = byKind[kind];
    if (!slot) byKind[kind] = slot = { id: 0, lastSeenUs: -Infinity, svcTerm: serviceTerm(service), opTerm: operationTerm(service, name) };
    if (start >= slot.lastSeenUs) {
      slot.id = this.catalog.operationId(svcId, name, kind, start);
      slot.lastSeenUs = this.catalog.operationById(slot.id)!.lastSeenUs;
    }
    return slot;
  }

  private writeBatch(batches: readonly Uint8Array[]): void {
    // Every table is read (and checked) before anything is written.
    const readers = batches.map((b) => new PreparedBatchReader(b));
    const deps = new Map<string, [number, number, number, number, number]>();
    const red = new SpanMetricsAccumulator();
    const addEdge: AddEdge = (bucket, parentSvc, childSvc, isError, sign) => {
      if (parentSvc === childSvc) return;
      const key = `${bucket}:${parentSvc}:${childSvc}`;
      const d = deps.get(key);
      if (d) { d[3] += sign; d[4] += sign * isError; } else deps.set(key, [bucket, parentSvc, childSvc, sign, sign * isError]);
    };
    const notes = this.notes;
    this.recent.reset();
    this.payloads.reset();
    this.spanParams.length = 0;
    /** trace → hour → term → entry: a trace in two batches of this write keeps one entry per term and hour. */
    const traceTerms = new Map<number, Map<number, Map<number, number>>>();
    let maxStart = this.maxStartUs;

    for (const r of readers) {
      // The batch's ops and resources resolved in the catalog once each (then only when a span
      // starts past the hour they were last seen in); its keys and interned values by the payloads.
      // Ops and resources numbered by the same PrepareCache as earlier batches: as resolved then.
      if (r.epoch !== this.epoch) {
        this.epoch = r.epoch;
        this.knownOps.clear();
        this.knownResources.clear();
      }
      const ops: (BatchOp | undefined)[] = new Array(r.ops.length / 4);
      const resources: (ResourceEntry | undefined)[] = new Array(r.resources.length / 2);
      const keyIds = new Int32Array(r.strStart.length).fill(-1);
      const pairIds = new Int32Array(r.pairs.length / 2).fill(-2);
      for (let t = 0; t < r.traces; t++) {
        const tid = r.view(16);
        const n = r.u();
        const stored = this.st.traceNum.get(tid) as number | undefined;
        const isNewTrace = stored === undefined;
        // Its spans queued for a multi-row INSERT (the same trace in an earlier batch of this write)
        // must be in the table before this trace's lookups and conflict checks.
        if (!isNewTrace && this.spanParams.length > 0) this.flushSpans();
        const trace = stored ?? this.nextTraceNum++;
        let terms = traceTerms.get(trace);
        if (!terms) traceTerms.set(trace, (terms = new Map()));
        const agg: TraceAgg = { trace, minStart: Infinity, maxEnd: -Infinity, added: 0, rootOpId: null, recompute: false, terms, resources: new Map() };

        const recs = this.recs;
        while (recs.length < n) recs.push({ ...newPreparedSpan(), svcId: 0, opId: 0, slot: undefined!, resEntry: undefined! });
        for (let i = 0; i < n; i++) {
          const rec = recs[i];
          readSpan(r, rec);
          const start = rec.start;
          if (start > maxStart) maxStart = start;
          let op = ops[rec.op] ?? (ops[rec.op] = this.knownOps.get(r.ops[rec.op * 4]));
          if (!op) {
            const service = r.string(r.ops[rec.op * 4 + 1]);
            const name = r.string(r.ops[rec.op * 4 + 2]);
            const kind = r.ops[rec.op * 4 + 3] as SpanKind;
            const svcId = this.catalog.serviceId(service, start);
            op = ops[rec.op] = { service, name, kind, svcId, svcSeenUs: this.catalog.serviceById(svcId)!.lastSeenUs, slot: this.operation(svcId, service, name, kind, start) };
            this.knownOps.set(r.ops[rec.op * 4], op);
          } else {
            if (start >= op.svcSeenUs) {
              op.svcId = this.catalog.serviceId(op.service, start);
              op.svcSeenUs = this.catalog.serviceById(op.svcId)!.lastSeenUs;
            }
            if (start >= op.slot.lastSeenUs) this.operation(op.svcId, op.service, op.name, op.kind, start);
          }
          let res = resources[rec.res] ?? (resources[rec.res] = this.knownResources.get(r.resources[rec.res * 2]));
          if (!res) {
            res = resources[rec.res] = this.catalog.resourceOf(r.string(r.resources[rec.res * 2 + 1]), start);
            this.knownResources.set(r.resources[rec.res * 2], res);
          } else if (start >= res.lastSeenUs) this.catalog.resourceOf(r.string(r.resources[rec.res * 2 + 1]), start);
          rec.svcId = op.svcId;
          rec.slot = op.slot;
          rec.opId = op.slot.id;
          rec.resEntry = res;
        }
        const afterTrace = r.o;

        for (let i = 0; i < n; i++) {
          const rec = recs[i];
          const { svcId, opId, slot, resEntry: res, sid, pid, start } = rec;
          const isError = rec.status === StatusCode.ERROR ? 1 : 0;
          const payload = this.payloads.transcode(r, rec.payloadAt, rec.payloadEnd, keyIds, pairIds);
          if (isNewTrace) {
            // New trace: no row can conflict, so spans go in multi-row INSERTs.
            this.queueSpan(trace, sid, pid, opId, res.id, start, rec.duration, rec.flags, rec.status, payload);
            agg.added++;
            red.add(svcId, opId, start, rec.duration, isError);
            if (pid) {
              if (rec.parentIdx >= 0) addEdge(hourOf(start), recs[rec.parentIdx].svcId, svcId, isError, 1);
              else this.st.insertPending.run(trace, pid, sid, svcId, start, isError);
            } else {
              agg.rootOpId = opId;
            }
          } else {
            const inserted = this.st.insertSpan.run(trace, sid, pid, opId, res.id, start, rec.duration, rec.flags, rec.status, payload).changes;
            // A rewrite of a stored span keeps its first figures: counting it again would double it.
            if (inserted) red.add(svcId, opId, start, rec.duration, isError);
            this.linkStoredTrace(trace, rec, { svcId, opId, res, sid, pid, isError, payload, inserted }, agg, addEdge);
          }

          if (start < agg.minStart) agg.minStart = start;
          if (start + rec.duration > agg.maxEnd) agg.maxEnd = start + rec.duration;
          const hour = hourOf(start);
          let hourTerms = terms.get(hour);
          if (!hourTerms) terms.set(hour, (hourTerms = new Map()));
          notes.at(hourTerms, hour, trace);
          notes.note(ANY_TERM, start);
          notes.note(slot.svcTerm, start);
          notes.note(slot.opTerm, start);
          // Resource terms: noted once per resource here, expanded to its terms after the trace.
          let resSpans = agg.resources.get(hour);
          if (!resSpans) agg.resources.set(hour, (resSpans = new Map()));
          const rs = resSpans.get(res);
          if (!rs) resSpans.set(res, { min: start, max: start });
          else { if (start < rs.min) rs.min = start; if (start > rs.max) rs.max = start; }
          // The span's own tags, hashed when the batch was prepared.
          const b = r.b;
          for (let k = 0, o = rec.termsAt; k < rec.terms; k++, o += 6) notes.note(b.readUIntLE(o, 6), start);
        }
        r.o = afterTrace;
        for (const [hour, resSpans] of agg.resources) {
          notes.at(terms.get(hour)!, hour, trace);
          for (const [res, rs] of resSpans) {
            for (const t of res.terms) { notes.note(t, rs.min); notes.note(t, rs.max); }
          }
        }

        if (isNewTrace) this.st.insertSummary.run(trace, tid, agg.minStart, agg.maxEnd, agg.added, agg.rootOpId);
        else this.st.updateSummary.run(agg.minStart, agg.maxEnd, agg.added, agg.rootOpId, trace);
        if (agg.recompute) this.st.recomputeSummary.run(trace, trace);
      }
      r.end();
    }

    this.flushSpans();
    const seq = ++this.seq;
    const recent = this.recent.encode();
    if (recent.n > 0) {
      this.st.insertRecent.run(seq, recent.maxBucket, recent.n, recent.blob);
      this.recentRows++;
      this.recentEntries += recent.n;
      if (this.recentRows >= mergeLimits.rows || this.recentEntries >= mergeLimits.entries) this.mergeRecent(seq);
    }
    this.st.setMeta.run(SEQ_KEY, seq);
    this.st.setMeta.run(TRACE_NUM_KEY, this.nextTraceNum - 1);
    if (maxStart > this.maxStartUs) {
      this.st.setMeta.run(MAX_START_KEY, maxStart);
      // Only after the statement succeeded; a rolled-back batch leaves a harmless overestimate.
      this.maxStartUs = maxStart;
    }

    for (const [bucket, p, c, calls, errors] of deps.values()) {
      if (calls === 0 && errors === 0) continue;
      this.st.addDependency.run(bucket, p, c, calls, errors);
      if (calls < 0) this.st.deleteEmptyDependency.run(bucket, p, c);
    }
    this.metricsRecentRows += red.flush(this.st.spanMetrics);
    if (this.metricsRecentRows >= MERGE_EVERY_ROWS) {
      mergeRecentMetrics(this.st.spanMetrics, (opId) => this.catalog.operationById(opId)?.serviceId);
      this.metricsRecentRows = 0;
    }
  }
  private queueSpan(
    trace: number, sid: Buffer, pid: Buffer | null, opId: number, resId: number, start: number,
    duration: number, flags: number, status: number, payload: Buffer | null,
  ): void {
    const p = this.spanParams;
    p.push(trace, sid, pid, opId, resId, start, duration, flags, status, payload);
    if (p.length === SPAN_CHUNK * SPAN_COLUMNS) this.flushSpans();
  }

  /** Inserts the queued spans: chunks of 2^k rows, largest first. */
  private flushSpans(): void {
    const p = this.spanParams;
    const rows = p.length / SPAN_COLUMNS;
    let done = 0;
    for (let k = this.st.insertSpans.length - 1; k >= 0; k--) {
      const n = 2 ** k;
      while (rows - done >= n) {
        this.st.insertSpans[k].run(n === rows ? p : p.slice(done * SPAN_COLUMNS, (done + n) * SPAN_COLUMNS));
        done += n;
      }
    }
    p.length = 0;
    this.payloads.reset(); // the payload views were bound (copied) by the INSERTs
  }

  /**
   * Moves every row of `postings_recent` into `postings` (a term carried by several traces: one
   * block) and `postings_single` (one trace), in key order; a trace's entries for one term and
   * hour from several batches collapse into one. `seq` = the block key's tiebreak.
   */
  private mergeRecent(seq: number): void {
    const rows = this.st.recentAll.all() as { seq: number; entries: Buffer }[];
    // A k-way merge of the rows (each sorted by term, bucket descending): one (term, bucket)
    // group at a time, no per-entry maps.
    const k = rows.length;
    const bufs = rows.map((r) => r.entries);
    const ends = bufs.map((b) => b.length);
    const pos = new Array<number>(k).fill(0); // byte offsets
    const headTerm = new Float64Array(k);
    const headBucket = new Float64Array(k);
    const load = (i: number) => {
      if (pos[i] < ends[i]) {
        headTerm[i] = bufs[i].readUIntLE(pos[i], 6);
        headBucket[i] = bufs[i].readUInt32LE(pos[i] + 6);
      } else headTerm[i] = Infinity;
    };
    for (let i = 0; i < k; i++) load(i);
    const singles: number[] = [];
    const group: PostingEntry[] = [];
    for (;;) {
      let term = Infinity;
      let bucket = -1;
      for (let i = 0; i < k; i++) {
        if (headTerm[i] < term || (headTerm[i] === term && headBucket[i] > bucket)) { term = headTerm[i]; bucket = headBucket[i]; }
      }
      if (term === Infinity) break;
      group.length = 0;
      let fromRows = 0;
      for (let i = 0; i < k; i++) {
        if (headTerm[i] !== term || headBucket[i] !== bucket) continue;
        fromRows++;
        const b = bufs[i];
        let o = pos[i];
        while (o < ends[i] && b.readUIntLE(o, 6) === term && b.readUInt32LE(o + 6) === bucket) {
          group.push({ startOff: b.readUInt32LE(o + 10), spreadUs: b.readUInt32LE(o + 14), trace: b.readUIntLE(o + 18, 6) });
          o += RECORD_BYTES;
        }
        pos[i] = o;
        load(i);
      }
      // A trace's entries of the same term and hour from several batches collapse into one.
      const entries = fromRows > 1 ? collapseByTrace(group) : group;
      if (entries.length === 1) {
        const e = entries[0];
        singles.push(bucket, term, e.startOff, e.trace, e.spreadUs);
        if (singles.length === SINGLE_CHUNK * 5) {
          this.st.insertSinglesChunk.run(singles);
          singles.length = 0;
        }
        continue;
      }
      const blob = encodeBlock(entries); // sorts newest first
      let maxEnd = 0;
      for (const e of entries) if (e.startOff + e.spreadUs > maxEnd) maxEnd = e.startOff + e.spreadUs;
      const maxOff = entries[0].startOff;
      this.st.insertPostingBlock.run(bucket, term, maxOff, seq, maxOff - entries[entries.length - 1].startOff, maxEnd - maxOff, entries.length, blob);
    }
    for (let i = 0; i < singles.length; i += 5) this.st.insertSingle.run(singles[i], singles[i + 1], singles[i + 2], singles[i + 3], singles[i + 4]);
    if (k > 0) this.st.deleteRecentUpTo.run(rows[k - 1].seq);
    this.recentRows = 0;
    this.recentEntries = 0;
  }

  /**
   * Stores-side bookkeeping for a span of a trace that already has stored spans: counts edges
   * against stored parents/children, or handles a rewrite (the INSERT found the row).
   */
  private linkStoredTrace(
    trace: number, s: PreparedSpan,
    r: { svcId: number; opId: number; res: ResourceEntry; sid: Buffer; pid: Buffer | null; isError: number; payload: Buffer | null; inserted: number },
    agg: TraceAgg, addEdge: AddEdge,
  ): void {
    const { svcId, opId, res, sid, pid, isError, payload } = r;
    const start = s.start;
    if (r.inserted === 1) {
      agg.added++;
      // As a parent: children that arrived first are waiting for this span.
      const asParent = spanIdOfKey(sid);
      const waiting = this.st.pendingChildren.all(trace, asParent) as PendingRow[];
      if (waiting.length) {
        for (const c of waiting) addEdge(hourOf(c.start_us), svcId, c.service_id, c.is_error, 1);
        this.st.deletePendingChildren.run(trace, asParent);
      }
    } else {
      // Rewrite: replace the row, undo its old edge as a child, recompute the summary.
      const old = this.st.oldSpan.get(trace, sid) as OldSpanRow;
      this.st.updateSpan.run(pid, opId, res.id, start, s.duration, s.flags, s.status, payload, trace, sid);
      agg.recompute = true;
      if (old.op_id !== opId || old.start_us !== start) {
        this.st.insertMoved.run(trace);
        this.movedTraces.add(trace); // kept if the batch rolls back: only costs a confirmation
      }
      if (old.parent_id) {
        const oldSvc = this.catalog.operationById(old.op_id)!.serviceId;
        const parentOp = this.st.spanOp.get(trace, old.parent_id, Buffer.concat([old.parent_id, SERVER_SIDE])) as number | undefined;
        if (parentOp !== undefined) {
          addEdge(hourOf(old.start_us), this.catalog.operationById(parentOp)!.serviceId, oldSvc, old.status === StatusCode.ERROR ? 1 : 0, -1);
        } else {
          this.st.deletePendingOne.run(trace, old.parent_id, sid);
        }
      }
    }
    // As a child: count the edge now if the parent is stored, else wait for it.
    if (pid) {
      const parentOp = this.st.spanOp.get(trace, pid, Buffer.concat([pid, SERVER_SIDE])) as number | undefined;
      if (parentOp !== undefined) addEdge(hourOf(start), this.catalog.operationById(parentOp)!.serviceId, svcId, isError, 1);
      else this.st.insertPending.run(trace, pid, sid, svcId, start, isError);
    } else {
      agg.rootOpId = opId;
    }
  }
}

/**
 * The stored key of a span (made by `prepareBatch`): its 8-byte id, plus a 0x01 byte for
 * SERVER/CONSUMER spans. Zipkin's B3 "shared" spans report a client and a server half under ONE
 * span id; keyed by the id alone, the second half would overwrite the first. With the suffix both
 * halves are kept (the query side's span-id uniquifier separates them) while every other span
 * keeps its plain 8-byte key and a rewrite of the same span still replaces it. Readers strip the
 * suffix (`spanIdOfKey`).
 */
const SERVER_SIDE = Buffer.from([1]);

/** The 8-byte span id of a stored key (see `SERVER_SIDE`). */
export function spanIdOfKey(key: Buffer): Buffer {
  return key.length > 8 ? key.subarray(0, 8) : key;
}

type AddEdge = (bucket: number, parentSvc: number, childSvc: number, isError: number, sign: 1 | -1) => void;

/** An op of the batch being written: its service's catalog number and hour last seen, and its slot. */
interface BatchOp { service: string; name: string; kind: SpanKind; svcId: number; svcSeenUs: number; slot: OpSlot }

/** A span of the trace being written, with what the catalog gave for it. */
interface SpanRec extends PreparedSpan { svcId: number; opId: number; slot: OpSlot; resEntry: ResourceEntry }

/** An operation's catalog number and last-seen hour as last returned by the catalog, and its terms. */
interface OpSlot { id: number; lastSeenUs: number; svcTerm: number; opTerm: number }

/** One entry per trace: earliest start, spread up to the latest start. */
function collapseByTrace(group: PostingEntry[]): PostingEntry[] {
  const byTrace = new Map<number, PostingEntry>();
  for (const g of group) {
    const e = byTrace.get(g.trace);
    if (!e) { byTrace.set(g.trace, { ...g }); continue; }
    const end = Math.max(e.startOff + e.spreadUs, g.startOff + g.spreadUs);
    e.startOff = Math.min(e.startOff, g.startOff);
    e.spreadUs = end - e.startOff;
  }
  return byTrace.size === group.length ? group : [...byTrace.values()];
}
