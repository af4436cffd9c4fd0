/**
 * The OpenTelemetry SDK's own serializers as the reference: the same spans serialized as OTLP
 * protobuf and as OTLP JSON must decode to identical span-model spans, and our responses must
 * read back through the SDK's response deserializers.
 */
import { ROOT_CONTEXT, SpanKind as ApiSpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { describe, expect, it } from 'vitest';
import { decodeOtlpJson } from './decode-json.js';
import { decodeOtlpProtobuf } from './decode-protobuf.js';
import { encodeExportResponse } from './response.js';

async function sdkSpans() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'parity', 'host.cores': 2, 'feature.flags': ['a', 'b'] }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('parity-lib', '9.9.9');
  const root = tracer.startSpan('root', {
    kind: ApiSpanKind.PRODUCER,
    attributes: { s: 'x', i: -12, big: 2 ** 40, f: 3.25, b: true, sa: ['p', 'q'], ia: [1, -2], fa: [0.5], ba: [false] },
  });
  root.addEvent('evt', { 'e.k': 'v', 'e.n': 1 });
  root.setStatus({ code: SpanStatusCode.OK });
  const child = tracer.startSpan(
    'child',
    { kind: ApiSpanKind.CONSUMER, links: [{ context: root.spanContext(), attributes: { why: 'batch' } }] },
    trace.setSpan(ROOT_CONTEXT, root),
  );
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'nope' });
  child.end();
  root.end();
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

describe('protobuf/JSON parity with the OpenTelemetry SDK serializers', () => {
  it('decodes both encodings of the same spans to identical span-model spans', async () => {
    const spans = await sdkSpans();
    const pb = decodeOtlpProtobuf(ProtobufTraceSerializer.serializeRequest(spans)!);
    const js = decodeOtlpJson(JsonTraceSerializer.serializeRequest(spans)!);
    expect(pb.rejectedSpans).toBe(0);
    expect(js.rejectedSpans).toBe(0);
    expect(pb.spans).toHaveLength(2);
    expect(js.spans).toEqual(pb.spans);
    const root = pb.spans.find((s) => s.name === 'root')!;
    expect(root.attributes).toContainEqual({ key: 'big', type: 'int64', value: 2 ** 40 });
    expect(root.attributes).toContainEqual({ key: 'ia', type: 'array', value: '{"values":[{"intValue":"1"},{"intValue":"-2"}]}' });
    expect(root.resource.attributes).toContainEqual({ key: 'feature.flags', type: 'array', value: '{"values":[{"stringValue":"a"},{"stringValue":"b"}]}' });
    expect(root.status).toEqual({ code: 1, message: '' });
    // Times are the SDK's own, truncated to µs.
    const sdkRoot = spans.find((s) => s.name === 'root')!;
    expect(root.startTimeUs).toBe(sdkRoot.startTime[0] * 1e6 + Math.floor(sdkRoot.startTime[1] / 1e3));
  });

  it('encodes partial success so the SDK reads it back', () => {
    const pb = ProtobufTraceSerializer.deserializeResponse(encodeExportResponse('protobuf', 3, 'three bad'));
    expect(Number(pb.partialSuccess?.rejectedSpans)).toBe(3);
    expect(pb.partialSuccess?.errorMessage).toBe('three bad');
    const js = JsonTraceSerializer.deserializeResponse(encodeExportResponse('json', 3, 'three bad'));
    expect(Number(js.partialSuccess?.rejectedSpans)).toBe(3);
    expect(js.partialSuccess?.errorMessage).toBe('three bad');
    expect(ProtobufTraceSerializer.deserializeResponse(encodeExportResponse('protobuf', 0, '')).partialSuccess).toBeUndefined();
  });
});
