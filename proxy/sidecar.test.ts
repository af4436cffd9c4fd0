import type { IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind, StatusCode } from '../model/span.js';
import { startSidecar, type Sidecar } from './sidecar.js';
import { attr, lineCollector, listen, readBody, send, startOtlpSink, waitFor, type Running } from './testing/harness.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

describe('sidecar: inbound and outbound forwarding with tracing', () => {
  let sink: Awaited<ReturnType<typeof startOtlpSink>>;
  let app: Running;
  let backend: Running;
  let sidecar: Sidecar;
  const log = lineCollector();
  /** The sidecar's own diagnostics: a filter that throws logs here, and the last test checks none did. */
  const diagnostics = lineCollector();
  const appSockets = new Set<unknown>();
  /** Headers the app and backend saw, by x-test-id. */
  const seenByApp = new Map<string, IncomingHttpHeaders>();
  const seenByBackend = new Map<string, IncomingHttpHeaders>();

  beforeAll(async () => {
    sink = await startOtlpSink();
    backend = await listen(async (req, res) => {
      seenByBackend.set(String(req.headers['x-test-id']), req.headers);
      const body = await readBody(req);
      res.writeHead(req.url === '/fail' ? 500 : 200, { 'content-type': 'text/plain', 'x-backend': '1' });
      res.end(`backend:${req.url}:${body.length}`);
    });
    app = await listen(async (req, res) => {
      appSockets.add(req.socket);
      seenByApp.set(String(req.headers['x-test-id']), req.headers);
      const body = await readBody(req);
      res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive', 'keep-alive': 'timeout=5' });
      res.end(JSON.stringify({ path: req.url, method: req.method, bodyBytes: body.length }));
    });
    sidecar = await startSidecar({
      service: 'reviews', serviceVersion: 'v2', appPort: app.port, inboundPort: 0, outboundPort: 0, adminPort: 0,
      collector: sink.url, upstreams: { ratings: `127.0.0.1:${backend.port}` },
      sampling: { rate: 1, routes: [{ pathPrefix: '/health', rate: 0 }, { pathPrefix: '/api/items', route: '/api/items/{id}', rate: 1 }], upstreams: {} },
      export: { flushIntervalMs: 20, maxQueueSpans: 1000, maxBatchSpans: 100, timeoutMs: 2000 },
    }, { accessLog: log, logger: pino({ level: 'warn' }, diagnostics) });
  });
  afterAll(async () => {
    await sidecar?.close({ drainMs: 100 });
    await Promise.all([app?.close(), backend?.close(), sink?.close()]);
  });

  const spanById = (id: string) => waitFor(() => sink.spans.find((s) => s.spanId === id), `span ${id}`);

  it('forwards inbound to the app, continuing a W3C trace and injecting W3C + B3 (W3C in, B3 out)', async () => {
    const r = await send(sidecar.inboundPort, '/api/items/7?x=1', {
      'x-test-id': 'w3c', traceparent: `00-${T}-${S}-01`, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
      baggage: 'userId=alice,serverNode=DF%2028', 'user-agent': 'test-agent',
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ path: '/api/items/7?x=1', method: 'GET' });
    const h = seenByApp.get('w3c')!;
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(h['traceparent']))!;
    expect(m[1]).toBe(T);
    const serverSpanId = m[2];
    expect(serverSpanId).not.toBe(S);
    expect(h['b3']).toBe(`${T}-${serverSpanId}-1`);
    expect(h['tracestate']).toBe('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
    expect(h['baggage']).toBe('userId=alice,serverNode=DF%2028');
    expect(h['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(r.headers['x-request-id']).toBe(h['x-request-id']);
    // hop-by-hop headers from the app's response are not forwarded
    expect(r.headers['keep-alive']).toBeUndefined();

    const span = await spanById(serverSpanId);
    expect(span).toMatchObject({ traceId: T, parentSpanId: S, kind: SpanKind.SERVER, name: 'GET /api/items/{id}', traceState: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' });
    expect(span.resource.serviceName).toBe('reviews');
    expect(span.resource.attributes.find((a) => a.key === 'service.instance.id')).toBeDefined();
    expect(attr(span, 'http.request.method')).toBe('GET');
    expect(attr(span, 'url.path')).toBe('/api/items/7');
    expect(attr(span, 'url.query')).toBe('x=1');
    expect(attr(span, 'url.scheme')).toBe('http');
    expect(attr(span, 'http.route')).toBe('/api/items/{id}');
    expect(attr(span, 'http.response.status_code')).toBe(200);
    expect(attr(span, 'server.address')).toBe('127.0.0.1');
    expect(attr(span, 'server.port')).toBe(sidecar.inboundPort);
    expect(attr(span, 'network.peer.address')).toBe('127.0.0.1');
    expect(attr(span, 'user_agent.original')).toBe('test-agent');
    expect(attr(span, 'upstream_cluster')).toBe(`inbound|${app.port}||`);
    expect(attr(span, 'response_flags')).toBe('-');
    expect(Number(attr(span, 'http.response.body.size'))).toBe(r.body.length);
    expect(span.status.code).toBe(StatusCode.UNSET);

    // the access log line names the trace and span
    const line = await waitFor(() => log.lines.find((l) => l['span_id'] === serverSpanId), 'access log line');
    expect(line).toMatchObject({ direction: 'inbound', method: 'GET', path: '/api/items/7?x=1', response_code: 200, response_flags: '-', trace_id: T, request_id: h['x-request-id'], upstream_cluster: `inbound|${app.port}||`, user_agent: 'test-agent' });
  });

  it('continues a B3 multi-header trace and injects W3C (B3 in, W3C out)', async () => {
    const r = await send(sidecar.inboundPort, '/b3', { 'x-test-id': 'b3', 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': '1', 'x-b3-parentspanid': 'aaaaaaaaaaaaaaaa' });
    expect(r.status).toBe(200);
    const h = seenByApp.get('b3')!;
    expect(String(h['traceparent'])).toMatch(new RegExp(`^00-${T}-[0-9a-f]{16}-01$`));
    // stale B3 multi headers are replaced, not passed along with the old parent
    expect(h['x-b3-spanid']).toBeUndefined();
    expect(h['x-b3-parentspanid']).toBeUndefined();
    const spanId = String(h['traceparent']).split('-')[2];
    expect(await spanById(spanId)).toMatchObject({ traceId: T, parentSpanId: S });
  });

  it('serves a request with an invalid traceparent, in a new trace', async () => {
    const r = await send(sidecar.inboundPort, '/bad', { 'x-test-id': 'bad', traceparent: `00-${T.toUpperCase()}-${S}-01`, tracestate: 'a=1' });
    expect(r.status).toBe(200);
    const h = seenByApp.get('bad')!;
    const [, traceId, spanId] = String(h['traceparent']).split('-');
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).not.toBe(T);
    expect(h['tracestate']).toBeUndefined();
    expect(await spanById(spanId)).toMatchObject({ traceId, parentSpanId: '' });
    const text = await sidecar.metrics.text();
    expect(text).toMatch(/meshtrace_proxy_invalid_trace_context_total\{listener="inbound",format="tracecontext"\} 1/);
  });

  it('honours an unsampled caller, the route rate, and the force-trace header', async () => {
    await send(sidecar.inboundPort, '/unsampled', { 'x-test-id': 'unsampled', traceparent: `00-${T}-${S}-00` });
    await send(sidecar.inboundPort, '/health/live', { 'x-test-id': 'health' });
    await send(sidecar.inboundPort, '/health/debug', { 'x-test-id': 'forced', 'x-meshtrace-debug': '1' });
    const unsampled = String(seenByApp.get('unsampled')!['traceparent']);
    const health = String(seenByApp.get('health')!['traceparent']);
    const forced = String(seenByApp.get('forced')!['traceparent']);
    expect(unsampled).toMatch(/-00$/);
    expect(health).toMatch(/-00$/);
    expect(forced).toMatch(/-01$/);
    await spanById(forced.split('-')[2]);
    await sidecar.flushSpans();
    expect(sink.spans.find((s) => s.spanId === unsampled.split('-')[2])).toBeUndefined();
    expect(sink.spans.find((s) => s.spanId === health.split('-')[2])).toBeUndefined();
  });

  it('forwards outbound calls by absolute-form target and by Host, to a named upstream, with a CLIENT span', async () => {
    // as an HTTP_PROXY client sends it
    const viaProxy = await send(sidecar.outboundPort, 'http://ratings/ratings/1', { host: 'ratings', 'x-test-id': 'out1', traceparent: `00-${T}-${S}-01` });
    expect(viaProxy.status).toBe(200);
    expect(viaProxy.body).toBe('backend:/ratings/1:0');
    expect(viaProxy.headers['x-backend']).toBe('1');
    // by Host header, with a body
    const byHost = await send(sidecar.outboundPort, '/ratings/2', { host: 'ratings:9080', 'x-test-id': 'out2', 'content-type': 'text/plain' }, 'POST', 'hello');
    expect(byHost.body).toBe('backend:/ratings/2:5');
    const h1 = seenByBackend.get('out1')!;
    expect(h1['host']).toBe('ratings');
    expect(h1['x-meshtrace-peer-workload']).toBe('reviews');
    const clientSpanId = String(h1['traceparent']).split('-')[2];
    const span = await spanById(clientSpanId);
    expect(span).toMatchObject({ traceId: T, parentSpanId: S, kind: SpanKind.CLIENT, name: 'GET /ratings/1' });
    expect(attr(span, 'upstream_cluster')).toBe(`outbound|${backend.port}||ratings`);
    expect(attr(span, 'peer.service')).toBe('ratings');
    expect(attr(span, 'server.port')).toBe(backend.port);
    const h2 = seenByBackend.get('out2')!;
    const span2 = await spanById(String(h2['traceparent']).split('-')[2]);
    expect(attr(span2, 'http.request.body.size')).toBe(5);
    expect(attr(span2, 'http.request.method')).toBe('POST');
  });

  it('passes other hosts through as they are', async () => {
    const r = await send(sidecar.outboundPort, `http://127.0.0.1:${backend.port}/direct`, { 'x-test-id': 'direct' });
    expect(r.body).toBe('backend:/direct:0');
    expect(seenByBackend.get('direct')!['x-meshtrace-peer-workload']).toBeUndefined();
    const span = await spanById(String(seenByBackend.get('direct')!['traceparent']).split('-')[2]);
    expect(attr(span, 'upstream_cluster')).toBe('PassthroughCluster');
  });

  it('marks 5xx responses as errors and refuses to route to itself', async () => {
    const r = await send(sidecar.outboundPort, '/fail', { host: 'ratings', 'x-test-id': 'fail' });
    expect(r.status).toBe(500);
    const span = await spanById(String(seenByBackend.get('fail')!['traceparent']).split('-')[2]);
    expect(span.status.code).toBe(StatusCode.ERROR);
    const loop = await send(sidecar.outboundPort, '/x', { host: `127.0.0.1:${sidecar.outboundPort}` });
    expect(loop.status).toBe(404);
  });

  it('exposes Istio metrics with the standard names, labels and buckets', async () => {
    const text = await sidecar.metrics.text();
    const line = (name: string, labels: Record<string, string>) => {
      const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      return text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
    };
    const inbound200 = line('istio_requests_total', { reporter: 'destination', source_workload: 'unknown', destination_service: 'reviews', destination_workload: 'reviews', destination_version: 'v2', request_protocol: 'http', response_code: '200', response_flags: '-', connection_security_policy: 'none' });
    expect(inbound200).toBeDefined();
    expect(Number(inbound200!.split(' ').pop())).toBeGreaterThanOrEqual(6);
    const outbound = line('istio_requests_total', { reporter: 'source', source_workload: 'reviews', source_version: 'v2', destination_service: 'ratings', response_code: '200' });
    expect(Number(outbound!.split(' ').pop())).toBe(2);
    expect(line('istio_requests_total', { reporter: 'source', destination_service: 'ratings', response_code: '500' })).toBeDefined();
    for (const le of ['0.5', '1', '5', '10', '25', '50', '100', '250', '500', '1000', '2500', '5000', '10000', '30000', '60000', '300000', '600000', '1800000', '3600000', '+Inf']) {
      expect(line('istio_request_duration_milliseconds_bucket', { reporter: 'destination', le })).toBeDefined();
    }
    expect(line('istio_request_bytes_count', { reporter: 'source', destination_service: 'ratings' })).toBeDefined();
    expect(line('istio_response_bytes_sum', { reporter: 'destination' })).toBeDefined();
    expect(text).toMatch(/^meshtrace_proxy_active_connections\{listener="inbound"\} \d+$/m);
    expect(text).toMatch(/^meshtrace_proxy_spans_dropped_total\{reason="queue_full"\} 0$/m);
    expect(text).toMatch(/^meshtrace_propagation_broken_total\{service="reviews"\} \d+$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it('keeps connections to the app alive across requests from many clients', async () => {
    appSockets.clear();
    for (let i = 0; i < 20; i++) expect((await send(sidecar.inboundPort, `/keepalive/${i}`)).status).toBe(200);
    // 20 client connections (one per request), one pooled upstream connection reused
    expect(appSockets.size).toBe(1);
  });

  it('relays CONNECT tunnels on the outbound port', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const s = connect(sidecar.outboundPort, '127.0.0.1', () => s.write(`CONNECT 127.0.0.1:${backend.port} HTTP/1.1\r\nHost: 127.0.0.1:${backend.port}\r\n\r\n`));
      let out = '';
      s.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('200 Connection Established\r\n\r\n') && !out.includes('GET')) {
          out += 'GET';
          s.write('GET /tunnelled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        }
      });
      s.on('close', () => resolve(out));
      s.on('error', reject);
    });
    expect(reply).toContain('backend:/tunnelled:0');
  });

  it('logged no filter errors along the way', () => {
    expect(diagnostics.lines).toEqual([]);
  });

  it('serves /ready, /config and /metrics on the admin port', async () => {
    const ready = await send(sidecar.adminPort, '/ready');
    expect(ready).toMatchObject({ status: 200, body: 'LIVE\n' });
    const config = JSON.parse((await send(sidecar.adminPort, '/config')).body);
    expect(config).toMatchObject({ service: 'reviews', appPort: app.port, inboundPort: sidecar.inboundPort, upstreams: { ratings: { host: '127.0.0.1', port: backend.port } }, propagators: ['tracecontext', 'b3'] });
    const metrics = await send(sidecar.adminPort, '/metrics');
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.body).toContain('# TYPE istio_requests_total counter');
    expect((await send(sidecar.adminPort, '/nope')).status).toBe(404);
  });
});

describe('sidecar: peers, doctor and a collector that is down', () => {
  it('fills source/destination workloads from peer metadata between two sidecars', async () => {
    const app = await listen((_req, res) => res.end('ok'));
    const server = await startSidecar({ service: 'ratings', serviceVersion: 'v1', appPort: app.port, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false });
    const client = await startSidecar({ service: 'reviews', serviceVersion: 'v3', appPort: 1, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false, upstreams: { ratings: `127.0.0.1:${server.inboundPort}` } });
    try {
      const r = await send(client.outboundPort, '/', { host: 'ratings' });
      expect(r.status).toBe(200);
      expect(r.headers['x-meshtrace-peer-workload']).toBeUndefined();
      expect(await server.metrics.text()).toMatch(/istio_requests_total\{reporter="destination",source_workload="reviews",source_version="v3",destination_service="ratings",destination_workload="ratings",destination_version="v1",.*response_code="200".*\} 1/);
      expect(await client.metrics.text()).toMatch(/istio_requests_total\{reporter="source",source_workload="reviews",source_version="v3",destination_service="ratings",destination_workload="ratings",destination_version="v1",.*\} 1/);
    } finally {
      await client.close({ drainMs: 50 });
      await server.close({ drainMs: 50 });
      await app.close();
    }
  });

  it('keeps traffic flowing with the collector down, dropping and counting spans', async () => {
    const app = await listen((_req, res) => res.end('ok'));
    const dead = await listen(() => {});
    await dead.close(); // a port nobody listens on any more
    const sc = await startSidecar({ service: 's', appPort: app.port, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false, collector: dead.url, export: { maxQueueSpans: 5, maxBatchSpans: 2, flushIntervalMs: 10, timeoutMs: 500 } });
    try {
      for (let i = 0; i < 20; i++) expect((await send(sc.inboundPort, `/${i}`)).status).toBe(200);
      await sc.flushSpans();
      const text = await sc.metrics.text();
      const dropped = [...text.matchAll(/^meshtrace_proxy_spans_dropped_total\{reason="(\w+)"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[2]), 0);
      expect(dropped).toBe(20);
    } finally {
      await sc.close({ drainMs: 50 });
      await app.close();
    }
  });

  it('names the app that drops trace context, and not the one that forwards it', async () => {
    const sink = await startOtlpSink();
    const backend = await listen((_req, res) => res.end('b'));
    let outboundPort = 0;
    // The app calls the backend through its sidecar, forwarding the trace headers only when asked to.
    const app = await listen(async (req, res) => {
      const forward = req.url === '/forwards';
      const headers: Record<string, string> = { host: 'backend', 'x-kind': forward ? 'fwd' : 'drop' };
      if (forward) for (const h of ['traceparent', 'tracestate', 'baggage']) if (req.headers[h]) headers[h] = String(req.headers[h]);
      await send(outboundPort, '/call', headers);
      res.end('done');
    });
    const sc = await startSidecar({ service: 'leaky', appPort: app.port, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false, collector: sink.url, upstreams: { backend: `127.0.0.1:${backend.port}` }, export: { flushIntervalMs: 20, maxQueueSpans: 100, maxBatchSpans: 10, timeoutMs: 2000 } });
    outboundPort = sc.outboundPort;
    const broken = async () => Number(/^meshtrace_propagation_broken_total\{service="leaky"\} (\d+)$/m.exec(await sc.metrics.text())![1]);
    try {
      await send(sc.inboundPort, '/forwards');
      expect(await broken()).toBe(0);
      await send(sc.inboundPort, '/drops');
      expect(await broken()).toBe(1);
      // with no inbound request in flight, an outbound call without context is not a propagation bug
      await send(sc.outboundPort, '/call', { host: 'backend' });
      expect(await broken()).toBe(1);
      await sc.flushSpans();
      const clients = await waitFor(() => { const c = sink.spans.filter((s) => s.kind === SpanKind.CLIENT); return c.length === 3 && c; }, 'three client spans');
      const marks = clients.map((s) => attr(s, 'meshtrace.propagation'));
      expect(marks.filter((m) => m === 'broken')).toHaveLength(1);
      expect(marks.filter((m) => m === 'ok')).toHaveLength(1);
      const brokenSpan = clients.find((s) => attr(s, 'meshtrace.propagation') === 'broken')!;
      expect(brokenSpan.resource.serviceName).toBe('leaky');
      expect(String(attr(brokenSpan, 'meshtrace.propagation.fix'))).toContain('traceparent');
    } finally {
      await sc.close({ drainMs: 50 });
      await Promise.all([app.close(), backend.close(), sink.close()]);
    }
  });
});
