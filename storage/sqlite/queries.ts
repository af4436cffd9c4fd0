/**
 * Every SQL statement of the SQLite backend, prepared once per connection and reused.
 * Parameter order is the order of the `?` placeholders; row shapes are the interfaces below.
 */
import type Database from 'better-sqlite3';
import { prepareSpanMetricsStatements } from './span-metrics.js';

export interface SpanRow {
  span_id: Buffer;
  parent_id: Buffer | null;
  op_id: number;
  resource_id: number;
  start_us: number;
  duration_us: number;
  flags: number;
  status: number;
  payload: Buffer | null;
}

export interface SummaryRow { trace_id: Buffer; start_us: number; end_us: number; span_count: number }
export interface PostingBlockRow { max_off: number; seq: number; entries: Buffer }
export interface SingleRow { off: number; trace: number; spread: number }
export interface PendingRow { service_id: number; start_us: number; is_error: number }
export interface OldSpanRow { parent_id: Buffer | null; op_id: number; start_us: number; status: number }
export interface OldTraceRow { id: number; start_us: number; end_us: number }
export interface DependencyRow { p: number; c: number; calls: number; errors: number }

/** `trace` below is the trace's number (`traces.id`), not its 16-byte id. */
export function prepareStatements(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    spanMetrics: prepareSpanMetricsStatements(db),
    // --- write path
    traceNum: p('SELECT id FROM traces WHERE trace_id = ?').pluck(),
    maxTraceNum: p('SELECT max(id) FROM traces').pluck(),
    maxTraceEnd: p('SELECT max(end_us) FROM traces').pluck(),
    /** (id, trace_id, start_us, end_us, span_count, root_op_id) */
    insertSummary: p('INSERT INTO traces (id, trace_id, start_us, end_us, span_count, root_op_id) VALUES (?, ?, ?, ?, ?, ?)'),
    /** (start_us, end_us, added spans, root_op_id, id) */
    updateSummary: p(`UPDATE traces SET start_us = min(start_us, ?), end_us = max(end_us, ?), span_count = span_count + ?,
      root_op_id = coalesce(?, root_op_id) WHERE id = ?`),
    /** (trace, trace) */
    recomputeSummary: p(`UPDATE traces SET (start_us, end_us, span_count) =
      (SELECT min(start_us), max(start_us + duration_us), count(*) FROM spans WHERE trace = ?) WHERE id = ?`),
    insertSpan: p(`INSERT INTO spans (trace, span_id, parent_id, op_id, resource_id, start_us, duration_us, flags, status, payload)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
    /** `insertSpans[k]`: 2^k rows of `insertSpan`'s parameters, k = 0 … log2(SPAN_CHUNK) */
    insertSpans: Array.from({ length: Math.log2(SPAN_CHUNK) + 1 }, (_, k) => p(`INSERT INTO spans
      (trace, span_id, parent_id, op_id, resource_id, start_us, duration_us, flags, status, payload)
      VALUES ${new Array(2 ** k).fill(`(${new Array(SPAN_COLUMNS).fill('?').join(', ')})`).join(', ')} ON CONFLICT DO NOTHING`)),
    oldSpan: p('SELECT parent_id, op_id, start_us, status FROM spans WHERE trace = ? AND span_id = ?'),
    updateSpan: p(`UPDATE spans SET parent_id = ?, op_id = ?, resource_id = ?, start_us = ?, duration_us = ?, flags = ?, status = ?, payload = ?
      WHERE trace = ? AND span_id = ?`),
    /** (trace, parent id, parent id + 0x01): a parent's operation; the server half of a shared id first. */
    spanOp: p('SELECT op_id FROM spans WHERE trace = ? AND span_id IN (?, ?) ORDER BY length(span_id) DESC LIMIT 1').pluck(),
    insertPending: p('INSERT OR REPLACE INTO pending_edges (trace, parent_id, span_id, service_id, start_us, is_error) VALUES (?, ?, ?, ?, ?, ?)'),
    deletePendingOne: p('DELETE FROM pending_edges WHERE trace = ? AND parent_id = ? AND span_id = ?'),
    pendingChildren: p('SELECT service_id, start_us, is_error FROM pending_edges WHERE trace = ? AND parent_id = ?'),
    deletePendingChildren: p('DELETE FROM pending_edges WHERE trace = ? AND parent_id = ?'),
    insertPostingBlock: p(`INSERT INTO postings (bucket, term, max_off, seq, min_back, end_ahead, n, entries)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    /** (bucket, start offset, term, trace, spread) × SINGLE_CHUNK rows: see `insertSingles`. */
    insertSinglesChunk: insertSingles(db, SINGLE_CHUNK),
    insertSingle: insertSingles(db, 1),
    /** (seq, max bucket, entries count, blob) */
    insertRecent: p('INSERT INTO postings_recent (seq, max_bucket, n, entries) VALUES (?, ?, ?, ?)'),
    recentAll: p('SELECT seq, entries FROM postings_recent ORDER BY seq'),
    recentCount: p('SELECT count(*) AS rows, sum(n) AS entries FROM postings_recent'),
    deleteRecentUpTo: p('DELETE FROM postings_recent WHERE seq <= ?'),
    insertMoved: p('INSERT OR IGNORE INTO moved_traces (trace) VALUES (?)'),
    allMoved: p('SELECT trace FROM moved_traces').pluck(),
    addDependency: p(`INSERT INTO dependencies (bucket, parent_service_id, child_service_id, calls, errors) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET calls = calls + excluded.calls, errors = errors + excluded.errors`),
    deleteEmptyDependency: p('DELETE FROM dependencies WHERE bucket = ? AND parent_service_id = ? AND child_service_id = ? AND calls <= 0'),

    // --- read path
    summary: p('SELECT trace_id, start_us, end_us, span_count FROM traces WHERE id = ?'),
    traceSpans: p(`SELECT span_id, parent_id, op_id, resource_id, start_us, duration_us, flags, status, payload
      FROM spans WHERE trace = ?`),
    /** (trace): `traceSpans` without the payload, same order (getTraceSkeletons). */
    traceSkeleton: p('SELECT span_id, parent_id, op_id, resource_id, start_us, duration_us, status FROM spans WHERE trace = ?'),
    /**
     * (trace, n): a trace's n earliest spans, for a trace cut by a span budget. SQLite keeps only n
     * rows while sorting (ORDER BY … LIMIT), so memory follows n, not the trace.
     */
    traceSpansFirst: p(`SELECT span_id, parent_id, op_id, resource_id, start_us, duration_us, flags, status, payload
      FROM spans WHERE trace = ? ORDER BY start_us, span_id LIMIT ?`),
    /**
     * (bucket, term, (max_off, seq) upper bound exclusive, max start offset, min end offset, limit):
     * blocks newest first, keyset paging.
     */
    postingBlocks: p(`SELECT max_off, seq, entries FROM postings
      WHERE bucket = ? AND term = ? AND (max_off, seq) < (?, ?) AND max_off - min_back <= ? AND max_off + end_ahead >= ?
      ORDER BY max_off DESC, seq DESC LIMIT ?`),
    /** (bucket, term, max start offset, min end offset, row cap): entries in the first `cap` blocks. */
    postingsCount: p(`SELECT coalesce(sum(n), 0) FROM (SELECT n FROM postings
      WHERE bucket = ? AND term = ? AND max_off - min_back <= ? AND max_off + end_ahead >= ? LIMIT ?)`).pluck(),
    /** (bucket, term, max start offset, min end offset): every block of a term in a bucket. */
    postingBlocksAll: p(`SELECT entries FROM postings
      WHERE bucket = ? AND term = ? AND max_off - min_back <= ? AND max_off + end_ahead >= ?`),
    /**
     * (bucket, term, (off, trace) upper bound exclusive, max start offset, min start offset, limit):
     * single-entry postings newest first, keyset paging.
     */
    singles: p(`SELECT off, trace, spread FROM postings_single
      WHERE bucket = ? AND term = ? AND (off, trace) < (?, ?) AND off <= ? AND off >= ?
      ORDER BY off DESC, trace DESC LIMIT ?`),
    /** (bucket, term, max start offset, min start offset, min end offset, cap) */
    singlesCount: p(`SELECT count(*) FROM (SELECT 1 FROM postings_single
      WHERE bucket = ? AND term = ? AND off <= ? AND off >= ? AND off + spread >= ? LIMIT ?)`).pluck(),
    recentEntries: p('SELECT entries FROM postings_recent').pluck(),
    /** (min duration, max duration, cap) over all time: the size of the duration driver. */
    durationCount: p(`SELECT count(*) FROM (SELECT 1 FROM traces WHERE end_us - start_us BETWEEN ? AND ? LIMIT ?)`).pluck(),
    /** (min duration, max duration, window max, window min): traces in the range overlapping the window. */
    /** (durMin, durMax, wMax, wMin) newest first, so a search can stop after `limit` confirmed traces */
    tracesByDuration: p(`SELECT id, start_us FROM traces WHERE end_us - start_us BETWEEN ? AND ? AND start_us <= ? AND end_us >= ?
      ORDER BY start_us DESC`),
    /**
     * (start lower bound, keyset start, keyset id, durMin, durMax, window min, page): one page of
     * traces newest first along `traces_by_start` (index order (start_us, id): no sort), filtered
     * by duration — for duration ranges too common to collect and sort whole.
     */
    tracesByStartPage: p(`SELECT id, start_us FROM traces INDEXED BY traces_by_start
      WHERE start_us >= ? AND (start_us, id) < (?, ?) AND end_us - start_us BETWEEN ? AND ? AND end_us >= ?
      ORDER BY start_us DESC, id DESC LIMIT ?`),
    dependencies: p(`SELECT parent_service_id AS p, child_service_id AS c, sum(calls) AS calls, sum(errors) AS errors
      FROM dependencies WHERE bucket BETWEEN ? AND ? GROUP BY p, c`),

    // --- retention
    oldTraces: p('SELECT id, start_us, end_us FROM traces WHERE start_us < ? ORDER BY start_us LIMIT ?'),
    deleteTraceSpans: p('DELETE FROM spans WHERE trace = ?'),
    deleteOldSpans: p('DELETE FROM spans WHERE trace = ? AND start_us < ?'),
    countTraceSpans: p('SELECT count(*) FROM spans WHERE trace = ?').pluck(),
    deleteSummary: p('DELETE FROM traces WHERE id = ?'),
    deleteMoved: p('DELETE FROM moved_traces WHERE trace = ?'),
    deleteOldPending: p('DELETE FROM pending_edges WHERE trace = ? AND start_us < ?'),
    deleteDependenciesBefore: p('DELETE FROM dependencies WHERE bucket < ?'),
    /** (bucket bound, chunk size) */
    deletePostingsChunk: p(`DELETE FROM postings WHERE (bucket, term, max_off, seq) IN
      (SELECT bucket, term, max_off, seq FROM postings WHERE bucket < ? LIMIT ?)`),
    /** (bucket bound): recent rows whose entries are all older */
    deleteOldRecent: p('DELETE FROM postings_recent WHERE max_bucket < ?'),
    /** (bucket bound, chunk size) */
    deleteSinglesChunk: p(`DELETE FROM postings_single WHERE (bucket, term, off, trace) IN
      (SELECT bucket, term, off, trace FROM postings_single WHERE bucket < ? LIMIT ?)`),
    oldestStart: p('SELECT min(start_us) FROM traces').pluck(),
    /** Counted over the smallest index, in SQLite: a size cut's arithmetic, once per step. */
    storedTraces: p('SELECT count(*) FROM traces').pluck(),
    /** (offset): the start of the trace that many traces after the oldest — where a size cut falls. */
    startAtOffset: p('SELECT start_us FROM traces INDEXED BY traces_by_start ORDER BY start_us LIMIT 1 OFFSET ?').pluck(),
    newestStart: p('SELECT max(start_us) FROM traces').pluck(),
    /** (bucket, offset bound): blocks in the cutoff's hour whose every entry started before the bound. */
    deleteOldBlocksOfHour: p('DELETE FROM postings WHERE bucket = ? AND max_off + end_ahead < ?'),
    /** (bucket, offset bound): single entries in the cutoff's hour whose spans all started before the bound. */
    deleteOldSinglesOfHour: p('DELETE FROM postings_single WHERE bucket = ? AND off + spread < ?'),
    getMeta: p('SELECT value FROM meta WHERE key = ?').pluck(),
    setMeta: p('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
  };
}

/** Rows per multi-row INSERT of spans, and parameters per span row. */
export const SPAN_CHUNK = 32;
export const SPAN_COLUMNS = 10;

/** Rows per multi-row INSERT of single-entry postings. */
export const SINGLE_CHUNK = 64;

/**
 * A multi-row upsert of single-entry postings, 5 parameters per row: (bucket, term, off, trace,
 * spread). The same trace can post the same term at the same start twice (a span re-written in
 * a later batch): the row keeps the larger spread, so it still covers both.
 */
function insertSingles(db: Database.Database, rows: number) {
  const values = new Array(rows).fill('(?, ?, ?, ?, ?)').join(', ');
  return db.prepare(`INSERT INTO postings_single (bucket, term, off, trace, spread) VALUES ${values}
    ON CONFLICT DO UPDATE SET spread = max(spread, excluded.spread)`);
}

export type Statements = ReturnType<typeof prepareStatements>;
