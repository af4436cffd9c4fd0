/**
 * The ingest and disk baseline: the same spans stored the plainest way better-sqlite3 allows — one
 * minimal rowid table without secondary indexes, one prepared INSERT, one transaction per batch,
 * the same pragmas as the real store (WAL, synchronous NORMAL). Rows are converted before timing
 * (ids → BLOBs, attributes/events/resource → one JSON text), so the baseline is the pure insert
 * cost: an upper bound no real store with search indexes can reach.
 */
import Database from 'better-sqlite3';
import type { Span } from '../../model/span.js';

export type RawRow = [Buffer, Buffer, Buffer | null, string, string, number, number, number, number, string];

export function toRawRow(s: Span): RawRow {
  return [
    Buffer.from(s.traceId, 'hex'),
    Buffer.from(s.spanId, 'hex'),
    s.parentSpanId ? Buffer.from(s.parentSpanId, 'hex') : null,
    s.resource.serviceName,
    s.name,
    s.kind,
    s.startTimeUs,
    s.durationUs,
    s.status.code,
    JSON.stringify({ a: s.attributes, e: s.events, r: s.resource.attributes }),
  ];
}

export interface RawStore {
  /** Inserts one batch in one transaction. */
  insertBatch(rows: readonly RawRow[]): void;
  /** Checkpoints the WAL into the main file (TRUNCATE) and returns the file size, bytes. */
  checkpointedSize(): number;
  close(): void;
}

export function openRawStore(path: string): RawStore {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE IF NOT EXISTS spans (
    trace_id BLOB, span_id BLOB, parent_id BLOB, service TEXT, name TEXT, kind INTEGER,
    start_us INTEGER, duration_us INTEGER, status INTEGER, data TEXT)`);
  const insert = db.prepare('INSERT INTO spans VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const tx = db.transaction((rows: readonly RawRow[]) => {
    for (const r of rows) insert.run(r);
  });
  return {
    insertBatch: (rows) => tx(rows),
    checkpointedSize() {
      db.pragma('wal_checkpoint(TRUNCATE)');
      const pages = db.pragma('page_count', { simple: true }) as number;
      const size = db.pragma('page_size', { simple: true }) as number;
      return pages * size;
    },
    close: () => db.close(),
  };
}
