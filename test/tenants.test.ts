/**
 * Tenants (`--tenants acme,globex`), end to end: two tenants write the SAME trace ids and an
 * overlapping service name through real OpenTelemetry SDK exporters (OTLP/HTTP with a header,
 * OTLP/gRPC with metadata) and Zipkin; every query endpoint answers each tenant with its own
 * services, traces, dependencies and metrics only; a request without a tenant or with an unknown
 * one is refused by every receiver (nothing stored) and every API route, while /health and the
 * UI's files stay open. test/tenants.clickhouse.test.ts runs the same file on ClickHouse.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { context, SpanKind, trace, type Span as ApiSpan } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollectorServer, startQueryServer } from '../all-in-one/server.js';
import { TRACE_SERVICE_DEFINITION } from '../collector/otlp-grpc/receiver.js';
import { eventually, startTestServer, type TestServer } from './helpers/server.js';

const TENANTS = ['acme', 'globex'] as const;
type Tenant = (typeof TENANTS)[number];
const other = (t: Tenant): Tenant => (t === 'acme' ? 'globex' : 'acme');
/** Both tenants use these trace ids. */
const T1 = 'a1'.repeat(16);
const T2 = 'b2'.repeat(16);

let server: TestServer;
let t0Ms: number;
let endTs: number;

function provider(service: string, exporter: SpanExporter, traceId = T1) {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    idGenerator: { generateTraceId: () => traceId, generateSpanId: () => randomBytes(8).toString('hex') },
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
}

function grpcMetadata(pairs: Record<string, string>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(pairs)) md.set(k, v);
  return md;
}

/**
 * Tenant t: `frontend` (both tenants' name) over OTLP/HTTP, its child in `<t>-backend` over
 * OTLP/gRPC, both in trace T1; `zipkin-<t>` over Zipkin in trace T2.
 */
async function writeTenant(t: Tenant): Promise<void> {
  const frontend = provider('frontend', new ProtoExporter({ url: `${server.otlpHttpUrl}/v1/traces`, headers: { 'x-tenant': t } }));
  const backend = provider(`${t}-backend`, new GrpcExporter({ url: `http://${server.otlpGrpcAddress}`, metadata: grpcMetadata({ 'x-tenant': t }) }));
  const root: ApiSpan = frontend.getTracer('web').startSpan(`GET /${t}`, { kind: SpanKind.SERVER, startTime: t0Ms, attributes: { 'tenant.secret': `${t}-secret` } });
  backend.getTracer('rpc').startSpan(`handle ${t}`, { kind: SpanKind.SERVER, startTime: t0Ms + 2 }, trace.setSpan(context.active(), root)).end(t0Ms + 8);
  root.end(t0Ms + 10);
  for (const p of [frontend, backend]) {
    await p.forceFlush();
    await p.shutdown();
  }
  const zipkin = [{ traceId: T2, id: randomBytes(8).toString('hex'), name: `zipkin ${t}`, kind: 'SERVER', timestamp: t0Ms * 1000, duration: 5_000, localEndpoint: { serviceName: `zipkin-${t}` } }];
  const res = await fetch(`${server.zipkinUrl}/api/v2/spans`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant': t }, body: JSON.stringify(zipkin) });
  expect(res.status).toBe(202);
}

async function get(path: string, tenant?: string): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(`${server.queryUrl}${path}`, { headers: tenant === undefined ? {} : { 'x-tenant': tenant } });
  const text = await res.text();
  let body: any;
  try { body = JSON.parse(text); } catch { body = undefined; }
  return { status: res.status, body, text };
}

const ownServices = (t: Tenant) => ['frontend', `${t}-backend`, `zipkin-${t}`];

beforeAll(async () => {
  server = await startTestServer({ tenants: TENANTS.join(','), controlPlanePort: 'off' });
  t0Ms = Date.now() - 30_000;
  for (const t of TENANTS) await writeTenant(t);
  endTs = Date.now() + 60_000;
  for (const t of TENANTS) {
    await eventually(async () => (await get('/api/services', t)).body?.data?.length === 3);
  }
}, 60_000);
afterAll(async () => server?.stop());

describe.each(TENANTS)('tenant %s sees only its own data', (t) => {
  const o = other(t);
  const spanServices = (jaegerTrace: any) => jaegerTrace.spans.map((s: any) => jaegerTrace.processes[s.processID].serviceName).sort();

  it('services and operations', async () => {
    expect((await get('/api/services', t)).body.data).toEqual(ownServices(t).sort());
    expect((await get(`/api/services/${t}-backend/operations`, t)).body.data).toEqual([`handle ${t}`]);
    expect((await get(`/api/services/${o}-backend/operations`, t)).body.data).toEqual([]);
    const ops = (await get('/api/operations?service=frontend', t)).body.data;
    expect(ops.map((x: any) => x.name)).toEqual([`GET /${t}`]);
    expect((await get('/api/v3/services', t)).body.services.sort()).toEqual(ownServices(t).sort());
    expect((await get('/api/v3/operations?service=frontend', t)).body.operations.map((x: any) => x.name)).toEqual([`GET /${t}`]);
  });

  it('traces: by id, by ids and by search (Jaeger API)', async () => {
    const byId = await get(`/api/traces/${T1}`, t);
    expect(byId.status).toBe(200);
    expect(byId.body.data).toHaveLength(1);
    expect(spanServices(byId.body.data[0])).toEqual([`${t}-backend`, 'frontend'].sort());
    expect(byId.text).not.toContain(o);
    const byIds = await get(`/api/traces?traceID=${T1}&traceID=${T2}`, t);
    expect(byIds.body.data).toHaveLength(2);
    expect(byIds.text).not.toContain(o);
    const found = await get(`/api/traces?service=frontend&start=${(t0Ms - 60_000) * 1000}&end=${endTs * 1000}&limit=20`, t);
    expect(found.body.data.map((x: any) => x.traceID)).toEqual([T1]);
    expect(found.text).not.toContain(o);
    // The other tenant's service and attribute value find nothing here.
    expect((await get(`/api/traces?service=${o}-backend&start=${(t0Ms - 60_000) * 1000}&end=${endTs * 1000}`, t)).body.data).toEqual([]);
    expect((await get(`/api/traces?tag=tenant.secret:${o}-secret&start=${(t0Ms - 60_000) * 1000}&end=${endTs * 1000}`, t)).body.data).toEqual([]);
    expect((await get(`/api/traces?tag=tenant.secret:${t}-secret&start=${(t0Ms - 60_000) * 1000}&end=${endTs * 1000}`, t)).body.data).toHaveLength(1);
  });

  it('dependencies and the service graph', async () => {
    const deps = (await get(`/api/dependencies?endTs=${endTs}&lookback=3600000`, t)).body.data;
    expect(deps.map((d: any) => `${d.parent}->${d.child}`)).toEqual([`frontend->${t}-backend`]);
    const graph = await get(`/api/ext/service-graph?endTs=${endTs}&lookback=3600000`, t);
    expect(graph.status).toBe(200);
    expect(graph.body.data.edges.map((e: any) => `${e.parent}->${e.child}`)).toEqual([`frontend->${t}-backend`]);
    expect(graph.body.data.nodes.map((n: any) => n.id).sort()).toEqual([`${t}-backend`, 'frontend'].sort());
    expect(graph.text).not.toContain(o);
  });

  it('metrics (Monitor tab)', async () => {
    const window = `endTs=${endTs}&lookback=600000&step=60000&ratePer=600000`;
    const calls = await get(`/api/metrics/calls?service=${t}-backend&service=${o}-backend&service=frontend&${window}`, t);
    expect(calls.status).toBe(200);
    expect(calls.body.metrics.map((m: any) => m.labels[0].value).sort()).toEqual([`${t}-backend`, 'frontend'].sort());
    const latencies = await get(`/api/metrics/latencies?service=frontend&groupByOperation=true&quantile=0.95&${window}`, t);
    expect(latencies.body.metrics.map((m: any) => m.labels.find((l: any) => l.name === 'operation').value)).toEqual([`GET /${t}`]);
    const errors = await get(`/api/metrics/errors?service=${o}-backend&${window}`, t);
    expect(errors.status).toBe(200);
    expect(errors.body.metrics).toEqual([]);
  });

  it('api_v3 traces', async () => {
    const byId = await get(`/api/v3/traces/${T1}`, t);
    expect(byId.status).toBe(200);
    expect(byId.text).toContain(`GET /${t}`);
    expect(byId.text).not.toContain(o);
    const min = new Date(t0Ms - 60_000).toISOString();
    const max = new Date(endTs).toISOString();
    const search = await get(`/api/v3/traces?query.service_name=frontend&query.start_time_min=${min}&query.start_time_max=${max}`, t);
    expect(search.status).toBe(200);
    expect(search.text).toContain(`GET /${t}`);
    expect(search.text).not.toContain(o);
  });

  it('Tempo API and TraceQL search', async () => {
    const s = Math.floor((t0Ms - 60_000) / 1000);
    const e = Math.ceil(endTs / 1000);
    const tempo = await get(`/tempo/api/search?q=${encodeURIComponent('{ }')}&start=${s}&end=${e}`, t);
    expect(tempo.status).toBe(200);
    expect(tempo.body.traces.map((x: any) => x.traceID).sort()).toEqual([T1, T2].sort());
    expect(tempo.text).not.toContain(o);
    const tempoTrace = await get(`/tempo/api/v2/traces/${T1}`, t);
    expect(tempoTrace.status).toBe(200);
    expect(tempoTrace.text).not.toContain(o);
    const values = await get('/tempo/api/v2/search/tag/resource.service.name/values', t);
    expect(values.body.tagValues.map((v: any) => v.value).sort()).toEqual(ownServices(t).sort());
    const ext = await get(`/api/ext/search?q=${encodeURIComponent('{ resource.service.name =~ ".*backend" }')}&start=${(t0Ms - 60_000) * 1000}&end=${endTs * 1000}`, t);
    expect(ext.status).toBe(200);
    expect(ext.body.data.map((x: any) => x.traceID)).toEqual([T1]);
    expect(ext.text).not.toContain(o);
    const tagValues = await get('/api/ext/search/tag-values?tag=span.tenant.secret', t);
    expect(tagValues.status).toBe(200);
    expect(tagValues.text).not.toContain(`${o}-secret`);
  });

  it('the UI extensions', async () => {
    const compact = await get(`/api/ext/traces/${T1}/compact`, t);
    expect(compact.status).toBe(200);
    expect(compact.text).toContain(`${t}-backend`);
    expect(compact.text).not.toContain(o);
    const find = await get(`/api/ext/traces/${T1}/find?q=${o}`, t);
    expect(find.status).toBe(200);
    expect(find.body.data).toEqual([]);
    // A span id of the other tenant's copy of T1 is not found in this tenant's.
    const otherRaw = await get(`/api/traces/${T1}?raw=true`, o);
    const otherSpanId = otherRaw.body.data[0].spans[0].spanID;
    expect((await get(`/api/ext/traces/${T1}/spans/${otherSpanId}`, t)).status).toBe(404);
    const propagation = await get(`/api/ext/propagation?endTs=${endTs}&lookback=3600000`, t);
    expect(propagation.status).toBe(200);
  });
});

/** One URL per API route group, each of which must refuse a request without a valid tenant. */
const API_URLS = () => [
  '/api/services',
  '/api/services/frontend/operations',
  '/api/operations?service=frontend',
  `/api/traces/${T1}`,
  `/api/traces?service=frontend`,
  `/api/dependencies?endTs=${endTs}&lookback=3600000`,
  '/api/metrics/calls?service=frontend',
  '/api/metrics/minstep',
  '/api/v3/services',
  `/api/v3/traces/${T1}`,
  '/tempo/api/search?q=%7B%7D',
  `/tempo/api/traces/${T1}`,
  '/tempo/api/echo',
  `/api/ext/traces/${T1}/compact`,
  `/api/ext/service-graph?endTs=${endTs}`,
  '/api/ext/search?q=%7B%7D',
  '/api/ext/search/tags',
  `/api/ext/propagation?endTs=${endTs}`,
  '/api/ext/mesh/status',
  '/api/no-such-route',
];

describe('requests without a valid tenant', () => {
  it('every API route answers 401 naming the problem, in its API\'s error shape', async () => {
    for (const url of API_URLS()) {
      for (const [tenant, says] of [[undefined, "missing tenant header 'x-tenant'"], ['initech', 'unknown tenant "initech"'], ['ACME', 'unknown tenant "ACME"'], ['acme, globex', 'unknown tenant']] as const) {
        const r = await get(url, tenant);
        expect({ url, tenant, status: r.status }).toEqual({ url, tenant, status: 401 });
        const message = url.startsWith('/api/v3/') ? r.body.error.message : url.startsWith('/tempo/') ? r.text : r.body.errors[0].msg;
        expect(message).toContain(says);
        if (url.startsWith('/api/v3/')) expect(r.body.error).toMatchObject({ httpCode: 401 });
        else if (url.startsWith('/api/')) expect(r.body).toMatchObject({ data: null, errors: [{ code: 401 }] });
        expect(r.text).not.toContain('frontend');
      }
    }
  });

  it('/health, /ready and the UI stay open', async () => {
    expect((await get('/health')).status).toBe(200);
    expect((await get('/ready')).status).toBe(200);
    for (const path of ['/', '/search']) {
      const ui = await get(path);
      // 200 with the built UI, 503 naming the build command without it: never a tenant refusal.
      expect([200, 503]).toContain(ui.status);
      expect(ui.text).not.toContain('tenant header');
    }
    // A tenant's request reaches health and the UI as well (a reverse proxy sets the header on everything).
    expect((await get('/health', 'acme')).status).toBe(200);
    expect([200, 503]).toContain((await get('/search', 'acme')).status);
  });

  it('OTLP/HTTP and Zipkin answer 401, store nothing', async () => {
    const stray = 'c3'.repeat(16);
    const otlp = {
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'stray' } }] },
        scopeSpans: [{ spans: [{ traceId: stray, spanId: 'c3'.repeat(8), name: 'stray', kind: 2, startTimeUnixNano: `${t0Ms}000000`, endTimeUnixNano: `${t0Ms + 1}000000` }] }],
      }],
    };
    const zipkin = [{ traceId: stray, id: 'd4'.repeat(8), name: 'stray', timestamp: t0Ms * 1000, duration: 1000, localEndpoint: { serviceName: 'stray' } }];
    for (const [tenant, code, says] of [[undefined, 16, 'missing tenant header'], ['initech', 7, 'unknown tenant "initech"']] as const) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(tenant ? { 'x-tenant': tenant } : {}) };
      const h = await fetch(`${server.otlpHttpUrl}/v1/traces`, { method: 'POST', headers, body: JSON.stringify(otlp) });
      expect(h.status).toBe(401);
      expect(await h.json()).toMatchObject({ code, message: expect.stringContaining(says) });
      const z = await fetch(`${server.zipkinUrl}/api/v2/spans`, { method: 'POST', headers, body: JSON.stringify(zipkin) });
      expect(z.status).toBe(401);
      expect(await z.text()).toContain(says);
    }
    // Two tenant headers are refused too (Jaeger: "extra tenant header").
    const two = await fetch(`${server.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: [['content-type', 'application/json'], ['x-tenant', 'acme'], ['x-tenant', 'globex']], body: JSON.stringify(otlp) });
    expect(two.status).toBe(401);
    for (const t of TENANTS) {
      expect((await get(`/api/traces/${stray}`, t)).status).toBe(404);
      expect((await get('/api/services', t)).body.data).not.toContain('stray');
    }
  });

  it('OTLP/gRPC answers UNAUTHENTICATED without a tenant, PERMISSION_DENIED for an unknown one, stores nothing', async () => {
    const Client = grpc.makeGenericClientConstructor(TRACE_SERVICE_DEFINITION, 'TraceService');
    const rawExport = (md: grpc.Metadata) => new Promise<grpc.ServiceError | null>((resolve) => {
      const client = new Client(server.otlpGrpcAddress!, grpc.credentials.createInsecure());
      (client as any).Export(Buffer.alloc(0), md, (err: grpc.ServiceError | null) => {
        client.close();
        resolve(err);
      });
    });
    expect(await rawExport(new grpc.Metadata())).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: "missing tenant header 'x-tenant'" });
    expect(await rawExport(grpcMetadata({ 'x-tenant': 'initech' }))).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: 'unknown tenant "initech" in header \'x-tenant\'' });
    const both = new grpc.Metadata();
    both.add('x-tenant', 'acme');
    both.add('x-tenant', 'globex');
    expect(await rawExport(both)).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    expect(await rawExport(grpcMetadata({ 'x-tenant': 'acme' }))).toBeNull();
    // The SDK exporter with an unknown tenant: its span is stored nowhere.
    const stray = 'e5'.repeat(16);
    const p = provider('stray-grpc', new GrpcExporter({ url: `http://${server.otlpGrpcAddress}`, metadata: grpcMetadata({ 'x-tenant': 'initech' }) }), stray);
    p.getTracer('t').startSpan('stray').end();
    await expect(p.forceFlush()).rejects.toMatchObject([{ code: grpc.status.PERMISSION_DENIED }]);
    await p.shutdown();
    for (const t of TENANTS) expect((await get(`/api/traces/${stray}`, t)).status).toBe(404);
  });
});

describe('storage layout', () => {
  it('each tenant has its own store; the tenant-less store is not written', async () => {
    const { config } = server;
    if (config.storage === 'sqlite') {
      for (const t of TENANTS) expect(existsSync(join(server.dataDir, 'tenants', t, 'meshtrace.db'))).toBe(true);
      expect(existsSync(join(server.dataDir, 'meshtrace.db'))).toBe(false);
      return;
    }
    // ClickHouse: one database per tenant, `<database>_<tenant>`, and none by the plain name.
    const sql = `SELECT name FROM system.databases WHERE name LIKE '${config.clickhouseDatabase}%' ORDER BY name FORMAT JSONEachRow`;
    const res = await fetch(`${config.clickhouseUrl}/?query=${encodeURIComponent(sql)}`);
    const names = (await res.text()).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).name);
    expect(names).toEqual(TENANTS.map((t) => `${config.clickhouseDatabase}_${t}`));
  });
});

describe.skipIf(process.env.MESHTRACE_TEST_STORAGE === 'clickhouse')('meshtrace collector + meshtrace query with --tenants (SQLite, one data dir)', () => {
  it('the query process reads each tenant\'s file the collector process writes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtrace-tenant-roles-'));
    const common = { dataDir, host: '127.0.0.1', tenants: 'acme,globex', logLevel: 'silent' } as const;
    const collector = await startCollectorServer({ ...common, otlpHttpPort: 0, otlpGrpcPort: 'off', zipkinPort: 'off' });
    const query = await startQueryServer({ ...common, queryPort: 0 });
    try {
      const ask = async (tenant: string): Promise<string[]> => ((await (await fetch(`${query.queryUrl}/api/services`, { headers: { 'x-tenant': tenant } })).json()) as { data: string[] }).data;
      for (const t of TENANTS) {
        const p = provider(`${t}-solo`, new ProtoExporter({ url: `${collector.otlpHttpUrl}/v1/traces`, headers: { 'x-tenant': t } }), randomBytes(16).toString('hex'));
        p.getTracer('t').startSpan('op').end();
        await p.forceFlush();
        await p.shutdown();
      }
      for (const t of TENANTS) {
        expect(await eventually(async () => {
          const services = await ask(t);
          return services.length > 0 && services;
        })).toEqual([`${t}-solo`]);
      }
      expect((await fetch(`${query.queryUrl}/api/services`)).status).toBe(401);
    } finally {
      await query.close();
      await collector.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000); // two servers and an ingest thread per tenant: the full suite on two busy cores took over 30 s
});
