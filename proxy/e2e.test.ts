/**
 * End to end, real parts only: the all-in-one server (collector + SQLite + Jaeger query API), two
 * HTTP services instrumented with the OpenTelemetry SDK, each behind its own sidecar.
 *
 *   test → [A sidecar inbound] → A app → [A sidecar outbound] → [B sidecar inbound] → B app
 *
 * App A propagates with W3C; app B reads B3 multi-headers only, and B's sidecar is configured to
 * write them: W3C in, B3 out on a real OTel peer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT_CONTEXT, SpanKind, trace, type Context, type TextMapGetter, type TextMapPropagator } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAllInOne, type AllInOneServer } from '../all-in-one/server.js';
import { startSidecar, type Sidecar } from './sidecar.js';
import { listen, send, waitFor, type Running } from './testing/harness.js';

interface JaegerSpan {
  traceID: string; spanID: string; operationName: string; processID: string;
  references: { refType: string; traceID: string; spanID: string }[];
  tags: { key: string; type: string; value: unknown }[];
}
interface JaegerTrace { traceID: string; spans: JaegerSpan[]; processes: Record<string, { serviceName: string }> }

const getter: TextMapGetter<IncomingMessage['headers']> = {
  keys: (c) => Object.keys(c),
  get: (c, k) => c[k.toLowerCase()],
};

function tracerFor(service: string, otlpHttpUrl: string) {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${otlpHttpUrl}/v1/traces` }))],
  });
  return { provider, tracer: provider.getTracer(`${service}-app`) };
}

describe('e2e: two instrumented services behind sidecars, traces in the store', () => {
  let dir: string;
  let aio: AllInOneServer;
  let appA: Running;
  let appB: Running;
  let sidecarA: Sidecar;
  let sidecarB: Sidecar;
  let providers: NodeTracerProvider[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshtrace-proxy-e2e-'));
    aio = await startAllInOne({ dataDir: dir, host: '127.0.0.1', otlpHttpPort: 0, otlpGrpcPort: 'off', zipkinPort: 'off', queryPort: 0, logLevel: 'silent' });
    const a = tracerFor('frontend', aio.otlpHttpUrl);
    const b = tracerFor('backend', aio.otlpHttpUrl);
    providers = [a.provider, b.provider];
    const w3c: TextMapPropagator = new W3CTraceContextPropagator();
    const b3multi: TextMapPropagator = new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER });

    appB = await listen((req, res) => {
      const parent = b3multi.extract(ROOT_CONTEXT, req.headers, getter);
      const span = b.tracer.startSpan('backend work', { kind: SpanKind.SERVER }, parent);
      res.end(JSON.stringify({ traceId: span.spanContext().traceId }));
      span.end();
    });
    appA = await listen((req, res) => {
      const parent = w3c.extract(ROOT_CONTEXT, req.headers, getter);
      const span = a.tracer.startSpan('frontend work', { kind: SpanKind.SERVER }, parent);
      const ctx: Context = trace.setSpan(parent, span);
      const headers: Record<string, string> = { host: 'backend' };
      // '/leaky' is the bug the propagation doctor exists for: the outbound call carries no context.
      if (req.url !== '/leaky') w3c.inject(ctx, headers, { set: (c, k, v) => { c[k] = v; } });
      // Apps forward headers from their inbound request to their outbound calls, as with Istio.
      if (req.url !== '/leaky') for (const h of ['tracestate', 'baggage', 'x-request-id']) if (req.headers[h]) headers[h] = String(req.headers[h]);
      send(sidecarA.outboundPort, '/api/backend', headers).then((r) => {
        res.end(JSON.stringify({ traceId: span.spanContext().traceId, backend: JSON.parse(r.body) }));
        span.end();
      }, (err: Error) => { res.statusCode = 500; res.end(err.message); span.end(); });
    });
    sidecarB = await startSidecar({
      service: 'backend', appPort: appB.port, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false,
      collector: aio.otlpHttpUrl, propagators: ['b3multi'], export: { flushIntervalMs: 50, maxQueueSpans: 1000, maxBatchSpans: 100, timeoutMs: 5000 },
    });
    sidecarA = await startSidecar({
      service: 'frontend', appPort: appA.port, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false,
      collector: aio.otlpHttpUrl, upstreams: { backend: `127.0.0.1:${sidecarB.inboundPort}` },
      export: { flushIntervalMs: 50, maxQueueSpans: 1000, maxBatchSpans: 100, timeoutMs: 5000 },
    });
  });

  afterAll(async () => {
    await Promise.all([sidecarA?.close({ drainMs: 100 }), sidecarB?.close({ drainMs: 100 })]);
    await Promise.all(providers.map((p) => p.shutdown()));
    await Promise.all([appA?.close(), appB?.close()]);
    await aio?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function fetchTrace(traceId: string, spans: number): Promise<JaegerTrace> {
    await Promise.all([sidecarA.flushSpans(), sidecarB.flushSpans(), ...providers.map((p) => p.forceFlush())]);
    return waitFor(async () => {
      const r = await fetch(`${aio.queryUrl}/api/traces/${traceId}`);
      if (r.status !== 200) return undefined;
      const body = (await r.json()) as { data: JaegerTrace[] };
      return body.data[0]?.spans.length === spans ? body.data[0] : undefined;
    }, `trace ${traceId} with ${spans} spans in the query API`);
  }

  function chain(t: JaegerTrace) {
    const byId = new Map(t.spans.map((s) => [s.spanID, s]));
    const describe = (s: JaegerSpan) => {
      const kind = s.tags.find((x) => x.key === 'span.kind')?.value;
      return `${t.processes[s.processID].serviceName}:${kind}:${s.operationName}`;
    };
    const parentOf = (s: JaegerSpan) => {
      const ref = s.references.find((r) => r.refType === 'CHILD_OF');
      return ref ? byId.get(ref.spanID) : undefined;
    };
    // Walk up from the deepest span (B's app span) to the root.
    let s: JaegerSpan | undefined = t.spans.find((x) => x.operationName === 'backend work');
    const path: string[] = [];
    while (s) { path.unshift(describe(s)); s = parentOf(s); }
    return path;
  }

  it('one trace, A app → A client → B server → B app, correctly parented (W3C in at B, B3 out to B app)', async () => {
    const r = await send(sidecarA.inboundPort, '/api/frontend', {});
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body) as { traceId: string; backend: { traceId: string } };
    // B's app, reading only B3, continued the same trace
    expect(body.backend.traceId).toBe(body.traceId);
    const t = await fetchTrace(body.traceId, 5);
    expect(chain(t)).toEqual([
      'frontend:server:GET /api/frontend',
      'frontend:server:frontend work',
      'frontend:client:GET /api/backend',
      'backend:server:GET /api/backend',
      'backend:server:backend work',
    ]);
    const client = t.spans.find((s) => s.operationName === 'GET /api/backend' && s.tags.some((x) => x.key === 'span.kind' && x.value === 'client'))!;
    const tag = (s: JaegerSpan, k: string) => s.tags.find((x) => x.key === k)?.value;
    expect(tag(client, 'upstream_cluster')).toBe(`outbound|${sidecarB.inboundPort}||backend`);
    expect(tag(client, 'http.response.status_code')).toBe(200);
    expect(tag(client, 'meshtrace.propagation')).toBe('ok');
  });

  it('B3 in at A, W3C out to A app: the caller\'s B3 trace continues through both services', async () => {
    const traceId = '80f198ee56343ba864fe8b2a57d3eff7';
    const r = await send(sidecarA.inboundPort, '/api/frontend', { 'x-b3-traceid': traceId, 'x-b3-spanid': 'e457b5a2e4d86bd1', 'x-b3-sampled': '1', tracestate: 'ignored=1', baggage: 'tenant=acme' });
    const body = JSON.parse(r.body) as { traceId: string; backend: { traceId: string } };
    expect(body.traceId).toBe(traceId);
    expect(body.backend.traceId).toBe(traceId);
    const t = await fetchTrace(traceId, 5);
    const root = t.spans.find((s) => s.operationName === 'GET /api/frontend')!;
    expect(root.references).toEqual([{ refType: 'CHILD_OF', traceID: traceId, spanID: 'e457b5a2e4d86bd1' }]);
  });

  it('the propagation doctor names the service whose app drops the context, findable by tag in the query API', async () => {
    const r = await send(sidecarA.inboundPort, '/leaky', {});
    const body = JSON.parse(r.body) as { traceId: string; backend: { traceId: string } };
    // the trace broke: B's side is a different trace
    expect(body.backend.traceId).not.toBe(body.traceId);
    await Promise.all([sidecarA.flushSpans(), sidecarB.flushSpans(), ...providers.map((p) => p.forceFlush())]);
    const found = await waitFor(async () => {
      const res = await fetch(`${aio.queryUrl}/api/traces?service=frontend&tag=meshtrace.propagation:broken&lookback=1h`);
      const t = (await res.json()) as { data: JaegerTrace[] };
      return t.data.length > 0 ? t.data : undefined;
    }, 'a trace with a broken-propagation span');
    expect(found).toHaveLength(1);
    const t = found[0];
    expect(t.traceID).toBe(body.backend.traceId);
    const broken = t.spans.find((s) => s.tags.some((x) => x.key === 'meshtrace.propagation' && x.value === 'broken'))!;
    expect(t.processes[broken.processID].serviceName).toBe('frontend');
    expect(broken.tags.find((x) => x.key === 'span.kind')?.value).toBe('client');
    expect(String(broken.tags.find((x) => x.key === 'meshtrace.propagation.fix')?.value)).toContain('traceparent');
    expect(await sidecarA.metrics.text()).toMatch(/^meshtrace_propagation_broken_total\{service="frontend"\} 1$/m);
  });
});
