/**
 * End to end with unmodified OpenTelemetry SDKs: two services (one exporting OTLP protobuf, one
 * OTLP JSON) produce one trace joined by W3C propagation; the Jaeger API returns it with correct
 * references and every attribute, and services, operations, search and dependencies reflect it.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, defaultTextMapSetter, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkProvider } from './helpers/otel.js';
import { eventually, getJson, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let traceId: string;
let ids: { root: string; client: string; server: string; db: string };
const linkedTraceId = '5b8efff798038103d269b633813fc60c';
const linkedSpanId = 'eee19b7ec3c1b174';

beforeAll(async () => {
  server = await startTestServer();
  const frontend = sdkProvider({ otlpHttpUrl: server.otlpHttpUrl, service: 'frontend', encoding: 'protobuf', resource: { 'host.name': 'web-1', 'deployment.environment': 'test' } });
  const backend = sdkProvider({ otlpHttpUrl: server.otlpHttpUrl, service: 'backend', encoding: 'json', resource: { 'host.name': 'api-1' } });
  const propagator = new W3CTraceContextPropagator();
  const ft = frontend.getTracer('frontend-http', '1.2.3');
  const bt = backend.getTracer('backend-http');

  // Explicit times: spans started within the same microsecond would have no defined order.
  const t0 = Date.now() - 100;
  const root = ft.startSpan('GET /checkout', {
    kind: SpanKind.SERVER,
    startTime: t0,
    attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'app.ratio': 0.25, 'app.flag': true, 'app.items': ['a', 'b'], 'xss': '<img src=x onerror=alert(1)>' },
  });
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
  const client = ft.startSpan('POST /charge', { kind: SpanKind.CLIENT, startTime: t0 + 10, attributes: { 'server.address': 'backend' } }, rootCtx);
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, client), carrier, defaultTextMapSetter);

  const remoteCtx = propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
  const srv = bt.startSpan('POST /charge', {
    kind: SpanKind.SERVER,
    startTime: t0 + 20,
    links: [{ context: { traceId: linkedTraceId, spanId: linkedSpanId, traceFlags: 1 }, attributes: { 'link.reason': 'batch' } }],
  }, remoteCtx);
  const db = bt.startSpan('SELECT payments', { kind: SpanKind.CLIENT, startTime: t0 + 30, attributes: { 'db.system': 'sqlite' } }, trace.setSpan(ROOT_CONTEXT, srv));
  db.addEvent('retry', { attempt: 2 });
  db.setStatus({ code: SpanStatusCode.ERROR, message: 'database is locked' });
  db.end(t0 + 60);
  srv.end(t0 + 70);
  client.end(t0 + 80);
  root.end(t0 + 90);
  traceId = root.spanContext().traceId;
  ids = { root: root.spanContext().spanId, client: client.spanContext().spanId, server: srv.spanContext().spanId, db: db.spanContext().spanId };
  await Promise.all([frontend.forceFlush(), backend.forceFlush()]);
  await Promise.all([frontend.shutdown(), backend.shutdown()]);
});

afterAll(async () => {
  await server?.stop();
});

describe('a trace exported by the OTel SDK', () => {
  it('comes back by id with every span, correct references and processes', async () => {
    const { status, body } = await eventually(async () => {
      const r = await getJson(`${server.queryUrl}/api/traces/${traceId}`);
      return r.status === 200 && r.body.data[0].spans.length === 4 ? r : undefined;
    });
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual(['data', 'total', 'limit', 'offset', 'errors']);
    const t = body.data[0];
    expect(t.traceID).toBe(traceId);
    const byId = Object.fromEntries(t.spans.map((s: any) => [s.spanID, s]));
    const parentOf = (id: string) => byId[id].references.find((r: any) => r.refType === 'CHILD_OF')?.spanID;
    expect(byId[ids.root].references).toEqual([]);
    expect(parentOf(ids.client)).toBe(ids.root);
    expect(parentOf(ids.server)).toBe(ids.client);
    expect(parentOf(ids.db)).toBe(ids.server);
    // Spans are sorted by start time, root first.
    expect(t.spans[0].spanID).toBe(ids.root);

    const services = Object.fromEntries(Object.entries(t.processes).map(([pid, p]: [string, any]) => [p.serviceName, { pid, p }]));
    expect(Object.keys(services).sort()).toEqual(['backend', 'frontend']);
    expect(byId[ids.root].processID).toBe(services.frontend.pid);
    expect(byId[ids.db].processID).toBe(services.backend.pid);
    const fTags = Object.fromEntries(services.frontend.p.tags.map((kv: any) => [kv.key, kv]));
    expect(fTags['host.name']).toEqual({ key: 'host.name', type: 'string', value: 'web-1' });
    expect(fTags['deployment.environment'].value).toBe('test');
    expect(fTags['telemetry.sdk.name'].value).toBe('opentelemetry');
    expect(fTags['service.name']).toBeUndefined();
  });

  it('keeps every attribute with its type, scope, kind, status, events and links', async () => {
    const { body } = await getJson(`${server.queryUrl}/api/traces/${traceId}`);
    const byId = Object.fromEntries(body.data[0].spans.map((s: any) => [s.spanID, s]));
    const tags = (id: string) => Object.fromEntries(byId[id].tags.map((kv: any) => [kv.key, kv]));
    const root = tags(ids.root);
    expect(root['http.request.method']).toEqual({ key: 'http.request.method', type: 'string', value: 'GET' });
    expect(root['http.response.status_code']).toEqual({ key: 'http.response.status_code', type: 'int64', value: 200 });
    expect(root['app.ratio']).toEqual({ key: 'app.ratio', type: 'float64', value: 0.25 });
    expect(root['app.flag']).toEqual({ key: 'app.flag', type: 'bool', value: true });
    expect(root['app.items']).toEqual({ key: 'app.items', type: 'string', value: '["a","b"]' });
    expect(root['xss'].value).toBe('<img src=x onerror=alert(1)>');
    expect(root['span.kind'].value).toBe('server');
    expect(root['otel.scope.name'].value).toBe('frontend-http');
    expect(root['otel.scope.version'].value).toBe('1.2.3');

    const db = tags(ids.db);
    expect(db['error']).toEqual({ key: 'error', type: 'bool', value: true });
    expect(db['otel.status_code'].value).toBe('ERROR');
    expect(db['otel.status_description'].value).toBe('database is locked');
    expect(db['span.kind'].value).toBe('client');
    expect(byId[ids.db].logs).toHaveLength(1);
    expect(byId[ids.db].logs[0].fields).toEqual([
      { key: 'event', type: 'string', value: 'retry' },
      { key: 'attempt', type: 'int64', value: 2 },
    ]);
    expect(typeof byId[ids.db].logs[0].timestamp).toBe('number');

    const srv = byId[ids.server];
    expect(srv.references[0].refType).toBe('CHILD_OF');
    expect(srv.references[1]).toEqual({ refType: 'FOLLOWS_FROM', traceID: linkedTraceId, spanID: linkedSpanId });
    expect(srv.duration).toBeGreaterThanOrEqual(0);
    expect(srv.startTime).toBeGreaterThan(1.6e15);
    expect(srv.warnings).toBeNull();
  });

  it('lists services and operations with span kinds', async () => {
    const services = await getJson(`${server.queryUrl}/api/services`);
    expect(services.body).toEqual({ data: ['backend', 'frontend'], total: 2, limit: 0, offset: 0, errors: null });
    const ops = await getJson(`${server.queryUrl}/api/services/backend/operations`);
    expect(ops.body.data).toEqual(['POST /charge', 'SELECT payments']);
    const clientOps = await getJson(`${server.queryUrl}/api/operations?service=backend&spanKind=client`);
    expect(clientOps.body.data).toEqual([{ name: 'SELECT payments', spanKind: 'client' }]);
  });

  it('is found by service, operation, tag and duration search', async () => {
    const q = (s: string) => getJson(`${server.queryUrl}/api/traces?${s}`).then((r) => r.body.data.map((t: any) => t.traceID));
    expect(await q('service=frontend&lookback=1h&limit=20')).toEqual([traceId]);
    expect(await q(`service=backend&operation=${encodeURIComponent('SELECT payments')}`)).toEqual([traceId]);
    expect(await q(`service=backend&tags=${encodeURIComponent('{"db.system":"sqlite"}')}`)).toEqual([traceId]);
    expect(await q('service=backend&tag=attempt:2')).toEqual([traceId]);
    expect(await q('service=backend&tag=event:retry')).toEqual([traceId]);
    expect(await q('service=frontend&tag=host.name:web-1')).toEqual([traceId]);
    expect(await q('service=frontend&tag=host.name:web-2')).toEqual([]);
    expect(await q('service=backend&tag=db.system:sqlite&tag=error:true')).toEqual([traceId]);
    expect(await q('service=frontend&minDuration=1h')).toEqual([]);
    expect(await q('service=frontend&maxDuration=1h')).toEqual([traceId]);
  });

  it('shows frontend → backend in the dependency graph', async () => {
    const { body } = await getJson(`${server.queryUrl}/api/dependencies?endTs=${Date.now()}&lookback=3600000`);
    expect(body.data).toEqual([{ parent: 'frontend', child: 'backend', callCount: 1, errorCount: 0 }]);
  });

  it('is served as OTLP JSON by api_v3', async () => {
    const { status, body } = await getJson(`${server.queryUrl}/api/v3/traces/${traceId}`);
    expect(status).toBe(200);
    const spans = body.result.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans));
    expect(spans).toHaveLength(4);
    const db = spans.find((s: any) => s.spanId === ids.db);
    expect(db.parentSpanId).toBe(ids.server);
    expect(db.kind).toBe(3);
    expect(db.status).toEqual({ code: 2, message: 'database is locked' });
    expect(db.events[0].attributes).toEqual([{ key: 'attempt', value: { intValue: '2' } }]);
    expect(typeof db.startTimeUnixNano).toBe('string');
  });
});
