/**
 * The other receivers of the all-in-one server, end to end: OTLP/gRPC from the OpenTelemetry gRPC
 * exporter, and Zipkin v2 JSON with a shared client/server span id (B3 style), which the query
 * side's span-id uniquifier turns into a proper parent/child pair.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.stop());

describe('all-in-one receivers', () => {
  it('stores spans sent over OTLP/gRPC', async () => {
    expect(server.otlpGrpcAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'grpc-svc' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://${server.otlpGrpcAddress}` }))],
    });
    const span = provider.getTracer('t').startSpan('over-grpc');
    span.end();
    await provider.forceFlush();
    await provider.shutdown();
    const { status, body } = await getJson(`${server.queryUrl}/api/traces/${span.spanContext().traceId}`);
    expect(status).toBe(200);
    expect(body.data[0].spans[0].operationName).toBe('over-grpc');
    expect(body.data[0].processes.p1.serviceName).toBe('grpc-svc');
  });

  it('stores Zipkin v2 spans and resolves shared client/server span ids at query time', async () => {
    const nowUs = Date.now() * 1000;
    const traceId = '463ac35c9f6413ad48485a3953bb6124';
    const spans = [
      { traceId, id: 'a2fb4a1d1a96d312', name: 'get /', kind: 'SERVER', timestamp: nowUs, duration: 20_000, localEndpoint: { serviceName: 'web' } },
      { traceId, id: 'b3fb4a1d1a96d312', parentId: 'a2fb4a1d1a96d312', name: 'get /api', kind: 'CLIENT', timestamp: nowUs + 1_000, duration: 15_000, localEndpoint: { serviceName: 'web' }, remoteEndpoint: { serviceName: 'api', ipv4: '10.0.0.2', port: 8080 } },
      { traceId, id: 'b3fb4a1d1a96d312', parentId: 'a2fb4a1d1a96d312', name: 'get /api', kind: 'SERVER', shared: true, timestamp: nowUs + 2_000, duration: 12_000, localEndpoint: { serviceName: 'api' }, tags: { 'http.path': '/api', error: 'boom' } },
    ];
    const res = await fetch(`${server.zipkinUrl}/api/v2/spans`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spans) });
    expect(res.status).toBe(202);
    const { body } = await getJson(`${server.queryUrl}/api/traces/${traceId}`);
    const t = body.data[0];
    expect(t.spans).toHaveLength(3);
    const service = (s: any) => t.processes[s.processID].serviceName;
    const apiServer = t.spans.find((s: any) => service(s) === 'api');
    const webClient = t.spans.find((s: any) => service(s) === 'web' && s.tags.some((kv: any) => kv.key === 'span.kind' && kv.value === 'client'));
    // The server half got its own id and became the client's child.
    expect(apiServer.spanID).not.toBe('b3fb4a1d1a96d312');
    expect(apiServer.references[0]).toMatchObject({ refType: 'CHILD_OF', spanID: webClient.spanID });
    expect(apiServer.tags).toContainEqual({ key: 'error', type: 'bool', value: true });
    const raw = await getJson(`${server.queryUrl}/api/traces/${traceId}?raw=true`);
    expect(raw.body.data[0].spans.filter((s: any) => s.spanID === 'b3fb4a1d1a96d312')).toHaveLength(2);
    // Both ends are stored: the dependency graph has the web → api call.
    const deps = await getJson(`${server.queryUrl}/api/dependencies?endTs=${Date.now() + 60_000}&lookback=3600000`);
    expect(deps.body.data).toContainEqual(expect.objectContaining({ parent: 'web', child: 'api' }));
  });
});
