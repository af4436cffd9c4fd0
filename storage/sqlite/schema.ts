/**
 * The SQLite schema of the embedded trace store, and why it looks like this.
 *
 * Goals, in order: exact results; trace by id in one index range; every search through indexes
 * (never a span scan); writes ≥ 50k spans/s; ≤ ~150 bytes per span on disk including indexes
 * (later goal); retention that frees whole pages.
 *
 * Tables
 * - `traces` one row per trace: `id` (the trace number, allocated in arrival order, never reused),
 *   the 16-byte trace id (unique index), first start, last end, span count, root operation. Kept
 *   by one INSERT or UPDATE per trace per batch. Gives the trace duration for the duration filter
 *   (`traces_by_duration` drives searches whose duration bound is the most selective predicate)
 *   and, through `traces_by_start`, the oldest data for retention. Everything else refers to a
 *   trace by its number (a 3–5 byte varint instead of 16 bytes).
 * - `spans` WITHOUT ROWID, key (trace number, span_id). Trace by id = one unique-index lookup +
 *   one contiguous range. Trace numbers grow in arrival order, so a batch's new traces land in a
 *   few pages at the "end" of the b-tree (few dirty pages per commit, a small hot working set at
 *   10M spans) and retention frees whole pages; keyed by the random 16-byte trace id, every batch
 *   would dirty pages all over the file, and deleting old traces would leave every page 90 % full
 *   so the file would never shrink. Span ids are BLOBs (8 bytes); service, operation and kind are
 *   one interned `op_id`; resource attributes + scope are one interned `resource_id`; the rest of
 *   the span is a binary payload (span-codec.ts: varints, attribute keys and most string values
 *   as dictionary numbers from `attr_keys`). No secondary index on spans at all.
 * - `postings` WITHOUT ROWID, key (bucket, term, max_off, seq): the search index. A term is a
 *   hash of "any span", "service", "service+operation" or "tag key=value" (terms.ts). Each
 *   merge of `postings_recent` (below) adds one row per (hour bucket, term) carried by two or
 *   more traces, whose blob packs delta-encoded varint entries (start offset, spread, trace
 *   number; posting-block.ts, typically 4–7 bytes) — one entry per trace, not per span: the
 *   spans of a trace that share a term within the merged batches and hour collapse into one
 *   entry whose start is the earliest of them and whose spread is latest − earliest (< 1 h).
 *   Resource attributes are the same for every span of a process, so this collapses them too. `max_off`
 *   (latest entry start within the hour) orders blocks newest first; `min_back` (max_off −
 *   earliest entry start) and `end_ahead` (latest entry end − max_off) let a search skip blocks
 *   outside its window, `n` counts entries (to pick the most selective term). A search reads a
 *   term's blocks per hour newest first and keeps entries whose [start, start+spread] meets the
 *   window: a superset of the matching traces, confirmed exactly against the spans (so hash
 *   collisions and the collapsing cost a little work, never a wrong answer).
 *   Trade-off written down: a per-span (key, value, start) → trace index in its own b-tree rows
 *   would be exact without confirmation but costs ~50 bytes per attribute per span (≈ 1 kB per
 *   span with typical resource attributes) and one b-tree insert each — that alone caps writes
 *   far below 50k spans/s. Hashing drops the value text, collapsing drops the per-span
 *   multiplicity, blocks drop the per-row b-tree overhead and make a batch's index writes a few
 *   hundred row inserts. The price: confirmation reads, and a block is read whole. Resource
 *   attributes are posted per trace like span attributes and collapse per trace: with the
 *   bench's data ≈ 12 distinct resource terms per trace of ~27 spans, an estimated 2–3 bytes per
 *   span in blocks — too little to justify a second lookup path (per resource id) in every search.
 * - `postings_single` WITHOUT ROWID, key (bucket, term, off, trace), column spread: the same
 *   entry as above for a term that only ONE trace carries in a merge's batches and hour: every
 *   value unique per span or per request (ports, request/user ids), and rarer ordinary terms. As a block such an entry cost a b-tree row of ~100 bytes (the block key,
 *   three counters, a one-entry blob); here it is ~27–29 bytes on disk. Still exact and complete:
 *   every value is indexed. A search reads a bucket's blocks and then its single entries of the
 *   term, each newest first (`off` descending), with the same early stop. Written with
 *   multi-row INSERTs; a re-written span that posts the same (term, start) again keeps the
 *   larger spread.
 * - `postings_recent` (seq = batch number, max bucket, entry count, blob): the entries of the
 *   last batches, one append-only row per batch (fixed 24-byte records sorted by term:
 *   recent-postings.ts), merged into `postings` / `postings_single` every 64 batches or 40k
 *   entries. Written per batch into the term-keyed tables, the index entries of a batch land
 *   all over the current hour's region of those b-trees and each commit re-wrote most of its
 *   pages to the WAL (~5 KB written per span stored); merging many batches at once touches each
 *   page once per merge and makes bigger blocks (a term's entries of 64 batches in one row).
 *   Searches read every recent row and find the term's records by binary search (≤ ~1 MB).
 *   Retention drops a row once all its entries are in hours before the cutoff.
 * - `pending_edges` children whose parent span has not arrived yet (OTel exports children first).
 *   When the parent arrives its edges are counted and the rows deleted, so this stays small;
 *   cheaper than a permanent (trace_id, parent_span_id) index over every span.
 * - `dependencies` WITHOUT ROWID (bucket hour, parent service, child service) → calls, errors,
 *   counted once per parent→child pair when the second of the two spans arrives, bucketed by the
 *   child's start. getDependencies sums whole hour buckets overlapping the window.
 * - `moved_traces` traces in which a rewrite changed a span's operation or start: their postings
 *   may be stale, so searches always confirm them against the spans. Rare; tiny.
 * - `attr_keys` attribute keys, and (key, string value) pairs of keys with few distinct values,
 *   interned as numbers for span payloads (span-codec.ts).
 * - `services`, `operations`, `resources` interned names with `last_seen_us` (rounded up to the
 *   hour, so it changes at most hourly). Loaded into memory at open: listing services and
 *   operations never touches spans. Rows are never deleted (span rows reference them); listings
 *   hide entries last seen before the retention watermark (`meta.retained_from_us`).
 *
 * Pragmas: WAL; synchronous NORMAL by default (durable against a killed process, not against
 * power loss; FULL for that); auto_vacuum INCREMENTAL set before the first table is created, so
 * retention can give pages back with `PRAGMA incremental_vacuum`.
 */
import type Database from 'better-sqlite3';

/**
 * Versions 1 and 2 only existed in development builds before the first release; they are not
 * migrated. 3 → 4 added `span_metrics` (additive: a version-3 file is upgraded in place and has
 * RED metrics from then on).
 */
export const SCHEMA_VERSION = 4;
const OLDEST_MIGRATABLE_VERSION = 3;

/** An hour in µs: the bucket of `postings` and `dependencies`. */
export const HOUR_US = 3_600_000_000;
export const hourOf = (us: number): number => Math.floor(us / HOUR_US);

/**
 * RED metrics (storage/sqlite/span-metrics.ts): per minute and operation, keyed by service first
 * so that a service's rows for a time range are one contiguous run. Each batch appends its figures
 * as one `span_metrics_recent` row per service; every 1,024 such rows are summed into
 * `span_metrics`, so the rows a busy minute touches are rewritten once per ~50 batches, not once
 * per batch.
 */
const SPAN_METRICS_DDL = `
CREATE TABLE IF NOT EXISTS span_metrics (
  service_id INTEGER NOT NULL, bucket INTEGER NOT NULL, op_id INTEGER NOT NULL, calls INTEGER NOT NULL,
  errors INTEGER NOT NULL, latency BLOB NOT NULL, PRIMARY KEY (service_id, bucket, op_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS span_metrics_recent (seq INTEGER PRIMARY KEY, service_id INTEGER NOT NULL, entries BLOB NOT NULL);
`;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS services (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, last_seen_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS operations (
  id INTEGER PRIMARY KEY, service_id INTEGER NOT NULL, name TEXT NOT NULL, kind INTEGER NOT NULL,
  last_seen_us INTEGER NOT NULL, UNIQUE (service_id, name, kind));
CREATE TABLE IF NOT EXISTS attr_keys (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS resources (
  id INTEGER PRIMARY KEY, data TEXT NOT NULL, last_seen_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS traces (
  id INTEGER PRIMARY KEY, trace_id BLOB NOT NULL UNIQUE, start_us INTEGER NOT NULL, end_us INTEGER NOT NULL,
  span_count INTEGER NOT NULL, root_op_id INTEGER);
CREATE INDEX IF NOT EXISTS traces_by_start ON traces (start_us);
CREATE INDEX IF NOT EXISTS traces_by_duration ON traces (end_us - start_us);
CREATE TABLE IF NOT EXISTS spans (
  trace INTEGER NOT NULL, span_id BLOB NOT NULL, parent_id BLOB,
  op_id INTEGER NOT NULL, resource_id INTEGER NOT NULL, start_us INTEGER NOT NULL,
  duration_us INTEGER NOT NULL, flags INTEGER NOT NULL, status INTEGER NOT NULL, payload BLOB,
  PRIMARY KEY (trace, span_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS postings (
  bucket INTEGER NOT NULL, term INTEGER NOT NULL, max_off INTEGER NOT NULL, seq INTEGER NOT NULL,
  min_back INTEGER NOT NULL, end_ahead INTEGER NOT NULL, n INTEGER NOT NULL, entries BLOB NOT NULL,
  PRIMARY KEY (bucket, term, max_off, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS postings_single (
  bucket INTEGER NOT NULL, term INTEGER NOT NULL, off INTEGER NOT NULL, trace INTEGER NOT NULL,
  spread INTEGER NOT NULL, PRIMARY KEY (bucket, term, off, trace)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS postings_recent (
  seq INTEGER PRIMARY KEY, max_bucket INTEGER NOT NULL, n INTEGER NOT NULL, entries BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pending_edges (
  trace INTEGER NOT NULL, parent_id BLOB NOT NULL, span_id BLOB NOT NULL, service_id INTEGER NOT NULL,
  start_us INTEGER NOT NULL, is_error INTEGER NOT NULL,
  PRIMARY KEY (trace, parent_id, span_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS moved_traces (trace INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS dependencies (
  bucket INTEGER NOT NULL, parent_service_id INTEGER NOT NULL, child_service_id INTEGER NOT NULL,
  calls INTEGER NOT NULL, errors INTEGER NOT NULL,
  PRIMARY KEY (bucket, parent_service_id, child_service_id)) WITHOUT ROWID;
${SPAN_METRICS_DDL}`;

export interface SchemaOptions {
  synchronous: 'normal' | 'full';
  /** Page cache size in KiB; 0 = SQLite's default. */
  cacheSizeKiB: number;
}

/** Sets the connection pragmas and creates the schema if the file is new. */
export function applySchema(db: Database.Database, opts: SchemaOptions): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  const tables = db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").pluck().get() as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`SQLite storage: schema version ${version} is newer than this meshtrace understands (${SCHEMA_VERSION})`);
  }
  if (version > 0 && version < OLDEST_MIGRATABLE_VERSION) {
    throw new Error(`SQLite storage: schema version ${version} comes from a pre-release build; delete the database file (${db.name}) and start again`);
  }
  // Only effective before the first table exists; later it would need a full VACUUM.
  if (tables === 0) db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('temp_store = MEMORY');
  // Another connection to the same file (a CLI, a second process) waits instead of failing.
  db.pragma('busy_timeout = 5000');
  // Checkpoint every ~40 MB of WAL instead of 4 MB: pages dirtied by consecutive batches are
  // copied back once, not once per batch.
  db.pragma('wal_autocheckpoint = 10000');
  if (opts.cacheSizeKiB > 0) db.pragma(`cache_size = -${Math.floor(opts.cacheSizeKiB)}`);
  if (version < SCHEMA_VERSION) {
    db.transaction(() => {
      db.exec(version === 0 ? DDL : SPAN_METRICS_DDL);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }
}
