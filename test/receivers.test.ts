/**
 * The other receivers of the all-in-one server, end to end: OTLP/gRPC from the OpenTelemetry gRPC
 * exporter.
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
});
