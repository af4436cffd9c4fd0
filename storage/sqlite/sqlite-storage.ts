/**
 * The embedded SQLite backend (better-sqlite3, one connection, WAL). Schema and its reasoning:
 * schema.ts. Every call runs synchronously on the caller's thread inside a promise; a write
 * batch is one transaction and is committed when `writeSpans` resolves.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import type { Attribute, DependencyLink, Operation, Span, SpanKind, StatusCode, Trace } from '../../model/span.js';
import { spanKindNames } from '../../model/span.js';
import type { GetTracesQuery, SpanMetricsBucket, SpanMetricsQuery, SpanSkeleton, Storage, TraceQuery, TraceSkeleton } from '../api.js';
import type { SpanBudget } from '../span-budget.js';
import { Catalog, type OperationEntry } from './catalog.js';
import { purgeIndexChunk, purgeSpansChunk } from './purge.js';
import { type DependencyRow, prepareStatements, type SpanRow, type Statements, type SummaryRow } from './queries.js';
import { applySchema, hourOf } from './schema.js';
import { findTraceIds, type SearchContext } from './search.js';
import { decodePayload } from './span-codec.js';
import { decodeFigures, decodeLatency, type MetricsByBucket, metricsBucketOf, SPAN_METRICS_BUCKET_US, type SpanMetricsRow } from './span-metrics.js';
import { BatchWriter, spanIdOfKey } from './writer.js';
import { prepareBatch, PrepareCache } from './prepared-batch.js';

export const sqliteStorageOptionsSchema = z.object({
  /** Database file; missing parent directories are created. */
  path: z.string().min(1),
  /**
   * SQLite `synchronous` in WAL mode. 'normal' (default): a committed batch survives the process
   * being killed (kill -9, crash) but the last commits may be lost on power loss or an OS crash.
   * 'full': also durable against power loss, at the cost of an fsync per commit.
   */
  synchronous: z.enum(['normal', 'full']).default('normal'),
  /** SQLite page cache, KiB; 0 = SQLite's default (2 MiB). */
  cacheSizeKiB: z.number().int().min(0).default(64 * 1024),
  /** Spans deleted per retention transaction (between two yields to the event loop); > 0. */
  purgeChunkSpans: z.number().int().positive().default(5000),
  /**
   * Largest the file may grow, in pages (`PRAGMA max_page_count`); writes beyond fail with
   * SQLITE_FULL exactly as on a full disk. For tests of that path; absent = SQLite's limit.
   */
  maxPageCount: z.number().int().positive().optional(),
});
export type SqliteStorageOptions = z.input<typeof sqliteStorageOptionsSchema>;

/** The SQLite storage with what retention needs besides the `Storage` contract. */
export interface SqliteStorage extends Storage {
  readonly path: string;
  /**
   * Bytes of the database holding data: (page_count − freelist_count) × page_size. Drops as soon
   * as a purge frees pages; excludes the WAL file. What `diskBytes()` comes down to after
   * `reclaimSpace()`.
   */
  sizeBytes(): number;
  /** Bytes on disk now: the database file plus its WAL (what an operator's `du` sees). */
  diskBytes(): number;
  /** Traces stored (a count over an index: O(traces) inside SQLite). */
  storedTraces(): number;
  /**
   * A start time (µs) such that `purgeOlderThan(it)` deletes about the `traces` oldest traces
   * (oldest start first), read from the data itself; never past the newest trace's start, so
   * that trace stays. Undefined when empty.
   */
  cutoffForOldestTraces(traces: number): number | undefined;
  /** Start (µs) of the oldest stored trace; undefined when empty. */
  oldestStartUs(): number | undefined;
  /**
   * Keeps the WAL file near `bytes` (checkpoint that often, truncate it to that after a
   * checkpoint): with the default (10,000 pages ≈ 40 MB) the WAL alone outgrew a small size cap.
   */
  limitWalBytes(bytes: number): void;
  /** Returns free pages to the file system (`PRAGMA incremental_vacuum`) in steps; resolves to pages freed. */
  reclaimSpace(): Promise<number>;
  /**
   * Copies the WAL into the database and truncates it (`wal_checkpoint(TRUNCATE)`): while writes
   * fail for want of space, a WAL that keeps its size holds the space the next write needs.
   * Throws when SQLite cannot (e.g. the disk is too full to copy pages into the database).
   */
  checkpointWal(): void;
  /** See `maxPageCount`: a test's full disk, and the space coming back. */
  setMaxPageCount(pages: number): void;
  /**
   * The SQLite-only write path of the all-in-one ingest worker: batches made by `prepareBatch`
   * (prepared-batch.ts, typically on another thread) written in one transaction, committed when
   * it resolves. `writer.writeSpans(spans)` is `writePrepared([prepareBatch(spans)])`.
   */
  readonly preparedWriter: PreparedSpanWriter;
}

/** Writes prepared batches (prepared-batch.ts); one call = one transaction. */
export interface PreparedSpanWriter {
  writeSpans(batches: readonly Uint8Array[]): Promise<void>;
}

const WATERMARK_KEY = 'retained_from_us';
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const TRACE_ID_RE = /^[0-9a-f]{32}$/;

export function openSqliteStorage(options: SqliteStorageOptions): SqliteStorage {
  const parsed = sqliteStorageOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `'${i.path.join('.')}' ${i.message}`).join('; ');
    throw new Error(`SQLite storage options: ${msg}`);
  }
  const opts = parsed.data;
  mkdirSync(dirname(opts.path), { recursive: true });
  const db = new Database(opts.path);
  try {
    applySchema(db, { synchronous: opts.synchronous, cacheSizeKiB: opts.cacheSizeKiB });
    if (opts.maxPageCount !== undefined) db.pragma(`max_page_count = ${opts.maxPageCount}`);
    return new SqliteStorageImpl(db, opts.path, opts.purgeChunkSpans);
  } catch (err) {
    db.close();
    throw err;
  }
}

class SqliteStorageImpl implements SqliteStorage {
  readonly writer;
  readonly preparedWriter: PreparedSpanWriter;
  readonly reader;
  readonly dependencies;
  readonly spanMetrics;
  private readonly st: Statements;
  private readonly catalog: Catalog;
  private batchWriter: BatchWriter;
  private readonly writeTx: Database.Transaction<(batches: readonly Uint8Array[]) => void>;
  /** Tag terms of spans prepared here (`writer.writeSpans`). */
  private readonly tagTerms = new PrepareCache();
  private readonly readTx: Database.Transaction<(fn: () => unknown) => unknown>;
  /** `PRAGMA data_version`: changes when ANOTHER connection commits (see `syncExternalWrites`). */
  private readonly dataVersion: () => number;
  private seenDataVersion: number;
  /** The data_version at which services' / each service's operations' `last_seen_us` were read. */
  private servicesSeenAt: number;
  private readonly operationsSeenAt = new Map<number, number>();
  private readonly openedAt: number;
  private watermarkUs: number;
  private closed = false;

  constructor(private readonly db: Database.Database, readonly path: string, private readonly purgeChunkSpans: number) {
    this.st = prepareStatements(db);
    this.catalog = new Catalog(db);
    const dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.dataVersion = () => dataVersion.get() as number;
    this.seenDataVersion = this.dataVersion();
    this.openedAt = this.seenDataVersion;
    this.servicesSeenAt = this.openedAt;
    this.batchWriter = new BatchWriter(this.st, this.catalog);
    // Synced again inside the transaction: BEGIN IMMEDIATE holds the write lock, so nothing
    // another connection commits can slip between the sync and the write.
    this.writeTx = db.transaction((batches: readonly Uint8Array[]) => {
      this.syncExternalWrites();
      this.batchWriter.write(batches);
    });
    this.readTx = db.transaction((fn: () => unknown) => fn());
    this.watermarkUs = Number(this.st.getMeta.get(WATERMARK_KEY) ?? -Infinity);

    this.writer = { writeSpans: async (batch: readonly Span[]) => this.writeSpans(batch) };
    this.preparedWriter = { writeSpans: async (batches: readonly Uint8Array[]) => this.writePrepared(batches) };
    this.reader = {
      getTraces: async (q: GetTracesQuery, budget?: SpanBudget) => this.snapshot(() => this.getTraces(q, budget)),
      findTraces: async (q: TraceQuery, budget?: SpanBudget) =>
        this.snapshot(() => {
          this.open();
          const out: Trace[] = [];
          for (const f of findTraceIds(this.st, this.catalog, q, this.searchContext())) {
            const t = this.loadTrace(f.num, f.id.toString('hex'), f.spans, budget);
            if (t) out.push(t);
          }
          return out;
        }),
      findTraceIds: async (q: TraceQuery) =>
        this.snapshot(() => {
          this.open();
          return findTraceIds(this.st, this.catalog, q, this.searchContext()).map((f) => f.id.toString('hex'));
        }),
      findCandidateTraceIds: async (q: TraceQuery) =>
        this.snapshot(() => {
          this.open();
          return findTraceIds(this.st, this.catalog, q, this.searchContext(), true).map((f) => f.id.toString('hex'));
        }),
      getTraceSkeletons: async (q: { traceIds: string[]; maxSpansPerTrace?: number }) =>
        this.snapshot(() => this.getTraceSkeletons(q.traceIds, q.maxSpansPerTrace ?? Infinity)),
      getServices: async () => {
        this.open();
        this.syncLastSeen();
        return this.catalog.serviceNames(this.watermarkUs);
      },
      getOperations: async (q: { serviceName: string; spanKind?: SpanKind }) => this.getOperations(q),
      // From the in-memory catalog: span keys and interned values (span-codec.ts), resources.
      // Resources are not filtered by the retention watermark: this connection does not re-read
      // their last_seen_us (the writer's), so filtering could hide live ones; stale names are
      // the lesser harm for autocomplete.
      getTagNames: async () => {
        this.open();
        return { span: this.catalog.attributeKeys(), resource: [...this.catalog.resourceTags(-Infinity).keys()].sort() };
      },
      getTagValues: async (q: { scope: 'span' | 'resource'; key: string }) => {
        this.open();
        if (q.scope === 'span') return this.catalog.internedValues(q.key);
        return [...(this.catalog.resourceTags(-Infinity).get(q.key) ?? [])].sort();
      },
    };
    this.dependencies = { getDependencies: async (q: { startUs: number; endUs: number }) => this.getDependencies(q) };
    this.spanMetrics = {
      resolutionUs: SPAN_METRICS_BUCKET_US,
      getSpanMetrics: async (q: SpanMetricsQuery) => this.snapshot(() => this.getSpanMetrics(q)),
    };
  }

  /**
   * Another connection to the file committed (the all-in-one server writes from its ingest worker
   * thread and reads here; a second process may write too): pick up what it interned and the
   * writer's persisted state (trace-number high-water mark, latest start, moved traces,
   * retention watermark) before answering from memory. One `PRAGMA data_version` per call when
   * nothing changed.
   */
  private syncExternalWrites(): void {
    const v = this.dataVersion();
    if (v === this.seenDataVersion) return;
    this.seenDataVersion = v;
    this.catalog.syncNew();
    this.batchWriter = new BatchWriter(this.st, this.catalog);
    this.watermarkUs = Number(this.st.getMeta.get(WATERMARK_KEY) ?? -Infinity);
  }

  private searchContext(): SearchContext {
    return { maxStartUs: this.batchWriter.maxStartUs, watermarkUs: this.watermarkUs, movedTraces: this.batchWriter.movedTraces };
  }

  /**
   * Runs a multi-statement read in one read transaction: one consistent snapshot of the file even
   * while another connection commits (a search reads `postings_recent`, the posting tables, trace
   * rows and spans in turn; without a snapshot a merge committed in between could hide entries).
   */
  private snapshot<T>(fn: () => T): T {
    if (this.closed || this.db.inTransaction) return fn();
    return this.readTx(fn) as T;
  }

  /** Throws when closed; otherwise brings the in-memory state up to date with the file. */
  private open(): void {
    if (this.closed) throw new Error('SQLite storage is closed');
    this.syncExternalWrites();
  }

  private writeSpans(batch: readonly Span[]): void {
    this.open();
    if (batch.length === 0) return;
    // Validated and prepared before the transaction: an invalid span throws without writing.
    this.writePrepared([prepareBatch(batch, this.tagTerms)]);
  }

  private writePrepared(batches: readonly Uint8Array[]): void {
    this.open();
    if (batches.length === 0) return;
    try {
      this.writeTx.immediate(batches);
    } catch (err) {
      // The transaction rolled back: forget names interned during it.
      this.catalog.reload();
      throw err;
    }
  }

  private getTraces(q: GetTracesQuery, budget: SpanBudget | undefined): Trace[] {
    this.open();
    const out: Trace[] = [];
    const seen = new Set<string>();
    for (const id of q.traceIds) {
      if (typeof id !== 'string' || !TRACE_ID_RE.test(id)) {
        throw new Error(`GetTracesQuery.traceIds: ${JSON.stringify(id)} is not a 32-char lowercase hex trace id`);
      }
      if (seen.has(id)) continue;
      seen.add(id);
      const num = this.st.traceNum.get(Buffer.from(id, 'hex')) as number | undefined;
      const sum = num === undefined ? undefined : (this.st.summary.get(num) as SummaryRow | undefined);
      const t = num === undefined || !sum ? undefined : this.loadTrace(num, id, sum.span_count, budget);
      if (t) out.push(t);
    }
    return out;
  }

  /** The columns of each span without decoding its payload: ~1/10 of `getTraces`' cost per trace. */
  private getTraceSkeletons(traceIds: string[], maxSpans: number): TraceSkeleton[] {
    this.open();
    const out: TraceSkeleton[] = [];
    const seen = new Set<string>();
    const serviceAttrOf = new Map<number, Attribute | undefined>();
    for (const traceId of traceIds) {
      if (typeof traceId !== 'string' || !TRACE_ID_RE.test(traceId)) {
        throw new Error(`traceIds: ${JSON.stringify(traceId)} is not a 32-char lowercase hex trace id`);
      }
      if (seen.has(traceId)) continue;
      seen.add(traceId);
      const num = this.st.traceNum.get(Buffer.from(traceId, 'hex')) as number | undefined;
      if (num === undefined) continue;
      const sum = this.st.summary.get(num) as SummaryRow | undefined;
      if (!sum || sum.span_count > maxSpans) continue;
      const rows = this.st.traceSkeleton.all(num) as Omit<SpanRow, 'flags' | 'payload'>[];
      if (rows.length === 0) continue;
      const spans: SpanSkeleton[] = rows.map((r) => {
        const op = this.catalog.operationById(r.op_id);
        const res = this.catalog.resourceById(r.resource_id);
        if (!op || !res) throw new Error(`SQLite storage: span ${r.span_id.toString('hex')} references unknown operation/resource`);
        let serviceAttribute = serviceAttrOf.get(r.resource_id);
        if (serviceAttribute === undefined && !serviceAttrOf.has(r.resource_id)) {
          serviceAttribute = res.attributes.find((a) => a.key === 'service.name');
          serviceAttrOf.set(r.resource_id, serviceAttribute);
        }
        return {
          spanId: spanIdOfKey(r.span_id).toString('hex'),
          parentSpanId: r.parent_id ? r.parent_id.toString('hex') : '',
          name: op.name,
          kind: op.kind,
          statusCode: r.status as StatusCode,
          startTimeUs: r.start_us,
          durationUs: r.duration_us,
          serviceName: res.serviceName,
          serviceAttribute: serviceAttribute && { ...serviceAttribute }, // callers may mutate it
        };
      });
      out.push({ traceId, spans });
    }
    return out;
  }

  /** The trace's spans, or as many of its earliest as `budget` admits of the `spanCount` recorded. */
  private loadTrace(num: number, traceId: string, spanCount: number, budget: SpanBudget | undefined): Trace | undefined {
    const admitted = budget ? budget.admit(traceId, spanCount) : spanCount;
    if (budget && admitted <= 0) return undefined;
    const rows = (admitted < spanCount ? this.st.traceSpansFirst.all(num, admitted) : this.st.traceSpans.all(num)) as SpanRow[];
    if (rows.length === 0) return undefined;
    return { traceId, spans: rows.map((r) => this.rowToSpan(traceId, r)) };
  }

  private rowToSpan(traceId: string, r: SpanRow): Span {
    const op = this.catalog.operationById(r.op_id);
    const res = this.catalog.resourceById(r.resource_id);
    if (!op || !res) throw new Error(`SQLite storage: span ${r.span_id.toString('hex')} references unknown operation/resource`);
    const p = decodePayload(r.payload, r.start_us, this.catalog);
    const span: Span = {
      traceId,
      spanId: spanIdOfKey(r.span_id).toString('hex'),
      parentSpanId: r.parent_id ? r.parent_id.toString('hex') : '',
      traceState: p.traceState,
      flags: r.flags,
      name: op.name,
      kind: op.kind,
      startTimeUs: r.start_us,
      durationUs: r.duration_us,
      attributes: p.attributes,
      events: p.events,
      links: p.links,
      status: { code: r.status as Span['status']['code'], message: p.statusMessage },
      // Fresh copies: callers may mutate what readers return.
      resource: { serviceName: res.serviceName, attributes: res.attributes.map((a) => ({ ...a })) },
      scope: { name: res.scope.name, version: res.scope.version },
    };
    if (p.droppedAttributesCount) span.droppedAttributesCount = p.droppedAttributesCount;
    if (p.droppedEventsCount) span.droppedEventsCount = p.droppedEventsCount;
    if (p.droppedLinksCount) span.droppedLinksCount = p.droppedLinksCount;
    return span;
  }

  /** Listings filter by `last_seen_us`, which other connections update at most hourly per entry. */
  private syncLastSeen(serviceId?: number): void {
    const v = this.seenDataVersion;
    if (this.servicesSeenAt !== v) {
      this.catalog.syncServicesLastSeen();
      this.servicesSeenAt = v;
    }
    if (serviceId !== undefined && (this.operationsSeenAt.get(serviceId) ?? this.openedAt) !== v) {
      this.catalog.syncOperationsLastSeen(serviceId);
      this.operationsSeenAt.set(serviceId, v);
    }
  }

  private getOperations(q: { serviceName: string; spanKind?: SpanKind }): Operation[] {
    this.open();
    const svc = this.catalog.serviceByName(q.serviceName);
    if (!svc) return [];
    this.syncLastSeen(svc.id);
    const out: Operation[] = [];
    const seen = new Set<string>();
    for (const op of this.catalog.operationsOf(svc.id, this.watermarkUs)) {
      if (q.spanKind !== undefined && op.kind !== q.spanKind) continue;
      const o = { name: op.name, spanKind: spanKindNames[op.kind] ?? '' };
      const key = `${o.name}\0${o.spanKind}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(o);
    }
    return out.sort((a, b) => cmp(a.name, b.name) || cmp(a.spanKind, b.spanKind));
  }

  private getDependencies(q: { startUs: number; endUs: number }): DependencyLink[] {
    this.open();
    if (!Number.isSafeInteger(q.startUs)) throw new Error(`getDependencies: startUs must be an integer (µs), got ${q.startUs}`);
    if (!Number.isSafeInteger(q.endUs)) throw new Error(`getDependencies: endUs must be an integer (µs), got ${q.endUs}`);
    if (q.startUs > q.endUs) return [];
    const rows = this.st.dependencies.all(hourOf(q.startUs), hourOf(q.endUs)) as DependencyRow[];
    const out: DependencyLink[] = [];
    for (const r of rows) {
      if (r.calls <= 0) continue;
      const parent = this.catalog.serviceById(r.p)?.name;
      const child = this.catalog.serviceById(r.c)?.name;
      if (parent === undefined || child === undefined) continue;
      out.push({ parent, child, callCount: r.calls, errorCount: r.errors });
    }
    return out.sort((a, b) => cmp(a.parent, b.parent) || cmp(a.child, b.child));
  }

  private getSpanMetrics(q: SpanMetricsQuery): SpanMetricsBucket[] {
    this.open();
    for (const k of ['startUs', 'endUs'] as const) {
      if (!Number.isSafeInteger(q[k])) throw new Error(`getSpanMetrics: ${k} must be an integer (µs), got ${q[k]}`);
    }
    const kinds = new Set(q.spanKinds);
    const first = metricsBucketOf(q.startUs);
    const last = metricsBucketOf(q.endUs);
    if (first > last) return [];
    // The operations asked for, in output order (service, operation, kind: the map keeps its
    // insertion order); each service's rows are one range of the table's key.
    const wanted = new Map<number, { serviceName: string; op: OperationEntry; buckets: SpanMetricsBucket[] }>();
    for (const serviceName of [...new Set(q.serviceNames)].sort(cmp)) {
      const svc = this.catalog.serviceByName(serviceName);
      if (!svc) continue;
      const ops = this.catalog.operationsOf(svc.id, -Infinity)
        .filter((op) => kinds.size === 0 || kinds.has(op.kind))
        .sort((a, b) => cmp(a.name, b.name) || a.kind - b.kind);
      for (const op of ops) wanted.set(op.id, { serviceName, op, buckets: [] });
    }
    if (wanted.size === 0) return [];
    const figures: MetricsByBucket = new Map();
    // The last batches' figures, not merged into span_metrics yet, are read alongside.
    const keep = (bucket: number, opId: number) => bucket >= first && bucket <= last && wanted.has(opId);
    for (const svcId of new Set([...wanted.values()].map((w) => w.op.serviceId))) {
      for (const r of this.st.spanMetrics.range.iterate(svcId, first, last) as Iterable<SpanMetricsRow>) {
        if (!wanted.has(r.op_id)) continue;
        let byOp = figures.get(r.bucket);
        if (!byOp) figures.set(r.bucket, (byOp = new Map()));
        byOp.set(r.op_id, { calls: r.calls, errors: r.errors, latency: decodeLatency(r.latency) });
      }
      for (const blob of this.st.spanMetrics.recentOfService.all(svcId) as Buffer[]) decodeFigures(blob, figures, keep);
    }
    for (const bucket of [...figures.keys()].sort((a, b) => a - b)) {
      for (const [opId, f] of figures.get(bucket)!) {
        const w = wanted.get(opId)!;
        w.buckets.push({
          serviceName: w.serviceName, operationName: w.op.name, spanKind: w.op.kind, startUs: bucket * SPAN_METRICS_BUCKET_US,
          calls: f.calls, errors: f.errors, latency: f.latency,
        });
      }
    }
    const out = [...wanted.values()].flatMap((w) => w.buckets);
    return out;
  }

  async purgeOlderThan(cutoffUs: number): Promise<number> {
    this.open();
    if (!Number.isSafeInteger(cutoffUs)) throw new Error(`purgeOlderThan: cutoffUs must be an integer (µs), got ${cutoffUs}`);
    let removed = 0;
    const spansChunk = this.db.transaction(() => purgeSpansChunk(this.st, this.catalog, cutoffUs, this.purgeChunkSpans));
    for (;;) {
      const r = spansChunk();
      removed += r.removedSpans;
      if (r.done) break;
      await yieldToLoop();
      if (this.closed) return removed;
    }
    if (cutoffUs > this.watermarkUs) {
      this.st.setMeta.run(WATERMARK_KEY, cutoffUs);
      this.watermarkUs = cutoffUs;
    }
    const indexChunk = this.db.transaction(() => purgeIndexChunk(this.st, this.catalog, cutoffUs, this.purgeChunkSpans * 4));
    while (!indexChunk()) {
      await yieldToLoop();
      if (this.closed) return removed;
    }
    return removed;
  }

  sizeBytes(): number {
    this.open();
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    return (pages - free) * size;
  }

  diskBytes(): number {
    return fileBytes(this.path) + fileBytes(`${this.path}-wal`);
  }

  storedTraces(): number {
    this.open();
    return this.st.storedTraces.get() as number;
  }

  cutoffForOldestTraces(traces: number): number | undefined {
    this.open();
    const newest = this.st.newestStart.get() as number | null;
    if (newest === null) return undefined;
    // The cut goes at the first trace to keep: everything that started before it goes.
    const at = this.st.startAtOffset.get(Math.max(0, Math.floor(traces))) as number | undefined;
    return at === undefined ? newest : Math.min(at, newest);
  }

  limitWalBytes(bytes: number): void {
    this.open();
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pages = Math.max(MIN_WAL_AUTOCHECKPOINT_PAGES, Math.floor(bytes / pageSize));
    // Never raise it above what applySchema set: a large cap keeps the default.
    const current = this.db.pragma('wal_autocheckpoint', { simple: true }) as number;
    if (pages < current) this.db.pragma(`wal_autocheckpoint = ${pages}`);
    this.db.pragma(`journal_size_limit = ${Math.max(bytes, MIN_WAL_AUTOCHECKPOINT_PAGES * pageSize)}`);
  }

  checkpointWal(): void {
    this.open();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  setMaxPageCount(pages: number): void {
    this.open();
    if (!Number.isSafeInteger(pages) || pages <= 0) throw new Error(`setMaxPageCount: pages must be a positive integer, got ${pages}`);
    this.db.pragma(`max_page_count = ${pages}`);
  }

  oldestStartUs(): number | undefined {
    this.open();
    const v = this.st.oldestStart.get() as number | null;
    return v ?? undefined;
  }

  async reclaimSpace(): Promise<number> {
    this.open();
    // 2 = INCREMENTAL; a file created by something else may not allow it.
    if ((this.db.pragma('auto_vacuum', { simple: true }) as number) !== 2) return 0;
    let freed = 0;
    for (;;) {
      const free = this.db.pragma('freelist_count', { simple: true }) as number;
      if (free === 0) break;
      this.db.pragma(`incremental_vacuum(${Math.min(free, 2048)})`);
      const after = this.db.pragma('freelist_count', { simple: true }) as number;
      if (after >= free) break;
      freed += free - after;
      await yieldToLoop();
      if (this.closed) break;
    }
    if (!this.closed) this.db.pragma('wal_checkpoint(TRUNCATE)');
    return freed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

/** Below this a checkpoint would follow nearly every commit, each a full pass over the WAL. */
const MIN_WAL_AUTOCHECKPOINT_PAGES = 64;

function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch (err) {
    // No WAL file between a TRUNCATE checkpoint and the next write, or after close.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
