/**
 * The collector's span limits through a real all-in-one server: a span with a 1 MB attribute,
 * 10,000 attributes, 200 events and 200 links is accepted, cut to the limits, stored, counted
 * (on the span as otel.dropped_* / OTLP dropped_*_count, in partialSuccess and on the collector's
 * counters) and returned cut by the Jaeger API, api_v3 and the UI's endpoints. Every receiver
 * applies them: raw OTLP/JSON, the OTel SDK over OTLP/HTTP protobuf and OTLP/gRPC, and Zipkin.
 */
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ traceMaxSpans: 5 });
});
afterAll(async () => server?.stop());

const MB = 'm'.repeat(1_000_000);
const tag = (tags: { key: string; value: unknown }[], key: string) => tags.find((t) => t.key === key)?.value;

async function postOtlpJson(body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

function otlpSpan(traceId: string, spanId: string, extra: Record<string, unknown> = {}) {
  const startNs = BigInt(Date.now()) * 1_000_000n;
  return { traceId, spanId, name: 'huge', kind: 2, startTimeUnixNano: String(startNs), endTimeUnixNano: String(startNs + 1_000_000n), ...extra };
}

const request = (spans: unknown[], service = 'limits-svc') => ({
  resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ scope: { name: 'fuzz' }, spans }] }],
});

describe('span limits (defaults: 128 attributes, 64 KiB values, 128 events, 128 links)', () => {
  it('cuts a span with a 1 MB attribute, 10,000 attributes, 200 events and 200 links, counts it, and every read path returns it cut', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const spanId = '00f067aa0ba902b7';
    const attributes = [
      { key: 'big', value: { stringValue: MB } },
      ...Array.from({ length: 10_000 }, (_, i) => ({ key: `k${i}`, value: { intValue: String(i) } })),
    ];
    const events = Array.from({ length: 200 }, (_, i) => ({ timeUnixNano: String(BigInt(Date.now()) * 1_000_000n), name: `ev${i}`, attributes: i === 199 ? attributes.slice(0, 300) : [] }));
    const links = Array.from({ length: 200 }, (_, i) => ({ traceId, spanId: (i + 1).toString(16).padStart(16, '0') }));
    const before = server.spanLimitCounters();
    const { status, json } = await postOtlpJson(request([otlpSpan(traceId, spanId, { attributes, events, links })]));
    expect(status).toBe(200);
    expect(Number(json.partialSuccess.rejectedSpans ?? 0)).toBe(0);
    expect(json.partialSuccess.errorMessage).toContain('span limits applied');

    const jaeger = await getJson(`${server.queryUrl}/api/traces/${traceId}`);
    expect(jaeger.status).toBe(200);
    const s = jaeger.body.data[0].spans[0];
    const own = s.tags.filter((t: { key: string }) => t.key === 'big' || /^k\d+$/.test(t.key));
    expect(own).toHaveLength(128);
    expect((tag(s.tags, 'big') as string).length).toBe(65_536);
    expect(tag(s.tags, 'otel.dropped_attributes_count')).toBe(10_001 - 128);
    expect(tag(s.tags, 'otel.dropped_events_count')).toBe(72);
    expect(tag(s.tags, 'otel.dropped_links_count')).toBe(72);
    expect(s.logs).toHaveLength(128);
    expect(s.logs[0].fields[0]).toEqual({ key: 'event', type: 'string', value: 'ev72' });
    const last = s.logs[127].fields;
    expect(tag(last, 'otel.dropped_attributes_count')).toBe(300 - 128);
    expect((tag(last, 'big') as string).length).toBe(65_536);
    expect(s.references.filter((r: { refType: string }) => r.refType === 'FOLLOWS_FROM')).toHaveLength(128);
    // The whole answer is bounded by the limits, not by what was sent (~1.2 MB + 10k attributes).
    expect(JSON.stringify(jaeger.body).length).toBeLessThan(200_000);

    const v3 = await getJson(`${server.queryUrl}/api/v3/traces/${traceId}`);
    const o = v3.body.result.resourceSpans[0].scopeSpans[0].spans[0];
    expect(o.attributes).toHaveLength(128);
    expect([o.droppedAttributesCount, o.droppedEventsCount, o.droppedLinksCount]).toEqual([10_001 - 128, 72, 72]);
    expect(o.events[127].droppedAttributesCount).toBe(300 - 128);

    // What the UI opens: the compact waterfall and the span's details.
    const compact = await fetch(`${server.queryUrl}/api/ext/traces/${traceId}/compact`);
    expect(compact.status).toBe(200);
    expect((await compact.text()).length).toBeLessThan(10_000);
    const details = await getJson(`${server.queryUrl}/api/ext/traces/${traceId}/spans/${spanId}`);
    expect(details.body.data[0].spans[0].tags.length).toBeLessThan(140);

    const after = server.spanLimitCounters()!;
    expect(after.droppedAttributes - before!.droppedAttributes).toBe(10_001 - 128 + 300 - 128);
    expect(after.droppedEvents - before!.droppedEvents).toBe(72);
    expect(after.droppedLinks - before!.droppedLinks).toBe(72);
    expect(after.truncatedValues - before!.truncatedValues).toBe(2);
  });

  it('keeps --trace-max-spans spans of a trace across requests and reports the rest as rejected', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const ids = Array.from({ length: 8 }, (_, i) => (i + 1).toString(16).padStart(16, '0'));
    const first = await postOtlpJson(request(ids.slice(0, 3).map((id) => otlpSpan(traceId, id))));
    expect(first.json.partialSuccess ?? {}).not.toHaveProperty('rejectedSpans');
    const second = await postOtlpJson(request(ids.slice(3).map((id) => otlpSpan(traceId, id))));
    expect(second.status).toBe(200);
    expect(Number(second.json.partialSuccess.rejectedSpans)).toBe(3);
    expect(second.json.partialSuccess.errorMessage).toContain('3 span(s) dropped: their trace already has 5 spans');
    const { body } = await getJson(`${server.queryUrl}/api/traces/${traceId}`);
    expect(body.data[0].spans.map((s: { spanID: string }) => s.spanID).sort()).toEqual(ids.slice(0, 5));
    expect(server.spanLimitCounters()!.droppedSpans).toBeGreaterThanOrEqual(3);
  });

  it('applies the same limits to spans from the OTel SDK over OTLP/HTTP protobuf and OTLP/gRPC', async () => {
    const exporters: [string, SpanExporter][] = [
      ['proto', new ProtoExporter({ url: `${server.otlpHttpUrl}/v1/traces` })],
      ['grpc', new GrpcExporter({ url: `http://${server.otlpGrpcAddress}` })],
    ];
    for (const [name, exporter] of exporters) {
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': `sdk-${name}` }),
        // The SDK's own limits raised, so the collector's are the ones that cut.
        spanLimits: { attributeCountLimit: 20_000, eventCountLimit: 1_000, linkCountLimit: 1_000 },
        spanProcessors: [new SimpleSpanProcessor(exporter)],
      });
      const span = provider.getTracer('t').startSpan('sdk-huge');
      for (let i = 0; i < 10_000; i++) span.setAttribute(`a${i}`, i);
      span.setAttribute('a0', MB);
      for (let i = 0; i < 130; i++) span.addEvent(`e${i}`);
      span.end();
      await provider.forceFlush();
      await provider.shutdown();
      const { body } = await getJson(`${server.queryUrl}/api/traces/${span.spanContext().traceId}`);
      const s = body.data[0].spans[0];
      expect(s.tags.filter((t: { key: string }) => /^a\d+$/.test(t.key)), name).toHaveLength(128);
      expect((tag(s.tags, 'a0') as string).length, name).toBe(65_536);
      expect(tag(s.tags, 'otel.dropped_attributes_count'), name).toBe(10_000 - 128);
      expect(tag(s.tags, 'otel.dropped_events_count'), name).toBe(2);
    }
  });

  it('applies them to Zipkin spans too', async () => {
    const traceId = '463ac35c9f6413ad48485a3953bb6125';
    const tags = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`t${i}`, i === 0 ? MB : `v${i}`]));
    const annotations = Array.from({ length: 150 }, (_, i) => ({ timestamp: Date.now() * 1000 + i, value: `a${i}` }));
    const res = await fetch(`${server.zipkinUrl}/api/v2/spans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ traceId, id: 'a2fb4a1d1a96d312', name: 'zipkin-huge', timestamp: Date.now() * 1000, duration: 10, localEndpoint: { serviceName: 'zipkin-svc' }, tags, annotations }]),
    });
    expect(res.status).toBe(202);
    const { body } = await getJson(`${server.queryUrl}/api/traces/${traceId}`);
    const s = body.data[0].spans[0];
    expect(s.tags.filter((t: { key: string }) => /^t\d+$/.test(t.key))).toHaveLength(128);
    expect((tag(s.tags, 't0') as string).length).toBe(65_536);
    expect(tag(s.tags, 'otel.dropped_attributes_count')).toBe(1_000 - 128);
    expect(s.logs).toHaveLength(128);
    expect(tag(s.tags, 'otel.dropped_events_count')).toBe(22);
  });
});
