/**
 * Versioned schema migrations, recorded in `schema_migrations`. Each migration is a list of
 * statements written to be re-runnable (IF NOT EXISTS): a migration interrupted half-way, or two
 * instances starting at once, re-apply harmlessly, and the version row is written only after
 * every statement of its migration succeeded. Migrations are append-only: never edit a
 * released one, add the next version. A database with none applied gets the latest schema
 * directly (`freshSchema`: IF NOT EXISTS statements only) and every version recorded; the
 * upgrade test checks that this equals what the migrations end in. Version 2 rebuilds `spans`
 * (renames): upgrade a version-1 database from one process (`meshtrace storage migrate`, or
 * start one collector first), not from several starting at once.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { compactSpansSchema, freshSchema, initialSchema, sqlOf, type MigrationStatement, type Schema } from './schema.js';
import { rows } from './sql.js';

export interface Migration {
  version: number;
  name: string;
  statements(s: Schema): MigrationStatement[];
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial schema: spans, trace_index, operations, span_metrics', statements: initialSchema },
  { version: 2, name: 'compact spans: resource as one value, span attribute terms not stored twice, codecs', statements: compactSpansSchema },
];

/** Every statement that migrating an empty database runs, in order (for review and the parser test). */
export function allStatements(s: Schema): string[] {
  return [s.createDatabase(), s.createMigrationsTable(), ...freshSchema(s)];
}

/**
 * Mutations (a migration converting stored rows) finish on every replica before the next
 * statement, and a column is dropped only after the rows were converted from it.
 */
const SYNC = { mutations_sync: '2', alter_sync: '2' } as const;

async function hasColumn(client: ClickHouseClient, s: Schema, table: string, column: string): Promise<boolean> {
  const found = await rows<{ n: unknown }>(client,
    'SELECT count() AS n FROM system.columns WHERE database = {db:String} AND table = {table:String} AND name = {column:String}',
    { db: s.database, table: s.cluster ? `${table}_local` : table, column });
  return Number(found[0]?.n ?? 0) > 0;
}

export async function appliedVersions(client: ClickHouseClient, s: Schema): Promise<number[]> {
  const rs = await client.query({ query: `SELECT DISTINCT version FROM ${s.table('schema_migrations')} ORDER BY version`, format: 'JSONEachRow' });
  return (await rs.json<{ version: number | string }>()).map((r) => Number(r.version));
}

/** Applies what is missing; returns the versions applied now (empty when up to date). */
export async function migrate(client: ClickHouseClient, s: Schema): Promise<number[]> {
  await client.command({ query: s.createDatabase() });
  await client.command({ query: s.createMigrationsTable() });
  const done = new Set(await appliedVersions(client, s));
  const applied: number[] = [];
  if (done.size === 0) {
    // A fresh database gets the latest schema directly (what the migrations end in; tested).
    for (const sql of freshSchema(s)) await client.command({ query: sql, clickhouse_settings: SYNC });
    await client.insert({ table: s.table('schema_migrations'), values: MIGRATIONS.map((m) => ({ version: m.version, name: m.name })), format: 'JSONEachRow' });
    return MIGRATIONS.map((m) => m.version);
  }
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    for (const st of m.statements(s)) {
      if (typeof st !== 'string' && !(await hasColumn(client, s, st.whileColumn.table, st.whileColumn.column))) continue;
      await client.command({ query: sqlOf(st), clickhouse_settings: SYNC });
    }
    await client.insert({ table: s.table('schema_migrations'), values: [{ version: m.version, name: m.name }], format: 'JSONEachRow' });
    applied.push(m.version);
  }
  return applied;
}

/** Throws when the database lacks migrations this code needs (`--clickhouse-no-migrate` against an old schema). */
export async function checkMigrated(client: ClickHouseClient, s: Schema): Promise<void> {
  let done: Set<number>;
  try {
    done = new Set(await appliedVersions(client, s));
  } catch (err) {
    throw new Error(`clickhouse: cannot read ${s.database}.schema_migrations (run 'meshtrace storage migrate', or start once without --clickhouse-no-migrate): ${(err as Error).message}`);
  }
  const missing = MIGRATIONS.filter((m) => !done.has(m.version)).map((m) => m.version);
  if (missing.length) throw new Error(`clickhouse: database ${s.database} lacks schema migrations ${missing.join(', ')} (run 'meshtrace storage migrate', or start once without --clickhouse-no-migrate)`);
}
