/**
 * The all-in-one server with `--storage clickhouse` on the real engine (chdb behind the embedded
 * ClickHouse HTTP server, reached by the production client): spans from unmodified OTel SDKs come
 * back through the Jaeger API, and a ClickHouse that goes down makes the receivers answer 503 +
 * Retry-After until it is back.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../all-in-one/config.js';
import { startEmbeddedClickHouse, type EmbeddedClickHouse } from './support/clickhouse-http.js';
import { sdkProvider } from './helpers/otel.js';
import { runCli } from './helpers/process.js';
import { eventually, getJson, startTestServer, type TestServer } from './helpers/server.js';

let ch: EmbeddedClickHouse;
let server: TestServer;
let traceId: string;

beforeAll(async () => {
  ch = await startEmbeddedClickHouse();
  server = await startTestServer({ storage: 'clickhouse', clickhouseUrl: ch.url, clickhouseDatabase: 'e2e' });
  const frontend = sdkProvider({ otlpHttpUrl: server.otlpHttpUrl, service: 'frontend', encoding: 'protobuf' });
  const backend = sdkProvider({ otlpHttpUrl: server.otlpHttpUrl, service: 'backend', encoding: 'json' });
  const t0 = Date.now() - 100;
  const root = frontend.getTracer('web').startSpan('GET /checkout', { kind: SpanKind.SERVER, startTime: t0, attributes: { 'http.response.status_code': 200 } });
  const client = frontend.getTracer('web').startSpan('POST /charge', { kind: SpanKind.CLIENT, startTime: t0 + 10 }, trace.setSpan(ROOT_CONTEXT, root));
  const srv = backend.getTracer('api').startSpan('POST /charge', { kind: SpanKind.SERVER, startTime: t0 + 20 }, trace.setSpan(ROOT_CONTEXT, client));
  const db = backend.getTracer('api').startSpan('SELECT payments', { kind: SpanKind.CLIENT, startTime: t0 + 30, attributes: { 'db.system': 'sqlite' } }, trace.setSpan(ROOT_CONTEXT, srv));
  db.addEvent('retry', { attempt: 2 });
  db.setStatus({ code: SpanStatusCode.ERROR, message: 'database is locked' });
  db.end(t0 + 60);
  srv.end(t0 + 70);
  client.end(t0 + 80);
  root.end(t0 + 90);
  traceId = root.spanContext().traceId;
  await Promise.all([frontend.forceFlush(), backend.forceFlush()]);
  await Promise.all([frontend.shutdown(), backend.shutdown()]);
});

afterAll(async () => {
  await server?.stop();
  await ch?.close();
});

describe('all-in-one --storage clickhouse', () => {
  it('returns the SDK trace by id with its references, and lists services and operations', async () => {
    const { body } = await eventually(async () => {
      const r = await getJson(`${server.queryUrl}/api/traces/${traceId}`);
      return r.status === 200 && r.body.data[0]?.spans.length === 4 ? r : undefined;
    });
    const spans = body.data[0].spans as { operationName: string; spanID: string; references: { spanID: string }[] }[];
    const byName = (n: string) => spans.filter((s) => s.operationName === n);
    const [dbSpan] = byName('SELECT payments');
    const serverSpan = byName('POST /charge').find((s) => s.spanID === dbSpan.references[0].spanID);
    expect(serverSpan).toBeDefined();
    expect((await getJson(`${server.queryUrl}/api/services`)).body.data).toEqual(['backend', 'frontend']);
    expect((await getJson(`${server.queryUrl}/api/services/backend/operations`)).body.data).toEqual(['POST /charge', 'SELECT payments']);
  });

  it('searches by service and tag, and computes dependencies and span metrics', async () => {
    const tags = encodeURIComponent(JSON.stringify({ 'db.system': 'sqlite' }));
    const found = await getJson(`${server.queryUrl}/api/traces?service=backend&tags=${tags}&lookback=1h&limit=20`);
    expect(found.body.data.map((t: { traceID: string }) => t.traceID)).toEqual([traceId]);
    const none = await getJson(`${server.queryUrl}/api/traces?service=frontend&tags=${tags}&lookback=1h&limit=20`);
    expect(none.body.data).toEqual([]);
    const deps = await getJson(`${server.queryUrl}/api/dependencies?endTs=${Date.now() + 60_000}&lookback=3600000`);
    expect(deps.body.data).toEqual([expect.objectContaining({ parent: 'frontend', child: 'backend', callCount: 1 })]);
    const calls = await getJson(`${server.queryUrl}/api/metrics/calls?service=backend&spanKind=client&endTs=${Date.now() + 60_000}&lookback=3600000&step=60000&ratePer=60000`);
    expect(calls.status).toBe(200);
    expect(calls.body.metrics.length).toBeGreaterThan(0);
  });

  it('answers 503 + Retry-After while ClickHouse is down, and stores again once it is back', async () => {
    const id = 'a'.repeat(31) + '1';
    const body = JSON.stringify({
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'outage' } }] },
        scopeSpans: [{ spans: [{ traceId: id, spanId: 'b'.repeat(16), name: 'during', kind: 2, startTimeUnixNano: `${Date.now()}000000`, endTimeUnixNano: `${Date.now() + 1}000000` }] }],
      }],
    });
    const post = () => fetch(`${server.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    ch.setDown(true);
    try {
      const refused = await post();
      expect(refused.status).toBe(503);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      ch.setDown(false);
    }
    const accepted = await post();
    expect(accepted.status).toBe(200);
    const r = await getJson(`${server.queryUrl}/api/traces/${id}`);
    expect(r.body.data[0].spans.map((s: { operationName: string }) => s.operationName)).toEqual(['during']);
  });

  it('refuses --max-size with --storage clickhouse, and --clickhouse-no-migrate on a database never migrated', async () => {
    await expect(startTestServer({ storage: 'clickhouse', clickhouseUrl: ch.url, maxSize: '1GiB' })).rejects.toThrow(ConfigError);
    await expect(startTestServer({ storage: 'clickhouse', clickhouseUrl: ch.url, clickhouseDatabase: 'never_migrated', clickhouseNoMigrate: 'true' }))
      .rejects.toThrow(/schema_migrations|lacks schema migrations/);
  });
});

describe('meshtrace storage migrate', () => {
  it('applies the migrations once, then reports the database up to date; --print shows the cluster DDL', async () => {
    const args = ['storage', 'migrate', '--clickhouse-url', ch.url, '--clickhouse-database', 'cli_db'];
    const first = await runCli(args);
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe(`applied migrations 1, 2 to cli_db at ${ch.url}\n`);
    const again = await runCli(args);
    expect(again.stdout).toBe(`cli_db at ${ch.url} is up to date\n`);
    expect(await ch.query('SELECT count() FROM cli_db.spans')).toBe('0\n');
    const printed = await runCli(['storage', 'migrate', '--print'], { MESHTRACE_CLICKHOUSE_CLUSTER: 'c1' });
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain("CREATE TABLE IF NOT EXISTS `meshtrace`.`spans_local` ON CLUSTER 'c1'");
    const bad = await runCli(['storage', 'migrate', '--clickhouse-database', 'no-dashes']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--clickhouse-database (MESHTRACE_CLICKHOUSE_DATABASE)');
  }, 90_000); // four CLI processes, and migration 2 is some twenty statements (17 s for the first run at load 50 on 2 cores)

  it('with --tenants migrates each tenant\'s database, which servers started with --clickhouse-no-migrate then use', async () => {
    const out = await runCli(['storage', 'migrate', '--clickhouse-url', ch.url, '--clickhouse-database', 'cli_t', '--tenants', 'acme,globex']);
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe(`applied migrations 1, 2 to cli_t_acme at ${ch.url}\napplied migrations 1, 2 to cli_t_globex at ${ch.url}\n`);
    const settings = { storage: 'clickhouse', clickhouseUrl: ch.url, clickhouseDatabase: 'cli_t', clickhouseNoMigrate: 'true', controlPlanePort: 'off' } as const;
    const server = await startTestServer({ ...settings, tenants: 'acme,globex' });
    await server.stop();
    await expect(startTestServer({ ...settings, tenants: 'acme,initech' })).rejects.toThrow(/cli_t_initech/);
    const bad = await runCli(['storage', 'migrate', '--tenants', 'Acme']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--tenants (MESHTRACE_TENANTS): tenant 'Acme' is not a valid name");
  });
});
