/**
 * The ClickHouse schema, as DDL generated for one node or for a cluster by the same code.
 *
 * Tables (the names queries use; see README.md for the reasoning):
 * - `spans`: one row per span version. ReplacingMergeTree(version) partitioned by day of start
 *   (retention drops or TTLs whole days), ordered by (service, start): search by service and time
 *   window reads a contiguous key range. Span attributes are typed parallel arrays (order and
 *   types round-trip), the resource one LowCardinality JSON value (version 2); the search terms
 *   are `TERMS_EXPR` (stored `tags` plus terms computed from the span attributes) with a bloom
 *   filter on that expression, so tag search skips granules. A bloom filter on trace_id serves
 *   trace-by-id inside the time range `trace_index` gives; 1024-row granules (version 2).
 * - `trace_index` (MV from spans): trace_id → first start, last start, last end. Ordered by
 *   trace_id: a trace lookup reads a granule or two here, then only that time range of spans.
 *   Also the trace duration for duration search.
 * - `operations` (MV): (service, operation, kind, day) for the service/operation lists.
 * - `span_metrics` (MV, SummingMergeTree): calls, errors and latency-histogram bins per service,
 *   operation, kind and minute, fed only by a span's first write (`first_write`, set by the
 *   writer) so a rewritten span is not counted twice.
 * Dependencies are computed at query time (a join of the window's spans with their parents): see
 * queries.ts.
 *
 * Cluster mode (`cluster` set): every statement runs `ON CLUSTER`, the tables above become
 * `<name>_local` with Replicated* engines, and `<name>` is a Distributed table over them (spans
 * sharded by trace id, so a trace and its index row live on one shard). Materialized views sit
 * on the local tables of each shard.
 */

export interface SchemaOptions {
  database: string;
  /** Cluster name from the server's remote_servers config; unset = a single node. */
  cluster?: string;
}

/** Tables the storage reads and writes (Distributed in cluster mode). */
export const TABLES = ['spans', 'trace_index', 'operations', 'span_metrics'] as const;
export type TableName = (typeof TABLES)[number];

export const ident = (name: string): string => `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
const str = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export class Schema {
  readonly database: string;
  readonly cluster: string | undefined;
  constructor(opts: SchemaOptions) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.database)) throw new Error(`clickhouse: database name must be an identifier ([A-Za-z_][A-Za-z0-9_]*), got '${opts.database}'`);
    if (opts.cluster !== undefined && opts.cluster === '') throw new Error('clickhouse: cluster name must not be empty');
    this.database = opts.database;
    this.cluster = opts.cluster;
  }

  /** `ON CLUSTER 'name'` or ''. */
  get onCluster(): string {
    return this.cluster ? ` ON CLUSTER ${str(this.cluster)}` : '';
  }

  /** Qualified name of what queries read and write: the Distributed table in cluster mode. */
  table(name: TableName | 'schema_migrations'): string {
    return `${ident(this.database)}.${ident(name)}`;
  }

  /** Qualified name of the table holding the data on this node (mutations, MVs target it). */
  local(name: TableName | 'schema_migrations'): string {
    return `${ident(this.database)}.${ident(this.cluster && name !== 'schema_migrations' ? `${name}_local` : name)}`;
  }

  /** The materialized view feeding a table (on the local table in cluster mode). */
  mv(name: TableName): string {
    return `${ident(this.database)}.${ident(`${this.cluster ? `${name}_local` : name}_mv`)}`;
  }

  /** An engine clause: `kind` is '', 'Replacing', 'Aggregating' or 'Summing'; `args` its arguments. */
  engine(kind: string, table: string, args = ''): string {
    if (!this.cluster) return `ENGINE = ${kind}MergeTree(${args})`;
    // {shard}/{replica} are the server's macros; the path names database and table so they never collide.
    // The migrations ledger is one table for the whole cluster (no {shard} in the path): every
    // node agrees on what ran. Its replicas span shards, so their names include the shard
    // ({replica} is often only unique within a shard).
    const ledger = table === 'schema_migrations';
    const path = ledger ? `/clickhouse/tables/${this.database}/${table}` : `/clickhouse/tables/{shard}/${this.database}/${table}`;
    const replica = ledger ? '{shard}-{replica}' : '{replica}';
    return `ENGINE = Replicated${kind}MergeTree(${str(path)}, ${str(replica)}${args ? `, ${args}` : ''})`;
  }

  /** The Distributed table in front of a local table (cluster mode only). */
  distributed(name: TableName, shardingKey: string): string[] {
    if (!this.cluster) return [];
    return [`CREATE TABLE IF NOT EXISTS ${this.table(name)}${this.onCluster} AS ${this.local(name)}
ENGINE = Distributed(${str(this.cluster)}, ${str(this.database)}, ${str(`${name}_local`)}, ${shardingKey})`];
  }

  createDatabase(): string {
    return `CREATE DATABASE IF NOT EXISTS ${ident(this.database)}${this.onCluster}`;
  }

  /** The migrations ledger: replicated in cluster mode so every node agrees on what ran. */
  createMigrationsTable(): string {
    return `CREATE TABLE IF NOT EXISTS ${this.local('schema_migrations')}${this.onCluster} (
  version UInt32,
  name String,
  applied_at DateTime DEFAULT now()
) ${this.engine('', 'schema_migrations')}
ORDER BY version`;
  }
}

/**
 * The DateTime of a µs column, as partitioning and TTL need. The partition key is an expression
 * of `start_us` itself (no separate DateTime column): ClickHouse keeps a min/max of the partition
 * key's columns per part, so every `start_us` condition prunes whole days of parts.
 */
export const secondsOf = (usColumn: string): string => `toDateTime(intDiv(${usColumn}, 1000000), 'UTC')`;

/** The materialized view feeding `table` from `spans` (the same in every schema version). */
function mvStatement(s: Schema, table: 'trace_index' | 'operations' | 'span_metrics'): string {
  const on = s.onCluster;
  switch (table) {
    case 'trace_index':
      return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${s.mv('trace_index')}${on} TO ${s.local('trace_index')} AS
SELECT trace_id, toDate(${secondsOf('min(start_us)')}) AS day, min(start_us) AS start_min, max(start_us) AS start_max,
  max(start_us + duration_us) AS end_max
FROM ${s.local('spans')}
GROUP BY trace_id`;
    case 'operations':
      return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${s.mv('operations')}${on} TO ${s.local('operations')} AS
SELECT service, name, kind, toDate(${secondsOf('start_us')}) AS day
FROM ${s.local('spans')}
GROUP BY service, name, kind, day`;
    case 'span_metrics':
      return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${s.mv('span_metrics')}${on} TO ${s.local('span_metrics')} AS
SELECT service, name, kind, intDiv(start_us, 60000000) AS minute, latency_bin AS bin, count() AS calls,
  countIf(status_code = 2) AS errors
FROM ${s.local('spans')}
WHERE first_write = 1
GROUP BY service, name, kind, minute, bin`;
  }
}

/** Version 1: the initial schema (statements in order). */
export function initialSchema(s: Schema): string[] {
  const on = s.onCluster;
  return [
    `CREATE TABLE IF NOT EXISTS ${s.local('spans')}${on} (
  trace_id String CODEC(ZSTD(1)),
  span_id String CODEC(ZSTD(1)),
  parent_span_id String CODEC(ZSTD(1)),
  trace_state String CODEC(ZSTD(1)),
  flags UInt32,
  name LowCardinality(String),
  kind UInt8,
  service LowCardinality(String),
  start_us Int64 CODEC(Delta, ZSTD(1)),
  duration_us Int64 CODEC(ZSTD(1)),
  status_code UInt8,
  status_message String CODEC(ZSTD(1)),
  attr_keys Array(LowCardinality(String)),
  attr_types Array(LowCardinality(String)),
  attr_values Array(String) CODEC(ZSTD(1)),
  res_keys Array(LowCardinality(String)),
  res_types Array(LowCardinality(String)),
  res_values Array(String) CODEC(ZSTD(1)),
  scope_name LowCardinality(String),
  scope_version LowCardinality(String),
  events String CODEC(ZSTD(3)),
  links String CODEC(ZSTD(3)),
  dropped_attributes Nullable(UInt32),
  dropped_events Nullable(UInt32),
  dropped_links Nullable(UInt32),
  tags Array(String) CODEC(ZSTD(1)),
  latency_bin UInt16,
  first_write UInt8,
  version UInt64,
  INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
  INDEX idx_tags tags TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_duration duration_us TYPE minmax GRANULARITY 1
) ${s.engine('Replacing', 'spans', 'version')}
PARTITION BY toDate(${secondsOf('start_us')})
ORDER BY (service, start_us, trace_id, span_id, kind)`,
    ...s.distributed('spans', 'cityHash64(trace_id)'),

    `CREATE TABLE IF NOT EXISTS ${s.local('trace_index')}${on} (
  trace_id String CODEC(ZSTD(1)),
  day Date,
  start_min SimpleAggregateFunction(min, Int64),
  start_max SimpleAggregateFunction(max, Int64),
  end_max SimpleAggregateFunction(max, Int64)
) ${s.engine('Aggregating', 'trace_index')}
PARTITION BY day
ORDER BY trace_id`,
    ...s.distributed('trace_index', 'cityHash64(trace_id)'),
    mvStatement(s, 'trace_index'),

    `CREATE TABLE IF NOT EXISTS ${s.local('operations')}${on} (
  service LowCardinality(String),
  name LowCardinality(String),
  kind UInt8,
  day Date
) ${s.engine('Replacing', 'operations')}
PARTITION BY toYYYYMM(day)
ORDER BY (service, name, kind, day)`,
    ...s.distributed('operations', 'cityHash64(service)'),
    mvStatement(s, 'operations'),

    `CREATE TABLE IF NOT EXISTS ${s.local('span_metrics')}${on} (
  service LowCardinality(String),
  name LowCardinality(String),
  kind UInt8,
  minute Int64,
  bin UInt16,
  calls UInt64,
  errors UInt64
) ${s.engine('Summing', 'span_metrics', '(calls, errors)')}
PARTITION BY toDate(toDateTime(minute * 60, 'UTC'))
ORDER BY (service, name, kind, minute, bin)`,
    ...s.distributed('span_metrics', 'cityHash64(service)'),
    mvStatement(s, 'span_metrics'),
  ];
}

/**
 * The search terms of a span row (`key=value`): the stored `tags` (resource attributes, event
 * attributes, `event=<name>`, the derived kind/status tags) plus the span's own attributes,
 * computed from `attr_keys`/`attr_values` instead of stored a second time. The tag bloom filter
 * (`idx_terms`) is built on this very expression, and a search must use it verbatim for
 * ClickHouse to use the index.
 */
export const TERMS_EXPR = "arrayConcat(tags, arrayMap((k, v) -> concat(k, '=', v), attr_keys, attr_values))";

/**
 * A statement that runs only while the local table `table` (the name as in single-node mode)
 * has `column`: a re-run after the table was renamed or dropped skips it.
 */
export interface GuardedStatement {
  sql: string;
  whileColumn: { table: string; column: string };
}
export type MigrationStatement = string | GuardedStatement;
export const sqlOf = (st: MigrationStatement): string => (typeof st === 'string' ? st : st.sql);

/** The spans columns from version 2 on, in order. */
const SPANS_V2_COLUMNS = `trace_id String CODEC(ZSTD(1)),
  span_id String CODEC(ZSTD(1)),
  parent_span_id String CODEC(ZSTD(1)),
  trace_state String CODEC(ZSTD(1)),
  flags UInt32,
  name LowCardinality(String),
  kind UInt8,
  service LowCardinality(String),
  start_us Int64 CODEC(Delta, ZSTD(1)),
  duration_us Int64 CODEC(T64, ZSTD(1)),
  status_code UInt8,
  status_message String CODEC(ZSTD(1)),
  attr_keys Array(LowCardinality(String)) CODEC(ZSTD(3)),
  attr_types Array(LowCardinality(String)) CODEC(ZSTD(3)),
  attr_values Array(String) CODEC(ZSTD(3)),
  resource LowCardinality(String) CODEC(ZSTD(1)),
  scope_name LowCardinality(String),
  scope_version LowCardinality(String),
  events String CODEC(ZSTD(3)),
  links String CODEC(ZSTD(3)),
  dropped_attributes Nullable(UInt32),
  dropped_events Nullable(UInt32),
  dropped_links Nullable(UInt32),
  tags Array(LowCardinality(String)) CODEC(ZSTD(3)),
  latency_bin UInt16 CODEC(T64, ZSTD(1)),
  first_write UInt8,
  version UInt64 CODEC(DoubleDelta, ZSTD(1))`;

/** A version-1 row as a version-2 row (the SELECT list converting the old table, in SPANS_V2_COLUMNS order). */
const V1_TO_V2 = `trace_id, span_id, parent_span_id, trace_state, flags, name, kind, service, start_us, duration_us,
  status_code, status_message, attr_keys, attr_types, attr_values, toJSONString((res_keys, res_types, res_values)),
  scope_name, scope_version, events, links, dropped_attributes, dropped_events, dropped_links,
  arrayFilter(t -> NOT has(arrayMap((k, v) -> concat(k, '=', v), attr_keys, attr_values), t), tags),
  latency_bin, first_write, version`;

/**
 * Version 2: smaller spans, read in smaller granules (README "Bytes per span" and "Latency").
 * `spans` is rebuilt (ClickHouse cannot change index_granularity or a column's meaning in
 * place): the views on it are dropped, a `spans_v2` table is created and filled from `spans`
 * (converted), swapped in by renames, and the views are created again. Each step is guarded or
 * IF [NOT] EXISTS, so a re-run after an interruption carries on (a copy interrupted half-way
 * and re-run leaves duplicate rows, which ReplacingMergeTree and the readers' `LIMIT 1 BY`
 * collapse). A fresh database runs v1 then v2 on empty tables and ends with the same schema.
 * - `resource` (one LowCardinality JSON value `[keys, types, values]`) replaces the three
 *   `res_*` arrays: a process's resource is the same on every span it sends.
 * - `tags` no longer repeats the span's attributes: the search expression `TERMS_EXPR` derives
 *   their terms from `attr_keys`/`attr_values`, and the bloom filter (`idx_terms`) is built on
 *   it. `tags` (resource, event and derived terms, which repeat a lot) is LowCardinality.
 * - Codecs: DoubleDelta for `version` (increasing per batch), T64 for the duration and the
 *   latency bin, ZSTD(3) for the attribute arrays and tags.
 * - `index_granularity = 1024` (default 8192): a trace's spans lie in one granule per service
 *   (the ordering key leads with the service), and a trace read decompresses whole granules.
 * - span_metrics: Delta for the minute, T64 for the counters (in place).
 * Cluster mode: the copy runs on the node migrate talks to only; upgrading a v1 cluster that
 * holds data is not supported (README).
 */
export function compactSpansSchema(s: Schema): MigrationStatement[] {
  const on = s.onCluster;
  const named = (base: string) => `${ident(s.database)}.${ident(s.cluster ? `${base}_local` : base)}`;
  const views = (['trace_index', 'operations', 'span_metrics'] as const);
  return [
    ...views.map((v) => `DROP VIEW IF EXISTS ${s.mv(v)}${on}`),
    spansTableV2(s, 'spans_v2'),
    { sql: `INSERT INTO ${named('spans_v2')} SELECT ${V1_TO_V2} FROM ${named('spans')}`, whileColumn: { table: 'spans', column: 'res_keys' } },
    { sql: `RENAME TABLE ${named('spans')} TO ${named('spans_v1')}${on}`, whileColumn: { table: 'spans', column: 'res_keys' } },
    { sql: `RENAME TABLE ${named('spans_v2')} TO ${named('spans')}${on}`, whileColumn: { table: 'spans_v2', column: 'trace_id' } },
    `DROP TABLE IF EXISTS ${named('spans_v1')}${on}`,
    // The Distributed table in front copied the old columns: made again over the new table.
    ...(s.cluster ? [`DROP TABLE IF EXISTS ${s.table('spans')}${on}`, ...s.distributed('spans', 'cityHash64(trace_id)')] : []),
    ...views.map((v) => mvStatement(s, v)),
    ...spanMetricsCodecs(s),
  ];
}

function spanMetricsCodecs(s: Schema): string[] {
  const on = s.onCluster;
  const metrics = s.local('span_metrics');
  return [
    `ALTER TABLE ${metrics}${on} MODIFY COLUMN minute Int64 CODEC(Delta, ZSTD(1))`,
    `ALTER TABLE ${metrics}${on} MODIFY COLUMN calls UInt64 CODEC(T64, ZSTD(1))`,
    `ALTER TABLE ${metrics}${on} MODIFY COLUMN errors UInt64 CODEC(T64, ZSTD(1))`,
  ];
}

/** The spans table from version 2 on, as `base` (`spans`, or `spans_v2` while migrating). */
function spansTableV2(s: Schema, base: 'spans' | 'spans_v2'): string {
  const name = `${ident(s.database)}.${ident(s.cluster ? `${base}_local` : base)}`;
  return `CREATE TABLE IF NOT EXISTS ${name}${s.onCluster} (
  ${SPANS_V2_COLUMNS},
  INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
  INDEX idx_terms ${TERMS_EXPR} TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_duration duration_us TYPE minmax GRANULARITY 1
) ${s.engine('Replacing', base, 'version')}
PARTITION BY toDate(${secondsOf('start_us')})
ORDER BY (service, start_us, trace_id, span_id, kind)
SETTINGS index_granularity = 1024`;
}

/**
 * The latest schema straight away, for a database with no migration applied: what versions 1
 * and 2 end in, as IF NOT EXISTS statements only (no copy, no renames), so several processes
 * starting at once on a fresh database all succeed, as with version 1 alone.
 */
export function freshSchema(s: Schema): string[] {
  const v1Spans = `CREATE TABLE IF NOT EXISTS ${s.local('spans')}${s.onCluster} (`;
  return [spansTableV2(s, 'spans'), ...initialSchema(s).filter((st) => !st.startsWith(v1Spans)), ...spanMetricsCodecs(s)];
}

const TTL_TABLES = ['spans', 'trace_index', 'span_metrics'] as const;

/** `ALTER … MODIFY TTL` statements for a retention of `days` (0 = none: the TTL is removed). */
export function ttlStatements(s: Schema, days: number): string[] {
  const on = s.onCluster;
  if (days <= 0) {
    return [
      `ALTER TABLE ${s.local('spans')}${on} REMOVE TTL`,
      `ALTER TABLE ${s.local('trace_index')}${on} REMOVE TTL`,
      `ALTER TABLE ${s.local('span_metrics')}${on} REMOVE TTL`,
    ];
  }
  const d = Math.ceil(days);
  return [
    // Day partitions expire whole: drop a part once all its rows expired instead of rewriting
    // parts to remove rows (the data lives up to a day past the TTL).
    ...TTL_TABLES.map((t) => `ALTER TABLE ${s.local(t)}${on} MODIFY SETTING ttl_only_drop_parts = 1`),
    `ALTER TABLE ${s.local('spans')}${on} MODIFY TTL ${secondsOf('start_us')} + INTERVAL ${d} DAY`,
    `ALTER TABLE ${s.local('trace_index')}${on} MODIFY TTL day + INTERVAL ${d + 1} DAY`,
    `ALTER TABLE ${s.local('span_metrics')}${on} MODIFY TTL toDateTime(minute * 60, 'UTC') + INTERVAL ${d} DAY`,
  ];
}
