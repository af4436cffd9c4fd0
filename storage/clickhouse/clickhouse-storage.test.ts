/**
 * The ClickHouse backend on the real engine (chdb) through the production client over HTTP
 * (test/support/clickhouse-http.ts): the unchanged storage contract suite, plus what is
 * specific to this backend.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadHttpAnswer, STORAGE_RETRY_AFTER_SECONDS } from '../../collector/pipeline.js';
import { startEmbeddedClickHouse, type EmbeddedClickHouse } from '../../test/support/clickhouse-http.js';
import { runStorageContract } from '../contract.js';
import { SpanKind } from '../../model/span.js';
import { bySpanId, DAY_US, HOUR_US, makeCallTrace, makeSpan, MINUTE_US, newTraceId, nowUs } from '../testdata/fixtures.js';
import { ClickHouseWriteError, openClickHouseStorage } from './index.js';
import { allStatements, appliedVersions, migrate, MIGRATIONS } from './migrations.js';
import { Schema, sqlOf, TERMS_EXPR, ttlStatements } from './schema.js';
import { toRow } from './span-row.js';
import { attributeValueAsString, type Span } from '../../model/span.js';

let ch: EmbeddedClickHouse;
let n = 0;
beforeAll(async () => { ch = await startEmbeddedClickHouse(); });
afterAll(async () => { await ch?.close(); });

// One engine per process (chdb): each storage gets a database of its own.
runStorageContract('clickhouse', () => openClickHouseStorage({ url: ch.url, database: `contract_${++n}` }));

describe('clickhouse storage: schema and migrations', () => {
  const db = () => `specific_${++n}`;

  it('migrates an empty database once; reopening applies nothing and keeps the data', async () => {
    const database = db();
    const first = await openClickHouseStorage({ url: ch.url, database });
    const t = makeCallTrace({ startTimeUs: nowUs() - MINUTE_US });
    await first.writer.writeSpans(t);
    await first.close();
    const client = createClient({ url: ch.url });
    try {
      const schema = new Schema({ database });
      expect(await appliedVersions(client, schema)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await migrate(client, schema)).toEqual([]); // up to date: nothing applied
      const again = await openClickHouseStorage({ url: ch.url, database });
      try {
        const [trace] = await again.reader.getTraces({ traceIds: [t[0].traceId] });
        expect(bySpanId(trace.spans)).toEqual(bySpanId(t));
      } finally {
        await again.close();
      }
      const rows = await (await client.query({ query: `SELECT version, count() AS c FROM ${schema.table('schema_migrations')} GROUP BY version ORDER BY version`, format: 'JSONEachRow' })).json<{ version: number; c: string | number }>();
      expect(rows.map((r) => [Number(r.version), Number(r.c)])).toEqual(MIGRATIONS.map((m) => [m.version, 1]));
    } finally {
      await client.close();
    }
  });

  it('upgrading a v1 database with data ends in the schema of a fresh one, and its spans read back and are found by tag', async () => {
    const old = db();
    const schema = new Schema({ database: old });
    const client = createClient({ url: ch.url });
    const now = nowUs();
    const t = makeCallTrace({ startTimeUs: now - MINUTE_US });
    t[1].attributes = [{ key: 'peer', type: 'string', value: 'backend' }, { key: 'n', type: 'int64', value: 7 }];
    t[2].resource.attributes = [{ key: 'host.name', type: 'string', value: 'b-1' }];
    try {
      // Version 1 as it was: its statements, its ledger row, rows in its shape (three res_* arrays,
      // every attribute term in tags).
      await client.command({ query: schema.createDatabase() });
      await client.command({ query: schema.createMigrationsTable() });
      for (const st of MIGRATIONS[0].statements(schema)) await client.command({ query: sqlOf(st) });
      await client.insert({ table: schema.table('schema_migrations'), values: [{ version: 1, name: MIGRATIONS[0].name }], format: 'JSONEachRow' });
      await client.insert({ table: schema.table('spans'), values: t.map(v1Row), format: 'JSONEachRow' });

      const upgraded = await openClickHouseStorage({ url: ch.url, database: old });
      try {
        const [trace] = await upgraded.reader.getTraces({ traceIds: [t[0].traceId] });
        expect(bySpanId(trace.spans)).toEqual(bySpanId(t));
        const window = { startTimeMinUs: now - HOUR_US, startTimeMaxUs: now, limit: 10 };
        expect(await upgraded.reader.findTraceIds({ ...window, tags: { peer: 'backend' } })).toEqual([t[0].traceId]);
        expect(await upgraded.reader.findTraceIds({ ...window, tags: { 'host.name': 'b-1', n: '7' } })).toEqual([t[0].traceId]);
        expect(await upgraded.reader.findTraceIds({ ...window, tags: { 'host.name': 'b-2' } })).toEqual([]);
        // Spans written after the upgrade, in the new shape, are found the same way.
        const t2 = makeCallTrace({ startTimeUs: now - 2 * MINUTE_US });
        t2[1].attributes = [{ key: 'peer', type: 'string', value: 'backend' }];
        await upgraded.writer.writeSpans(t2);
        expect(await upgraded.reader.findTraceIds({ ...window, tags: { peer: 'backend' } })).toEqual([t[0].traceId, t2[0].traceId]);
      } finally {
        await upgraded.close();
      }
      const fresh = db();
      await (await openClickHouseStorage({ url: ch.url, database: fresh })).close();
      for (const table of ['spans', 'trace_index', 'operations', 'span_metrics', 'schema_migrations', 'trace_index_mv', 'operations_mv', 'span_metrics_mv']) {
        const ddl = async (database: string) => {
          const found = await ch.query(`SELECT create_table_query FROM system.tables WHERE database = '${database}' AND name = '${table}'`);
          return found.replaceAll(database, 'DB');
        };
        expect(await ddl(old), table).toEqual(await ddl(fresh));
      }
      expect(await ch.query(`SELECT name FROM system.columns WHERE database = '${old}' AND table = 'spans' AND startsWith(name, 'res_')`)).toBe('');
      expect(await ch.query(`SELECT name FROM system.tables WHERE database = '${old}' ORDER BY name`)).toBe(await ch.query(`SELECT name FROM system.tables WHERE database = '${fresh}' ORDER BY name`));
      // The copy converted each row once: the old tags kept only what is not a span attribute.
      expect(await ch.query(`SELECT count() FROM ${old}.spans WHERE trace_id = '${t[0].traceId}'`)).toBe('3\n');
      expect(await ch.query(`SELECT tags FROM ${old}.spans WHERE span_id = '${t[1].spanId}'`)).not.toMatch(/peer=backend/);
      // Migrating again changes nothing.
      const again = createClient({ url: ch.url });
      try {
        expect(await migrate(again, new Schema({ database: old }))).toEqual([]);
      } finally {
        await again.close();
      }
      expect(await ch.query(`SELECT groupArray(name) FROM system.data_skipping_indices WHERE database = '${old}' AND table = 'spans'`)).toBe("['idx_trace_id','idx_terms','idx_duration']\n");
    } finally {
      await client.close();
    }
  });

  it('a tag search reads only the granules whose bloom filter may hold the term (idx_terms)', async () => {
    const database = db();
    const s = await openClickHouseStorage({ url: ch.url, database });
    try {
      const now = nowUs();
      // Two parts of one service; only the second holds the term.
      await s.writer.writeSpans([makeSpan({ traceId: newTraceId(), service: 'svc', startTimeUs: now - 2 * MINUTE_US, attributes: [{ key: 'k', type: 'string', value: 'a' }] })]);
      await s.writer.writeSpans([makeSpan({ traceId: newTraceId(), service: 'svc', startTimeUs: now - MINUTE_US, attributes: [{ key: 'k', type: 'string', value: 'b' }] })]);
      const plan = await ch.query(`EXPLAIN indexes = 1 SELECT trace_id FROM ${database}.spans WHERE service = 'svc' AND has(${TERMS_EXPR}, CAST('k=b' AS String))`);
      expect(plan).toMatch(/Name: idx_terms\s+Description: bloom_filter GRANULARITY 1\s+Parts: 1\/2\s+Granules: 1\/2/);
    } finally {
      await s.close();
    }
  });

  it('with migrate: false refuses a database that was never migrated, and opens a migrated one', async () => {
    const database = db();
    await expect(openClickHouseStorage({ url: ch.url, database, migrate: false })).rejects.toThrow(/schema_migrations|lacks schema migrations/);
    await (await openClickHouseStorage({ url: ch.url, database })).close();
    const s = await openClickHouseStorage({ url: ch.url, database, migrate: false });
    await s.close();
  });

  it('sets the TTL from the retention on the tables that hold time-ordered data', async () => {
    const database = db();
    const s = await openClickHouseStorage({ url: ch.url, database, ttlDays: 7 });
    try {
      const ddl = await ch.query(`SHOW CREATE TABLE ${database}.spans`);
      expect(ddl.replace(/\\'/g, "'")).toMatch(/TTL toDateTime\(intDiv\(start_us, 1000000\), 'UTC'\) \+ toIntervalDay\(7\)/);
      expect(ddl).toMatch(/ttl_only_drop_parts = 1/);
      expect(await ch.query(`SHOW CREATE TABLE ${database}.span_metrics`)).toMatch(/TTL .*toIntervalDay\(7\)/);
    } finally {
      await s.close();
    }
    // Retention 0 (keep forever) removes the TTL, also when there is none.
    for (let i = 0; i < 2; i++) await (await openClickHouseStorage({ url: ch.url, database, ttlDays: 0 })).close();
    expect(await ch.query(`SHOW CREATE TABLE ${database}.spans`)).not.toMatch(/\bTTL\b/);
  });

  it('cluster DDL (ON CLUSTER, Replicated engines, Distributed tables) is accepted by the engine parser', async () => {
    const schema = new Schema({ database: 'meshtrace', cluster: 'traces_cluster' });
    // The fresh path, the v1 → v2 upgrade path, and the TTL statements.
    const statements = [...allStatements(schema), ...MIGRATIONS.flatMap((m) => m.statements(schema).map(sqlOf)), ...ttlStatements(schema, 3), ...ttlStatements(schema, 0)];
    const client = createClient({ url: ch.url });
    try {
      for (const sql of statements) {
        // formatQuery parses without executing (no cluster needed); a syntax error throws.
        const [r] = await (await client.query({ query: 'SELECT formatQuery({sql:String}) AS f', query_params: { sql }, format: 'JSONEachRow' })).json<{ f: string }>();
        // INSERT has no ON CLUSTER (the v2 copy runs on one node: README).
        expect(r.f, sql).toMatch(/^INSERT/.test(sql) ? /^INSERT INTO meshtrace\.spans_v2_local SELECT/ : /ON CLUSTER traces_cluster/);
      }
      const joined = statements.join('\n');
      expect(joined).toMatch(/ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/\{shard\}\/meshtrace\/spans', '\{replica\}', version\)/);
      expect(joined).toMatch(/`spans` ON CLUSTER 'traces_cluster' AS `meshtrace`\.`spans_local`\s+ENGINE = Distributed\('traces_cluster', 'meshtrace', 'spans_local', cityHash64\(trace_id\)\)/);
      expect(joined).toMatch(/`trace_index_local_mv` ON CLUSTER 'traces_cluster' TO `meshtrace`\.`trace_index_local`/);
      // A deliberately broken statement is rejected by the same check: the check can fail.
      await expect(client.query({ query: 'SELECT formatQuery({sql:String})', query_params: { sql: statements[2].replace('PARTITION BY', 'PARTITION') }, format: 'JSON' })).rejects.toThrow(/Syntax error/);
    } finally {
      await client.close();
    }
  });

  it('a time window reads only the parts of its days (partition pruning on start_us)', async () => {
    const database = db();
    const s = await openClickHouseStorage({ url: ch.url, database });
    try {
      const now = nowUs();
      // Three days, one insert (part) each.
      for (const daysAgo of [0, 2, 4]) await s.writer.writeSpans(makeCallTrace({ startTimeUs: now - daysAgo * DAY_US }));
      const plan = await ch.query(`EXPLAIN indexes = 1 SELECT trace_id FROM ${database}.spans WHERE start_us BETWEEN ${now - HOUR_US} AND ${now + MINUTE_US}`);
      // The min/max of the partition key's column (start_us) keeps 1 of the 3 parts.
      expect(plan).toMatch(/Min-Max\s+Keys:\s+start_us\s+Condition: [^\n]*\n\s+Parts: 1\/3/);
    } finally {
      await s.close();
    }
  });

  it('rejects database names that are not identifiers', () => {
    expect(() => new Schema({ database: 'a-b; DROP' })).toThrow(/identifier/);
  });
});

describe('clickhouse storage: writes', () => {
  it('counts a span once in span metrics even when the same span is written by concurrent calls', async () => {
    const s = await openClickHouseStorage({ url: ch.url, database: `writes_${++n}` });
    try {
      const now = nowUs();
      const span = makeSpan({ traceId: newTraceId(), service: 'svc', name: 'op', kind: SpanKind.SERVER, startTimeUs: now - MINUTE_US });
      await Promise.all([s.writer.writeSpans([span]), s.writer.writeSpans([span]), s.writer.writeSpans([{ ...span }])]);
      const buckets = await s.spanMetrics.getSpanMetrics({ serviceNames: ['svc'], spanKinds: [], startUs: now - HOUR_US, endUs: now });
      expect(buckets.map((b) => b.calls)).toEqual([1]);
      const [trace] = await s.reader.getTraces({ traceIds: [span.traceId] });
      expect(trace.spans).toEqual([span]);
    } finally {
      await s.close();
    }
  });
});

describe('clickhouse storage: async inserts', () => {
  it('with asyncInsert, a batch goes in with async_insert=1 and wait_for_async_insert=1, the engine accepts them, and it is readable once the write resolves', async () => {
    const s = await openClickHouseStorage({ url: ch.url, database: `async_${++n}`, asyncInsert: true });
    const seen: string[][] = [];
    ch.onQuery((q) => { if (/^\s*INSERT INTO `async_\d+`\.`spans`/.test(q.sql)) seen.push(q.settings); });
    try {
      const t = makeCallTrace({ startTimeUs: nowUs() - MINUTE_US });
      await s.writer.writeSpans(t);
      expect(seen).toEqual([expect.arrayContaining(['async_insert = 1', 'wait_for_async_insert = 1'])]);
      const [trace] = await s.reader.getTraces({ traceIds: [t[0].traceId] });
      expect(bySpanId(trace.spans)).toEqual(bySpanId(t));
    } finally {
      ch.onQuery(undefined);
      await s.close();
    }
  });

  it('without it, inserts carry neither setting', async () => {
    const s = await openClickHouseStorage({ url: ch.url, database: `sync_${++n}` });
    const seen: string[][] = [];
    ch.onQuery((q) => { if (/^\s*INSERT INTO `sync_\d+`\.`spans`/.test(q.sql)) seen.push(q.settings); });
    try {
      await s.writer.writeSpans(makeCallTrace({ startTimeUs: nowUs() - MINUTE_US }));
      expect(seen).toHaveLength(1);
      expect(seen[0].filter((x) => /async_insert/.test(x))).toEqual([]);
    } finally {
      ch.onQuery(undefined);
      await s.close();
    }
  });
});

describe('clickhouse storage: search order', () => {
  it('orders by trace start, not by the start of the matching span, across candidate pages', async () => {
    const s = await openClickHouseStorage({ url: ch.url, database: `order_${++n}` });
    try {
      const now = nowUs();
      // `late`: its matching span (service m) is the newest of all, but the trace started first.
      const late = newTraceId();
      const root = makeSpan({ traceId: late, service: 'gateway', startTimeUs: now - 50 * MINUTE_US });
      const lateMatch = makeSpan({ traceId: late, service: 'm', parentSpanId: root.spanId, startTimeUs: now - 10_000 });
      // 150 traces whose only span matches, started between 1 and 150 s ago: more than a page.
      const others = Array.from({ length: 150 }, (_, i) => makeSpan({ traceId: newTraceId(), service: 'm', startTimeUs: now - (i + 1) * 1_000_000 }));
      await s.writer.writeSpans([root, lateMatch, ...others]);
      const q = { serviceName: 'm', startTimeMinUs: now - HOUR_US, startTimeMaxUs: now, limit: 200 };
      expect(await s.reader.findTraceIds(q)).toEqual([...others.map((o) => o.traceId), late]);
      expect(await s.reader.findTraceIds({ ...q, limit: 3 })).toEqual(others.slice(0, 3).map((o) => o.traceId));
      expect(await s.reader.findTraceIds({ ...q, startTimeMinUs: now - 30_000_000, limit: 100 })).toEqual([...others.slice(0, 30).map((o) => o.traceId), late]);
    } finally {
      await s.close();
    }
  });
});

describe('clickhouse storage: search over time slices', () => {
  it('finds a trace whose operation and tag match on spans far apart in time (the window is read whole for two terms)', async () => {
    const s = await openClickHouseStorage({ url: ch.url, database: `slices_${++n}` });
    try {
      const now = nowUs();
      const traceId = newTraceId();
      const old = makeSpan({ traceId, service: 'm', name: 'load', startTimeUs: now - 40 * MINUTE_US, attributes: [{ key: 'tier', type: 'string', value: 'pro' }] });
      const recent = makeSpan({ traceId, service: 'm', name: 'render', parentSpanId: old.spanId, startTimeUs: now - 10_000_000 });
      // Newer traces matching only one of the terms each.
      const decoys = Array.from({ length: 5 }, (_, i) => makeSpan({ traceId: newTraceId(), service: 'm', name: 'render', startTimeUs: now - (i + 1) * 1_000_000 }));
      await s.writer.writeSpans([old, recent, ...decoys]);
      const q = { serviceName: 'm', startTimeMinUs: now - HOUR_US, startTimeMaxUs: now, limit: 10 };
      expect(await s.reader.findTraceIds({ ...q, operationName: 'render', tags: { tier: 'pro' } })).toEqual([traceId]);
      // One term: the newest slice already holds the newest traces; older slices still count when needed.
      expect(await s.reader.findTraceIds({ ...q, operationName: 'render', limit: 2 })).toEqual(decoys.slice(0, 2).map((d) => d.traceId));
      expect(await s.reader.findTraceIds({ ...q, tags: { tier: 'pro' } })).toEqual([traceId]);
      expect(await s.reader.findTraceIds({ ...q, operationName: 'render' })).toEqual([...decoys.map((d) => d.traceId), traceId]);
    } finally {
      await s.close();
    }
  });
});

describe('clickhouse storage: a ClickHouse that is down', () => {
  it('opening fails with a message naming the address', async () => {
    const ch2 = await startEmbeddedClickHouseUnused();
    await expect(openClickHouseStorage({ url: ch2, database: 'x', requestTimeoutMs: 2000 })).rejects.toThrow(new RegExp(`ClickHouse at ${ch2.replace(/\./g, '\\.')} is unreachable`));
  });

  it('the writer rejects with ClickHouseWriteError (→ 503 in the collector) while down, and writes again once it is back', async () => {
    const s = await openClickHouseStorage({ url: ch.url, database: `down_${++n}`, requestTimeoutMs: 2000 });
    try {
      const t = makeCallTrace({ startTimeUs: nowUs() - MINUTE_US });
      ch.setDown(true);
      const err = await s.writer.writeSpans(t).catch((e: unknown) => e);
      ch.setDown(false);
      expect(err).toBeInstanceOf(ClickHouseWriteError);
      expect((err as Error).message).toMatch(/writing 3 spans failed: ClickHouse at .* is unreachable/);
      expect(payloadHttpAnswer(err, { error: () => undefined })).toMatchObject({ status: 503, retryAfterSeconds: STORAGE_RETRY_AFTER_SECONDS });
      expect(await s.reader.getTraces({ traceIds: [t[0].traceId] })).toEqual([]);
      await s.writer.writeSpans(t);
      const [trace] = await s.reader.getTraces({ traceIds: [t[0].traceId] });
      expect(trace.spans).toHaveLength(3);
    } finally {
      ch.setDown(false);
      await s.close();
    }
  });
});

describe('clickhouse storage: a ClickHouse too slow to answer', () => {
  it('the writer rejects after the request timeout (→ 503), and writes again once ClickHouse answers', async () => {
    const s = await openClickHouseStorage({ url: ch.url, database: `slow_${++n}`, requestTimeoutMs: 500 });
    try {
      const t = makeCallTrace({ startTimeUs: nowUs() - MINUTE_US });
      ch.setStalled(true);
      const started = Date.now();
      const err = await s.writer.writeSpans(t).catch((e: unknown) => e);
      ch.setStalled(false);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(err).toBeInstanceOf(ClickHouseWriteError);
      expect((err as Error).message).toMatch(/did not answer in time/);
      expect(payloadHttpAnswer(err, { error: () => undefined })).toMatchObject({ status: 503 });
      await s.writer.writeSpans(t);
      expect((await s.reader.getTraces({ traceIds: [t[0].traceId] }))[0].spans).toHaveLength(3);
      expect(await s.diskBytes()).toBeGreaterThan(0);
      expect(await s.oldestStartUs()).toBe(t[0].startTimeUs);
    } finally {
      ch.setStalled(false);
      await s.close();
    }
  });
});

/** A row as version 1 of the schema stored it (three resource arrays; every term in tags). */
function v1Row(span: Span): Record<string, unknown> {
  const { resource: _resource, tags, ...rest } = toRow(span, { firstWrite: true, version: 1 });
  const res = span.resource.attributes;
  return {
    ...rest,
    res_keys: res.map((a) => a.key), res_types: res.map((a) => a.type), res_values: res.map(attributeValueAsString),
    tags: [...span.attributes.map((a) => `${a.key}=${attributeValueAsString(a)}`), ...tags],
  };
}

/** The URL of a port nothing listens on (bound, then released). */
async function startEmbeddedClickHouseUnused(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}
