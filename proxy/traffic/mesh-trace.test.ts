/**
 * The mesh in the trace (issue 12), end to end with real parts: the all-in-one server (collector,
 * SQLite, Jaeger query API), a `reviews` sidecar whose outbound routes retry, inject faults, break
 * circuits and eject endpoints, a `ratings` sidecar in front of an OpenTelemetry-instrumented app
 * that fails the first try of each call with 503. Requests enter the reviews sidecar's outbound
 * listener as the reviews app would send them, with a sampled traceparent.
 */
import { type IncomingMessage } from 'node:http';
import { ROOT_CONTEXT, SpanKind, type TextMapGetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from '../../test/helpers/server.js';
import { startSidecar, type Sidecar } from '../sidecar.js';
import { listen, readBody, send, type Running } from '../testing/harness.js';

interface KV { key: string; value: unknown }
interface JSpan {
  spanID: string; operationName: string; processID: string; startTime: number; duration: number;
  references: { refType: string; spanID: string }[]; tags: KV[]; logs: { timestamp: number; fields: KV[] }[];
}
interface JTrace { traceID: string; spans: JSpan[]; processes: Record<string, { serviceName: string }> }

const getter: TextMapGetter<IncomingMessage['headers']> = { keys: (c) => Object.keys(c), get: (c, k) => c[k.toLowerCase()] };
const tag = (s: JSpan, k: string) => s.tags.find((t) => t.key === k)?.value;
const events = (s: JSpan) => s.logs.map((l) => Object.fromEntries(l.fields.map((f) => [f.key, f.value])) as Record<string, unknown>);
const eventNamed = (s: JSpan, name: string) => events(s).find((e) => e.event === name);
const parentOf = (s: JSpan) => s.references.find((r) => r.refType === 'CHILD_OF')?.spanID;

let seq = 0x5000;
/** A fresh sampled trace the "reviews app" continues: the parent span id is the app's (not stored). */
function newTrace(): { traceId: string; traceparent: string } {
  const traceId = (++seq).toString(16).padStart(32, 'a');
  return { traceId, traceparent: `00-${traceId}-00f067aa0ba902b7-01` };
}

describe('the mesh in the trace: retries, faults, overflow, ejection, timeouts as spans and events', () => {
  let server: TestServer;
  let provider: NodeTracerProvider;
  let ratingsApp: Running;
  let plainApp: Running;
  let ratings: Sidecar;
  let reviews: Sidecar;
  /** Tries the ratings app saw per x-test-id. */
  const triesSeen = new Map<string, number>();
  /** Requests the plain app is holding (?ms=). */
  let plainHolding = 0;

  async function traceOf(traceId: string, spans: number): Promise<JTrace> {
    return eventually(async () => {
      const r = await fetch(`${server.queryUrl}/api/traces/${traceId}`);
      if (r.status !== 200) return undefined;
      const t = ((await r.json()) as { data: JTrace[] }).data[0];
      return t.spans.length >= spans ? t : undefined;
    });
  }
  const service = (t: JTrace, s: JSpan) => t.processes[s.processID].serviceName;

  beforeAll(async () => {
    server = await startTestServer({ otlpGrpcPort: 'off', zipkinPort: 'off' });
    provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'ratings-app' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${server.otlpHttpUrl}/v1/traces` }))],
    });
    const tracer = provider.getTracer('ratings-app');
    const w3c = new W3CTraceContextPropagator();
    // With x-fail-first, fails the first try of each x-test-id with 503, as a flaky ratings version does.
    ratingsApp = await listen(async (req, res) => {
      const span = tracer.startSpan('GET /ratings', { kind: SpanKind.SERVER }, w3c.extract(ROOT_CONTEXT, req.headers, getter));
      await readBody(req);
      const id = String(req.headers['x-test-id']);
      const n = (triesSeen.get(id) ?? 0) + 1;
      triesSeen.set(id, n);
      const status = n === 1 && req.headers['x-fail-first'] ? 503 : 200;
      span.setAttribute('http.response.status_code', status);
      res.writeHead(status).end(status === 503 ? 'unavailable' : 'ok');
      span.end();
    });
    // Answers with the status in ?status=, after ?ms= milliseconds.
    plainApp = await listen(async (req, res) => {
      await readBody(req);
      const q = new URL(req.url!, 'http://x').searchParams;
      const ms = Number(q.get('ms') ?? 0);
      if (ms) { plainHolding++; await new Promise((r) => setTimeout(r, ms)); plainHolding--; }
      if (!res.destroyed) res.writeHead(Number(q.get('status') ?? 200)).end('plain');
    });
    const exportFast = { flushIntervalMs: 20, maxQueueSpans: 5000, maxBatchSpans: 500, timeoutMs: 2000 };
    ratings = await startSidecar({
      service: 'ratings', appPort: ratingsApp.port, inboundPort: 0, outboundPort: 0, adminPort: 0,
      collector: server.otlpHttpUrl, export: exportFast, accessLog: false,
    });
    const plain = `127.0.0.1:${plainApp.port}`;
    reviews = await startSidecar({
      service: 'reviews', appPort: 1, inboundPort: 0, outboundPort: 0, adminPort: 0,
      collector: server.otlpHttpUrl, export: exportFast, accessLog: false,
      upstreams: { ratings: `127.0.0.1:${ratings.inboundPort}`, details: plain, limited: plain, outlier: plain, slow: plain },
      upstreamPolicies: {
        limited: { maxRequests: 1 },
        outlier: { outlierDetection: { consecutive5xxErrors: 1, baseEjectionTimeMs: 60_000, maxEjectionPercent: 100 } },
      },
      routes: [
        { name: 'ratings', host: 'ratings', destinations: [{ upstream: 'ratings' }], retries: { attempts: 2, retryOn: ['5xx'] } },
        { name: 'details-delay', host: 'details', match: [{ pathPrefix: '/delay' }], destinations: [{ upstream: 'details' }], fault: { delay: { percent: 100, fixedDelayMs: 30 } } },
        { name: 'details-abort', host: 'details', match: [{ pathPrefix: '/abort' }], destinations: [{ upstream: 'details' }], fault: { abort: { percent: 100, httpStatus: 418 } } },
        { name: 'slow', host: 'slow', destinations: [{ upstream: 'slow' }], timeoutMs: 50 },
        { name: 'slow-per-try', host: 'slow-try', destinations: [{ upstream: 'slow' }], retries: { attempts: 1, perTryTimeoutMs: 50, retryOn: ['5xx'] } },
      ],
    });
  }, 30_000);

  afterAll(async () => {
    await Promise.all([reviews?.close(), ratings?.close()]);
    await provider?.shutdown();
    await Promise.all([ratingsApp?.close(), plainApp?.close()]);
    await server?.stop();
  });

  const call = (host: string, path: string, traceparent: string, extra: Record<string, string> = {}) =>
    send(reviews.outboundPort, path, { host, traceparent, ...extra });

  it('a retried call: the logical CLIENT span, one CLIENT span per try, each upstream SERVER span under its own try', async () => {
    const { traceId, traceparent } = newTrace();
    const r = await call('ratings', '/ratings/1', traceparent, { 'x-test-id': 'retry-1', 'x-fail-first': '1' });
    expect(r.status).toBe(200);
    expect(triesSeen.get('retry-1')).toBe(2);
    await Promise.all([reviews.flushSpans(), ratings.flushSpans()]);
    // reviews: logical + 2 tries; ratings sidecar: 2 SERVER; ratings app: 2 SERVER.
    const t = await traceOf(traceId, 7);
    const reviewsSpans = t.spans.filter((s) => service(t, s) === 'reviews');
    const logical = reviewsSpans.find((s) => tag(s, 'meshtrace.attempt') === undefined)!;
    expect(logical).toBeDefined();
    expect(parentOf(logical)).toBe('00f067aa0ba902b7');
    expect(tag(logical, 'meshtrace.retried')).toBe(true);
    expect(tag(logical, 'http.response.status_code')).toBe(200);
    const route = eventNamed(logical, 'meshtrace.route')!;
    expect(route).toMatchObject({ 'meshtrace.route.name': 'ratings', 'meshtrace.destination': 'ratings', 'meshtrace.route.destinations': 'ratings=1' });

    const tries = reviewsSpans.filter((s) => tag(s, 'meshtrace.attempt') !== undefined).sort((a, b) => Number(tag(a, 'meshtrace.attempt')) - Number(tag(b, 'meshtrace.attempt')));
    expect(tries).toHaveLength(2);
    for (const s of tries) {
      expect(parentOf(s)).toBe(logical.spanID);
      expect(tag(s, 'span.kind')).toBe('client');
      expect(tag(s, 'server.address')).toBe('127.0.0.1');
      expect(tag(s, 'server.port')).toBe(ratings.inboundPort);
      expect(tag(s, 'network.peer.address')).toBe('127.0.0.1');
    }
    const [first, second] = tries;
    expect(tag(first, 'http.response.status_code')).toBe(503);
    expect(tag(first, 'error.type')).toBe('503');
    expect(tag(first, 'error')).toBe(true);
    expect(tag(first, 'http.request.resend_count')).toBeUndefined();
    expect(eventNamed(first, 'meshtrace.retry')).toMatchObject({ 'meshtrace.retry.reason': '503', 'meshtrace.retry.retry_on': '5xx', 'meshtrace.retry.next_attempt': 2 });
    expect(tag(second, 'http.response.status_code')).toBe(200);
    expect(tag(second, 'http.request.resend_count')).toBe(1);
    const backoff = tag(second, 'meshtrace.retry.backoff_ms') as number;
    expect(backoff).toBeGreaterThanOrEqual(0);
    expect(backoff).toBeLessThan(25); // the first retry's back-off ceiling
    expect(eventNamed(first, 'meshtrace.retry')!['meshtrace.retry.backoff_ms']).toBe(backoff);
    // The tries do not overlap: the second starts after the first ended plus the back-off.
    expect(second.startTime).toBeGreaterThanOrEqual(first.startTime + first.duration);

    // Each try's traceparent named that try's span: the upstream SERVER spans hang off the right try.
    const ratingsServer = t.spans.filter((s) => service(t, s) === 'ratings');
    expect(ratingsServer).toHaveLength(2);
    expect(ratingsServer.map((s) => parentOf(s)).sort()).toEqual([first.spanID, second.spanID].sort());
    const serverOf = (attemptSpan: JSpan) => ratingsServer.find((s) => parentOf(s) === attemptSpan.spanID)!;
    expect(tag(serverOf(first), 'http.response.status_code')).toBe(503);
    expect(tag(serverOf(second), 'http.response.status_code')).toBe(200);
    const appSpans = t.spans.filter((s) => service(t, s) === 'ratings-app');
    expect(appSpans.map((s) => parentOf(s)).sort()).toEqual(ratingsServer.map((s) => s.spanID).sort());

    // Found by the indexed tag, through the Jaeger search API.
    const found = await fetch(`${server.queryUrl}/api/traces?service=reviews&tag=meshtrace.retried:true&lookback=1h`);
    expect(((await found.json()) as { data: JTrace[] }).data.map((x) => x.traceID)).toContain(traceId);
  });

  it('a retry route whose first try succeeds stays one CLIENT span, the upstream SERVER span its child', async () => {
    const { traceId, traceparent } = newTrace();
    const r = await call('ratings', '/ratings/2', traceparent, { 'x-test-id': 'first-ok' });
    expect(r.status).toBe(200);
    await Promise.all([reviews.flushSpans(), ratings.flushSpans()]);
    const t = await traceOf(traceId, 3);
    const client = t.spans.filter((s) => service(t, s) === 'reviews');
    expect(client).toHaveLength(1);
    expect(tag(client[0], 'meshtrace.attempt')).toBeUndefined();
    expect(tag(client[0], 'meshtrace.retried')).toBeUndefined();
    expect(tag(client[0], 'meshtrace.retry.attempts')).toBe(1);
    expect(triesSeen.get('first-ok')).toBe(1);
    expect(parentOf(t.spans.find((s) => service(t, s) === 'ratings')!)).toBe(client[0].spanID);
  });

  it('without retries nothing changes: one CLIENT span, no events, no attempt spans', async () => {
    const ok = newTrace();
    expect((await call('outlier', '/', ok.traceparent)).status).toBe(200); // by upstream name, no route
    await reviews.flushSpans();
    const t = await traceOf(ok.traceId, 1);
    expect(t.spans).toHaveLength(1);
    expect(t.spans[0].logs).toEqual([]);
    expect(tag(t.spans[0], 'meshtrace.attempt')).toBeUndefined();
    expect(tag(t.spans[0], 'meshtrace.retried')).toBeUndefined();
  });

  it('fault delay and abort: events with the configured values, and meshtrace.fault tags', async () => {
    const d = newTrace();
    const a = newTrace();
    expect((await call('details', '/delay', d.traceparent)).status).toBe(200);
    expect((await call('details', '/abort', a.traceparent)).status).toBe(418);
    await reviews.flushSpans();
    const delayed = (await traceOf(d.traceId, 1)).spans[0];
    expect(eventNamed(delayed, 'meshtrace.fault.delay')).toMatchObject({ 'meshtrace.fault.delay_ms': 30, 'meshtrace.fault.percent': 100 });
    expect(tag(delayed, 'meshtrace.fault')).toBe('delay');
    expect(eventNamed(delayed, 'meshtrace.route')).toMatchObject({ 'meshtrace.route.name': 'details-delay', 'meshtrace.route.match': '[{"pathPrefix":"/delay"}]' });
    expect(delayed.duration).toBeGreaterThanOrEqual(30_000);
    const aborted = (await traceOf(a.traceId, 1)).spans[0];
    expect(eventNamed(aborted, 'meshtrace.fault.abort')).toMatchObject({ 'meshtrace.fault.abort_status': 418, 'meshtrace.fault.percent': 100 });
    expect(tag(aborted, 'meshtrace.fault')).toBe('abort');
    const found = await fetch(`${server.queryUrl}/api/traces?service=reviews&tag=meshtrace.fault:delay&lookback=1h`);
    expect(((await found.json()) as { data: JTrace[] }).data.map((x) => x.traceID)).toContain(d.traceId);
  });

  it('overflow: the refused call carries the limit that refused it and the count it was at', async () => {
    const held = newTrace();
    const refused = newTrace();
    const slow = call('limited', '/?ms=300', held.traceparent);
    await eventually(async () => plainHolding > 0); // the slow request holds the only slot
    const r = await call('limited', '/', refused.traceparent);
    expect(r.status).toBe(503);
    expect((await slow).status).toBe(200);
    await reviews.flushSpans();
    const span = (await traceOf(refused.traceId, 1)).spans[0];
    expect(eventNamed(span, 'meshtrace.overflow')).toMatchObject({ 'meshtrace.upstream': 'limited', 'meshtrace.overflow.limit': 'maxRequests', 'meshtrace.overflow.max': 1, 'meshtrace.overflow.current': 1 });
    expect(tag(span, 'meshtrace.overflow')).toBe(true);
    expect(tag(span, 'response_flags')).toBe('UO');
  });

  it('ejection: the event is on the span whose result ejected the endpoint; then no healthy upstream', async () => {
    const bad = newTrace();
    const after = newTrace();
    expect((await call('outlier', '/?status=500', bad.traceparent)).status).toBe(500);
    expect((await call('outlier', '/', after.traceparent)).status).toBe(503);
    await reviews.flushSpans();
    const ejecting = (await traceOf(bad.traceId, 1)).spans[0];
    expect(eventNamed(ejecting, 'meshtrace.ejection')).toMatchObject({
      'meshtrace.upstream': 'outlier', 'meshtrace.ejection.endpoint': `127.0.0.1:${plainApp.port}`,
      'meshtrace.ejection.duration_ms': 60_000, 'meshtrace.ejection.count': 1,
    });
    expect(tag(ejecting, 'meshtrace.ejection')).toBe(true);
    const refused = (await traceOf(after.traceId, 1)).spans[0];
    expect(eventNamed(refused, 'meshtrace.no_healthy_upstream')).toMatchObject({ 'meshtrace.upstream': 'outlier', 'meshtrace.upstream.endpoints': 1, 'meshtrace.upstream.ejected': `127.0.0.1:${plainApp.port}` });
    expect(tag(refused, 'response_flags')).toBe('UH');
  });

  it('timeouts: a route timeout on the logical span, a per-try timeout on the try it ended', async () => {
    const route = newTrace();
    const perTry = newTrace();
    expect((await call('slow', '/?ms=400', route.traceparent)).status).toBe(504);
    expect((await call('slow-try', '/?ms=400', perTry.traceparent)).status).toBe(504);
    await reviews.flushSpans();
    const routeSpan = (await traceOf(route.traceId, 1)).spans[0];
    expect(eventNamed(routeSpan, 'meshtrace.timeout')).toMatchObject({ 'meshtrace.timeout.kind': 'route', 'meshtrace.timeout.ms': 50 });
    expect(tag(routeSpan, 'meshtrace.timeout')).toBe('route');
    // Two tries, both ended by their per-try timeout; the logical span says retries ran out (URX).
    const t = await traceOf(perTry.traceId, 3);
    const tries = t.spans.filter((s) => tag(s, 'meshtrace.attempt') !== undefined);
    expect(tries).toHaveLength(2);
    for (const s of tries) {
      expect(eventNamed(s, 'meshtrace.timeout')).toMatchObject({ 'meshtrace.timeout.kind': 'per_try', 'meshtrace.timeout.ms': 50 });
      expect(tag(s, 'response_flags')).toBe('UT');
      expect(tag(s, 'meshtrace.timeout')).toBe('per_try');
    }
    const logical = t.spans.find((s) => tag(s, 'meshtrace.attempt') === undefined)!;
    expect(String(tag(logical, 'response_flags'))).toContain('URX');
    expect(eventNamed(tries.find((s) => tag(s, 'meshtrace.attempt') === 2)!, 'meshtrace.retry')).toMatchObject({ 'meshtrace.retry.exhausted': true });
  });

  it('/metrics and the stored trace agree: retries, overflows and ejections counted once each', async () => {
    await reviews.flushSpans();
    const metrics = await (await fetch(`http://127.0.0.1:${reviews.adminPort}/metrics`)).text();
    const counter = (name: string, upstream: string) => Number(new RegExp(`^${name}\\{[^}]*upstream="${upstream}"[^}]*\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
    const search = async (tagQuery: string) => {
      const r = await fetch(`${server.queryUrl}/api/traces?service=reviews&${tagQuery}&lookback=1h&limit=1000`);
      return ((await r.json()) as { data: JTrace[] }).data;
    };
    // Retries: tries with a resend count in the store, per upstream (ratings and slow-try's `slow`).
    const resent = (await search('tag=meshtrace.retried:true')).flatMap((t) => t.spans).filter((s) => tag(s, 'http.request.resend_count') !== undefined);
    const resentTo = (port: number) => resent.filter((s) => tag(s, 'server.port') === port).length;
    expect(counter('meshtrace_proxy_upstream_retries_total', 'ratings')).toBe(resentTo(ratings.inboundPort));
    expect(counter('meshtrace_proxy_upstream_retries_total', 'ratings')).toBeGreaterThan(0);
    expect(counter('meshtrace_proxy_upstream_retries_total', 'slow')).toBe(resentTo(plainApp.port));
    const overflowed = (await search('tag=meshtrace.overflow:true')).length;
    expect(overflowed).toBeGreaterThan(0);
    expect(counter('meshtrace_proxy_upstream_overflow_total', 'limited')).toBe(overflowed);
    const ejections = (await search('tag=meshtrace.ejection:true')).length;
    expect(ejections).toBeGreaterThan(0);
    expect(counter('meshtrace_proxy_outlier_ejections_total', 'outlier')).toBe(ejections);
  });
});
