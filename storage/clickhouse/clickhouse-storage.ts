/**
 * The ClickHouse backend: `Storage` over @clickhouse/client (HTTP). Opening checks the server
 * is reachable, applies schema migrations (unless `migrate: false`, then it checks they were
 * applied) and sets the TTL from the retention when one is given.
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Storage } from '../api.js';
import { ClickHouseDependencyReader, ClickHouseSpanMetricsReader, SPAN_METRICS_BUCKET_US } from './aggregates.js';
import { checkMigrated, migrate } from './migrations.js';
import { ClickHouseTraceReader } from './reader.js';
import { Schema, ttlStatements } from './schema.js';
import { num, rows } from './sql.js';
import { ClickHouseSpanWriter, describeFailure } from './writer.js';

export interface ClickHouseStorageOptions {
  /** e.g. http://127.0.0.1:8123 */
  url: string;
  /** Default 'meshtrace'. */
  database?: string;
  username?: string;
  password?: string;
  /** Apply missing migrations at open (default true); false = fail unless they were applied. */
  migrate?: boolean;
  /** Cluster name: ON CLUSTER DDL, Replicated + Distributed tables. */
  cluster?: string;
  /** Data older than this many days (rounded up) expires by TTL; 0 = no TTL; absent = TTL left as it is. */
  ttlDays?: number;
  /** Use ClickHouse async inserts (wait_for_async_insert=1: still acknowledged only when written). */
  asyncInsert?: boolean;
  /** Per-request timeout, ms (default 30 s). A slower ClickHouse makes writes fail → 503. */
  requestTimeoutMs?: number;
}

export interface ClickHouseStorage extends Storage {
  readonly schema: Schema;
  /** Bytes on disk of the active parts of meshtrace's tables (system.parts). */
  diskBytes(): Promise<number>;
  /** Start (µs) of the oldest stored span; undefined when empty. */
  oldestStartUs(): Promise<number | undefined>;
}

export async function openClickHouseStorage(opts: ClickHouseStorageOptions): Promise<ClickHouseStorage> {
  const url = new URL(opts.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`clickhouse: url must be http(s)://host:port, got '${opts.url}'`);
  const schema = new Schema({ database: opts.database ?? 'meshtrace', cluster: opts.cluster });
  const client: ClickHouseClient = createClient({
    url: opts.url,
    username: opts.username ?? 'default',
    password: opts.password ?? '',
    request_timeout: opts.requestTimeoutMs ?? 30_000,
    application: 'meshtrace',
    // Cluster mode: queries read Distributed tables and use subqueries over Distributed tables
    // (IN, JOIN), which ClickHouse refuses by default. Spans and trace_index are sharded by
    // trace id, so every trace is whole on one shard and evaluating those subqueries on each
    // shard's local tables is exact. (Not run on a real cluster in the tests: see README.)
    ...(schema.cluster ? { clickhouse_settings: { distributed_product_mode: 'local' } } : {}),
  });
  try {
    const ping = await client.ping();
    if (!ping.success) throw new Error(describeFailure(ping.error, opts.url));
    if (opts.migrate ?? true) await migrate(client, schema);
    else await checkMigrated(client, schema);
    if (opts.ttlDays !== undefined) {
      // Removing a TTL that is not there is an error to ClickHouse (and a logged one to the
      // client): only tables that have one get REMOVE TTL.
      const withTtl = opts.ttlDays > 0 ? [] : (await rows<{ name: string }>(client,
        "SELECT name FROM system.tables WHERE database = {db:String} AND engine_full LIKE '% TTL %'", { db: schema.database })).map((r) => `\`${r.name}\``);
      for (const sql of ttlStatements(schema, opts.ttlDays)) {
        if (/REMOVE TTL/.test(sql) && !withTtl.some((name) => sql.includes(name))) continue;
        await client.command({ query: sql });
      }
    }
  } catch (err) {
    await client.close();
    throw err;
  }
  return buildStorage(client, schema, opts);
}

function buildStorage(client: ClickHouseClient, schema: Schema, opts: ClickHouseStorageOptions): ClickHouseStorage {
  // Mutations wait for every replica (2): purge returns only when the data is gone everywhere.
  const sync = { mutations_sync: '2' } as const;
  const on = schema.onCluster;
  return {
    schema,
    writer: new ClickHouseSpanWriter(client, schema, { url: opts.url, asyncInsert: opts.asyncInsert }),
    reader: new ClickHouseTraceReader(client, schema),
    dependencies: new ClickHouseDependencyReader(client, schema),
    spanMetrics: new ClickHouseSpanMetricsReader(client, schema),

    /**
     * Exact purge (the contract's): whole days before the cutoff's day are dropped as partitions
     * (no rewrite), the rest of the cutoff's day is deleted by a mutation. The all-in-one server
     * relies on the TTL instead (see all-in-one/clickhouse-backend.ts): a mutation per minute
     * would rewrite the oldest day's parts every minute.
     */
    async purgeOlderThan(cutoffUs: number): Promise<number> {
      if (!Number.isSafeInteger(cutoffUs)) throw new Error(`purgeOlderThan: cutoff must be an integer (µs), got ${cutoffUs}`);
      const [counted] = await rows<{ n: unknown }>(client, `
        SELECT count() AS n FROM (
          SELECT 1 FROM ${schema.table('spans')} WHERE start_us < {cutoff:Int64} LIMIT 1 BY trace_id, span_id, kind)`, { cutoff: cutoffUs });
      const removed = num(counted?.n ?? 0);
      if (removed === 0) return 0;
      const params = { cutoff: cutoffUs, minute: Math.floor(cutoffUs / SPAN_METRICS_BUCKET_US) };
      // Tables partitioned by day (a Date partition value).
      for (const name of ['spans', 'trace_index', 'span_metrics'] as const) {
        const parts = await rows<{ id: string }>(client, `
          SELECT DISTINCT partition_id AS id FROM system.parts
          WHERE database = {db:String} AND table = {table:String} AND active
            AND toDate(partition) < toDate(toDateTime(intDiv({cutoff:Int64}, 1000000), 'UTC'))`,
          { db: schema.database, table: schema.cluster ? `${name}_local` : name, cutoff: cutoffUs });
        for (const p of parts) {
          // A literal is required here; partition ids of Date partitions are digits (YYYYMMDD).
          if (!/^\d+$/.test(p.id)) continue;
          await client.command({ query: `ALTER TABLE ${schema.local(name)}${on} DROP PARTITION ID '${p.id}'` });
        }
      }
      // The cutoff's own day: mutations (start_us prunes them to that day's parts).
      await client.command({ query: `ALTER TABLE ${schema.local('spans')}${on} DELETE WHERE start_us < {cutoff:Int64}`, query_params: params, clickhouse_settings: sync });
      await client.command({ query: `ALTER TABLE ${schema.local('trace_index')}${on} DELETE WHERE start_max < {cutoff:Int64}`, query_params: params, clickhouse_settings: sync });
      await client.command({ query: `ALTER TABLE ${schema.local('span_metrics')}${on} DELETE WHERE minute < {minute:Int64}`, query_params: params, clickhouse_settings: sync });
      await client.command({
        query: `ALTER TABLE ${schema.local('operations')}${on} DELETE WHERE day < toDate(toDateTime(intDiv({cutoff:Int64}, 1000000), 'UTC'))`,
        query_params: params, clickhouse_settings: sync,
      });
      return removed;
    },

    async diskBytes(): Promise<number> {
      const [r] = await rows<{ b: unknown }>(client,
        'SELECT sum(bytes_on_disk) AS b FROM system.parts WHERE active AND database = {db:String}', { db: schema.database });
      return num(r?.b ?? 0);
    },

    async oldestStartUs(): Promise<number | undefined> {
      const [r] = await rows<{ n: unknown; t: unknown }>(client, `SELECT count() AS n, min(start_min) AS t FROM ${schema.table('trace_index')}`);
      return r && num(r.n) > 0 ? num(r.t) : undefined;
    },

    async close(): Promise<void> {
      await client.close();
    },
  };
}
