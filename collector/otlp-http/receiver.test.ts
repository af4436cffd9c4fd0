import http from 'node:http';
import { DecodeStage } from '../decode-stage.js';
import zlib from 'node:zlib';
import { ROOT_CONTEXT, SpanKind as ApiSpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as HttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-node';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { findAttribute, type Span } from '../../model/span.js';
import { BatchWriter } from '../batch-writer/batch-writer.js';
import { parseBatchWriterConfig, type BatchWriterConfig } from '../batch-writer/config.js';
import { otlpTypes } from '../otlp/schema.js';
import { RecordingWriter } from '../testdata/recording-writer.js';
import { parseOtlpHttpConfig, type OtlpHttpConfig } from './config.js';
import { createOtlpHttpReceiver, type OtlpHttpReceiver } from './receiver.js';

const logger = pino({ level: 'silent' });
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Harness {
  url: string;
  writer: RecordingWriter;
  batchWriter: BatchWriter;
  receiver: OtlpHttpReceiver;
}

async function startReceiver(config: Partial<OtlpHttpConfig> = {}, bw: Partial<BatchWriterConfig> = {}): Promise<Harness> {
  const writer = new RecordingWriter();
  const batchWriter = new BatchWriter(writer, parseBatchWriterConfig(bw));
  const receiver = createOtlpHttpReceiver({
    config: parseOtlpHttpConfig({ host: '127.0.0.1', port: 0, ...config }),
    consumer: new DecodeStage(batchWriter),
    logger,
  });
  await batchWriter.start();
  await receiver.start();
  cleanups.push(async () => {
    writer.release();
    await receiver.shutdown();
    await batchWriter.shutdown();
  });
  const { port } = receiver.address();
  return { url: `http://127.0.0.1:${port}/v1/traces`, writer, batchWriter, receiver };
}

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

function pbRequest(spans: Array<{ name: string; traceId?: string }>): Buffer {
  const T = otlpTypes.ExportTraceServiceRequest;
  const req = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeSpans: [
          {
            spans: spans.map((s, i) => ({
              traceId: Buffer.from(s.traceId ?? TRACE, 'hex'),
              spanId: Buffer.from(`${SPAN.slice(0, 14)}${String(i).padStart(2, '0')}`, 'hex'),
              name: s.name,
              startTimeUnixNano: '1767225600000000000',
              endTimeUnixNano: '1767225600001000000',
            })),
          },
        ],
      },
    ],
  };
  return Buffer.from(T.encode(T.fromObject(req)).finish());
}

function jsonRequest(spans: Array<{ name: string; traceId?: string }>): string {
  return JSON.stringify({
    resourceSpans: [
      {
        scopeSpans: [
          {
            spans: spans.map((s, i) => ({
              traceId: s.traceId ?? TRACE,
              spanId: `${SPAN.slice(0, 14)}${String(i).padStart(2, '0')}`,
              name: s.name,
              startTimeUnixNano: '1767225600000000000',
              endTimeUnixNano: '1767225600001000000',
            })),
          },
        ],
      },
    ],
  });
}

async function post(url: string, body: Buffer | string, headers: Record<string, string>): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(url, { method: 'POST', body, headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

const PB = { 'content-type': 'application/x-protobuf' };
const JSON_CT = { 'content-type': 'application/json' };

function pbStatus(body: Buffer): { code: number; message: string } {
  return otlpTypes.RpcStatus.toObject(otlpTypes.RpcStatus.decode(body)) as { code: number; message: string };
}

function emitSpans(tracer: Tracer): void {
  const parent = tracer.startSpan('GET /checkout', {
    kind: ApiSpanKind.SERVER,
    attributes: {
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      ratio: 0.75,
      cached: false,
      tags: ['a', 'b'],
      sizes: [1, 2, 3],
      flags: [true, false],
    },
  });
  parent.addEvent('cache.miss', { 'cache.key': 'k1', attempt: 2 });
  parent.setStatus({ code: SpanStatusCode.ERROR, message: 'payment declined' });
  const child = tracer.startSpan(
    'SELECT orders',
    { kind: ApiSpanKind.CLIENT, links: [{ context: parent.spanContext(), attributes: { reason: 'retry' } }] },
    trace.setSpan(ROOT_CONTEXT, parent),
  );
  child.end();
  parent.end();
}

async function exportWith(exporter: SpanExporter, serviceName: string): Promise<void> {
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': serviceName, 'deployment.environment.name': 'test' })),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  emitSpans(provider.getTracer('checkout-lib', '3.1.4'));
  await provider.forceFlush();
  await provider.shutdown();
}

function byName(spans: Span[], name: string): Span {
  const s = spans.find((x) => x.name === name);
  if (!s) throw new Error(`span ${name} not received; got ${spans.map((x) => x.name).join(', ')}`);
  return s;
}

function expectSdkSpans(spans: Span[], serviceName: string): void {
  expect(spans).toHaveLength(2);
  const p = byName(spans, 'GET /checkout');
  expect(p.kind).toBe(2);
  expect(p.traceId).toMatch(/^[0-9a-f]{32}$/);
  expect(p.spanId).toMatch(/^[0-9a-f]{16}$/);
  expect(p.parentSpanId).toBe('');
  expect(p.flags).toBe(1);
  expect(p.durationUs).toBeGreaterThanOrEqual(0);
  expect(p.startTimeUs).toBeGreaterThan(1.7e15);
  expect(p.status).toEqual({ code: 2, message: 'payment declined' });
  expect(p.scope).toEqual({ name: 'checkout-lib', version: '3.1.4' });
  expect(p.resource.serviceName).toBe(serviceName);
  expect(findAttribute(p.resource.attributes, 'deployment.environment.name')).toEqual({ key: 'deployment.environment.name', type: 'string', value: 'test' });
  expect(findAttribute(p.resource.attributes, 'telemetry.sdk.language')?.value).toBe('nodejs');
  const attrs = Object.fromEntries(p.attributes.map((a) => [a.key, a]));
  expect(attrs).toEqual({
    'http.request.method': { key: 'http.request.method', type: 'string', value: 'GET' },
    'http.response.status_code': { key: 'http.response.status_code', type: 'int64', value: 200 },
    ratio: { key: 'ratio', type: 'float64', value: 0.75 },
    cached: { key: 'cached', type: 'bool', value: false },
    tags: { key: 'tags', type: 'array', value: '{"values":[{"stringValue":"a"},{"stringValue":"b"}]}' },
    sizes: { key: 'sizes', type: 'array', value: '{"values":[{"intValue":"1"},{"intValue":"2"},{"intValue":"3"}]}' },
    flags: { key: 'flags', type: 'array', value: '{"values":[{"boolValue":true},{"boolValue":false}]}' },
  });
  expect(p.events).toHaveLength(1);
  expect(p.events[0].name).toBe('cache.miss');
  expect(p.events[0].timeUs).toBeGreaterThanOrEqual(p.startTimeUs);
  expect(p.events[0].attributes).toEqual([
    { key: 'cache.key', type: 'string', value: 'k1' },
    { key: 'attempt', type: 'int64', value: 2 },
  ]);
  const c = byName(spans, 'SELECT orders');
  expect(c.kind).toBe(3);
  expect(c.traceId).toBe(p.traceId);
  expect(c.parentSpanId).toBe(p.spanId);
  expect(c.links).toEqual([{ traceId: p.traceId, spanId: p.spanId, attributes: [{ key: 'reason', type: 'string', value: 'retry' }] }]);
}

describe('OTLP/HTTP receiver with the OpenTelemetry SDK', () => {
  it('receives protobuf exports with every attribute type', async () => {
    const h = await startReceiver();
    await exportWith(new ProtoExporter({ url: h.url }), 'proto-svc');
    expectSdkSpans(h.writer.spans, 'proto-svc');
  });

  it('receives gzip-compressed protobuf exports', async () => {
    const h = await startReceiver();
    const compression = 'gzip' as unknown as NonNullable<ConstructorParameters<typeof ProtoExporter>[0]>['compression'];
    await exportWith(new ProtoExporter({ url: h.url, compression }), 'gzip-svc');
    expectSdkSpans(h.writer.spans, 'gzip-svc');
  });

  it('receives JSON exports (hex ids) with every attribute type', async () => {
    const h = await startReceiver();
    await exportWith(new HttpJsonExporter({ url: h.url }), 'json-svc');
    expectSdkSpans(h.writer.spans, 'json-svc');
  });
});

describe('OTLP/HTTP receiver', () => {
  it('answers an empty ExportTraceServiceResponse in the request encoding', async () => {
    const h = await startReceiver();
    const pb = await post(h.url, pbRequest([{ name: 'a' }]), PB);
    expect(pb.status).toBe(200);
    expect(pb.headers.get('content-type')).toBe('application/x-protobuf');
    expect(otlpTypes.ExportTraceServiceResponse.decode(pb.body).toJSON()).toEqual({});
    const js = await post(h.url, jsonRequest([{ name: 'b' }]), { 'content-type': 'application/json; charset=utf-8' });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(js.body.toString())).toEqual({});
    expect(h.writer.spans.map((s) => s.name)).toEqual(['a', 'b']);
  });

  it('accepts empty requests', async () => {
    const h = await startReceiver();
    expect((await post(h.url, Buffer.alloc(0), PB)).status).toBe(200);
    expect((await post(h.url, '{}', JSON_CT)).status).toBe(200);
    expect(h.writer.started).toBe(0);
  });

  it('reports partial success for invalid spans and stores the rest', async () => {
    const h = await startReceiver();
    const body = jsonRequest([{ name: 'good' }, { name: 'bad', traceId: '00000000000000000000000000000000' }]);
    const js = await post(h.url, body, JSON_CT);
    expect(js.status).toBe(200);
    const parsed = JSON.parse(js.body.toString());
    expect(parsed.partialSuccess.rejectedSpans).toBe('1');
    expect(parsed.partialSuccess.errorMessage).toContain('traceId must not be all zeros');
    const pb = await post(h.url, pbRequest([{ name: 'good2' }, { name: 'bad2', traceId: '0102' }]), PB);
    const resp = otlpTypes.ExportTraceServiceResponse.toObject(otlpTypes.ExportTraceServiceResponse.decode(pb.body), { longs: Number });
    expect(resp.partialSuccess.rejectedSpans).toBe(1);
    expect(resp.partialSuccess.errorMessage).toContain('traceId must be 16 bytes, got 2');
    expect(h.writer.spans.map((s) => s.name)).toEqual(['good', 'good2']);
  });

  it('answers 400 with a protobuf google.rpc.Status for truncated and garbage protobuf', async () => {
    const h = await startReceiver();
    const good = pbRequest([{ name: 'x' }]);
    for (const body of [good.subarray(0, good.length - 5), Buffer.from('\x0a\xff\xff\xff\xff\x0fgarbage', 'latin1')]) {
      const r = await post(h.url, body, PB);
      expect(r.status).toBe(400);
      expect(r.headers.get('content-type')).toBe('application/x-protobuf');
      const st = pbStatus(r.body);
      expect(st.code).toBe(3);
      expect(st.message).toMatch(/invalid protobuf ExportTraceServiceRequest/);
    }
    expect(h.writer.started).toBe(0);
  });

  it('answers 400 with a JSON Status for invalid JSON', async () => {
    const h = await startReceiver();
    const r = await post(h.url, '{"resourceSpans": [', JSON_CT);
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toBe('application/json');
    const st = JSON.parse(r.body.toString());
    expect(st.code).toBe(3);
    expect(st.message).toMatch(/^invalid JSON/);
  });

  it('answers 400 for a corrupt gzip body', async () => {
    const h = await startReceiver();
    const r = await post(h.url, Buffer.from('not gzip at all'), { ...PB, 'content-encoding': 'gzip' });
    expect(r.status).toBe(400);
    expect(pbStatus(r.body).message).toMatch(/invalid gzip body/);
  });

  it('accepts deflate bodies', async () => {
    const h = await startReceiver();
    const r = await post(h.url, zlib.deflateSync(Buffer.from(jsonRequest([{ name: 'deflated' }]))), { ...JSON_CT, 'content-encoding': 'deflate' });
    expect(r.status).toBe(200);
    expect(h.writer.spans.map((s) => s.name)).toEqual(['deflated']);
  });

  it('answers 415 for other content types and codings, 405 for other methods, 404 for other paths', async () => {
    const h = await startReceiver();
    const t = await post(h.url, 'x', { 'content-type': 'text/plain' });
    expect(t.status).toBe(415);
    expect(JSON.parse(t.body.toString()).message).toMatch(/unsupported Content-Type "text\/plain"/);
    expect((await post(h.url, 'x', { ...PB, 'content-encoding': 'br' })).status).toBe(415);
    const g = await fetch(h.url);
    expect(g.status).toBe(405);
    expect(g.headers.get('allow')).toBe('POST, OPTIONS');
    await g.arrayBuffer();
    const nf = await post(h.url.replace('/v1/traces', '/v1/logs'), '{}', JSON_CT);
    expect(nf.status).toBe(404);
  });

  it('answers 413 for a raw body over the limit, declared or chunked', async () => {
    const h = await startReceiver({ maxRequestBodyBytes: 1024 });
    const declared = await post(h.url, Buffer.alloc(4096, 1), PB);
    expect(declared.status).toBe(413);
    expect(pbStatus(declared.body).message).toMatch(/exceeds the limit of 1024 bytes/);
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request(h.url, { method: 'POST', headers: PB }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 8; i++) req.write(Buffer.alloc(512, 1));
      req.end();
    });
    expect(chunked).toBe(413);
    // The receiver still works afterwards.
    expect((await post(h.url, pbRequest([{ name: 'after' }]), PB)).status).toBe(200);
  });

  it('stops a gzip bomb (1 GiB of zeros) with 413 without inflating all of it', async () => {
    const h = await startReceiver({ maxRequestBodyBytes: 2 * 1024 * 1024 });
    // 1024 concatenated gzip members of 1 MiB of zeros each: ~1 MiB on the wire, 1 GiB inflated.
    const member = zlib.gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 1024 }, () => member));
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024); // the raw body itself is within the limit
    const r = await post(h.url, bomb, { ...PB, 'content-encoding': 'gzip' });
    expect(r.status).toBe(413);
    expect(pbStatus(r.body).message).toMatch(/after decompression/);
    expect((await post(h.url, pbRequest([{ name: 'after' }]), PB)).status).toBe(200);
  });

  it('answers 503 with Retry-After when the queue is full; good requests around it land', async () => {
    const h = await startReceiver({}, { maxQueueSpans: 2, maxBatchSpans: 2 });
    h.writer.hold();
    const first = post(h.url, pbRequest([{ name: 'q1' }, { name: 'q2' }]), PB);
    while (h.writer.started === 0) await new Promise((r) => setTimeout(r, 5));
    const refused = await post(h.url, jsonRequest([{ name: 'refused' }]), JSON_CT);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(JSON.parse(refused.body.toString())).toMatchObject({ code: 14, message: expect.stringContaining('queue full') });
    h.writer.release();
    expect((await first).status).toBe(200);
    expect((await post(h.url, pbRequest([{ name: 'later' }]), PB)).status).toBe(200);
    expect(h.writer.spans.map((s) => s.name)).toEqual(['q1', 'q2', 'later']);
  });

  it('answers 503 when storage fails, and later requests land', async () => {
    const h = await startReceiver();
    h.writer.failNext = new Error('disk full');
    const r = await post(h.url, pbRequest([{ name: 'lost' }]), PB);
    expect(r.status).toBe(503);
    expect(pbStatus(r.body).code).toBe(14);
    expect((await post(h.url, pbRequest([{ name: 'kept' }]), PB)).status).toBe(200);
    expect(h.writer.spans.map((s) => s.name)).toEqual(['kept']);
  });

  it('keeps serving good requests between bad ones', async () => {
    const h = await startReceiver({ maxRequestBodyBytes: 64 * 1024 });
    const results = await Promise.all([
      post(h.url, pbRequest([{ name: 'g1' }]), PB),
      post(h.url, Buffer.from([0xff, 0xff]), PB),
      post(h.url, jsonRequest([{ name: 'g2' }]), JSON_CT),
      post(h.url, '{oops', JSON_CT),
      post(h.url, Buffer.alloc(100 * 1024), PB),
      post(h.url, zlib.gzipSync(pbRequest([{ name: 'g3' }])), { ...PB, 'content-encoding': 'gzip' }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 400, 200, 400, 413, 200]);
    expect(h.writer.spans.map((s) => s.name).sort()).toEqual(['g1', 'g2', 'g3']);
  });

  it('answers CORS preflights for allowed origins only and labels responses', async () => {
    const h = await startReceiver({ corsAllowedOrigins: ['https://app.example.com'] });
    const pre = await fetch(h.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    expect(pre.headers.get('access-control-allow-headers')).toBe('content-type');
    const denied = await fetch(h.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    const r = await post(h.url, jsonRequest([{ name: 'browser' }]), { ...JSON_CT, origin: 'https://app.example.com' });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  });

  it("allows any origin with '*'", async () => {
    const h = await startReceiver({ corsAllowedOrigins: ['*'] });
    const pre = await fetch(h.url, { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('shutdown waits for in-flight requests, which are answered after their spans are written', async () => {
    const h = await startReceiver();
    h.writer.hold();
    const inflight = post(h.url, pbRequest([{ name: 'inflight' }]), PB);
    while (h.writer.started === 0) await new Promise((r) => setTimeout(r, 5));
    let stopped = false;
    const stopping = h.receiver.shutdown().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(stopped).toBe(false);
    h.writer.release();
    expect((await inflight).status).toBe(200);
    await stopping;
    expect(h.writer.spans.map((s) => s.name)).toEqual(['inflight']);
  });
});

describe('parseOtlpHttpConfig', () => {
  it('fills defaults and names bad fields', () => {
    expect(parseOtlpHttpConfig()).toEqual({ host: '0.0.0.0', port: 4318, maxRequestBodyBytes: 20 * 1024 * 1024, corsAllowedOrigins: [] });
    expect(() => parseOtlpHttpConfig({ port: 70000, corsAllowedOrigins: ['https://x.com/path'] })).toThrow(
      /port: must be 0-65535.*corsAllowedOrigins\.0: must be '\*' or an origin/,
    );
    expect(parseOtlpHttpConfig({ corsAllowedOrigins: ['https://App.Example.com:443/', 'http://localhost:5173', '*'] }).corsAllowedOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
      '*',
    ]);
    expect(() => parseOtlpHttpConfig({ corsAllowedOrigins: ['ftp://x.com'] })).toThrow(/corsAllowedOrigins\.0/);
  });
});
