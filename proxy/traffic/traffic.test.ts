import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Span } from '../../model/span.js';
import { startSidecar, type Sidecar } from '../sidecar.js';
import { attr, lineCollector, listen, readBody, send, startOtlpSink, waitFor, type Running } from '../testing/harness.js';

/**
 * Traffic management end to end: a real sidecar, real upstream servers on 127.0.0.1, a real
 * OTLP receiver. Requests go to the outbound listener with the Host the app would call.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A port nothing listens on: bound, then closed. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const traceparent = (n: number) => `00-${n.toString(16).padStart(32, '0')}-00f067aa0ba902b7-01`;
const traceId = (n: number) => n.toString(16).padStart(32, '0');

describe('sidecar traffic management', () => {
  let sink: Awaited<ReturnType<typeof startOtlpSink>>;
  let sidecar: Sidecar;
  const servers: Record<string, Running> = {};
  /** Per x-test-id: what the flaky server saw on each try. */
  const flakySeen = new Map<string, { attempt: string | undefined; body: string }[]>();
  const hits: Record<string, number> = {};
  const log = lineCollector();

  beforeAll(async () => {
    sink = await startOtlpSink();
    const named = async (name: string, status = 200) => {
      servers[name] = await listen(async (req, res) => {
        hits[name] = (hits[name] ?? 0) + 1;
        await readBody(req);
        res.writeHead(status, { 'content-type': 'text/plain' }).end(name);
      });
    };
    await Promise.all([named('v1'), named('v2'), named('bad', 500), named('bad2', 500)]);
    // Fails the first `x-fail-times` tries of each x-test-id with `x-fail-status` (default 500);
    // with `x-slow-first`, the first try instead answers only after that many ms.
    servers.flaky = await listen(async (req, res) => {
      const id = String(req.headers['x-test-id']);
      const body = (await readBody(req)).toString();
      const seen = flakySeen.get(id) ?? [];
      flakySeen.set(id, seen);
      seen.push({ attempt: req.headers['x-envoy-attempt-count'] as string | undefined, body });
      const slowFirst = Number(req.headers['x-slow-first'] ?? 0);
      if (slowFirst && seen.length === 1) { await sleep(slowFirst); if (!res.destroyed) res.end('late'); return; }
      if (seen.length <= Number(req.headers['x-fail-times'] ?? 0)) { res.writeHead(Number(req.headers['x-fail-status'] ?? 500)).end(`fail ${seen.length}`); return; }
      res.writeHead(200).end(`ok after ${seen.length}`);
    });
    servers.slow = await listen(async (req, res) => {
      hits.slow = (hits.slow ?? 0) + 1;
      await readBody(req);
      await sleep(Number(new URL(req.url!, 'http://x').searchParams.get('ms') ?? 0));
      if (!res.destroyed) res.end('slow');
    });
    const dead = await deadPort();
    const at = (name: string) => `127.0.0.1:${servers[name].port}`;
    sidecar = await startSidecar({
      service: 'productpage', appPort: 1, inboundPort: 0, outboundPort: 0, adminPort: 0, collector: sink.url,
      export: { flushIntervalMs: 20, maxQueueSpans: 5000, maxBatchSpans: 500, timeoutMs: 2000 },
      upstreams: {
        v1: at('v1'), v2: at('v2'), flaky: at('flaky'), slow: at('slow'), limited: at('slow'),
        pair: [`127.0.0.1:${dead}`, at('flaky')],
        outlier: [at('bad'), at('v1')], allbad: [at('bad'), at('bad2')],
      },
      upstreamPolicies: {
        limited: { maxRequests: 1 },
        outlier: { outlierDetection: { consecutive5xxErrors: 2, baseEjectionTimeMs: 60_000, maxEjectionPercent: 50 } },
        allbad: { outlierDetection: { consecutive5xxErrors: 1, baseEjectionTimeMs: 60_000, maxEjectionPercent: 100 } },
      },
      routes: [
        { name: 'reviews-jason', host: 'reviews', match: [{ headers: { 'end-user': { exact: 'jason' } } }], destinations: [{ upstream: 'v2' }] },
        { name: 'reviews-default', host: 'reviews', destinations: [{ upstream: 'v1' }] },
        { host: 'split', destinations: [{ upstream: 'v1', weight: 80 }, { upstream: 'v2', weight: 20 }] },
        { name: 'retry', host: 'retry', destinations: [{ upstream: 'flaky' }], retries: { attempts: 2, retryOn: ['5xx'] } },
        { name: 'retry-cf', host: 'retry-cf', destinations: [{ upstream: 'pair' }], retries: { attempts: 1, retryOn: ['connect-failure'] } },
        { name: 'pertry', host: 'pertry', destinations: [{ upstream: 'flaky' }], retries: { attempts: 2, perTryTimeoutMs: 300, retryOn: ['5xx'] }, timeoutMs: 20_000 },
        { name: 'timeout', host: 'timeout', destinations: [{ upstream: 'slow' }], timeoutMs: 200 },
        { name: 'abort', host: 'abort', destinations: [{ upstream: 'v1' }], fault: { abort: { percent: 100, httpStatus: 418 } } },
        { name: 'delay', host: 'delay', destinations: [{ upstream: 'v1' }], fault: { delay: { percent: 100, fixedDelayMs: 300 } } },
      ],
    }, { accessLog: log });
  });
  afterAll(async () => {
    await sidecar?.close({ drainMs: 100 });
    await Promise.all([sink?.close(), ...Object.values(servers).map((s) => s.close())]);
  });

  const out = (host: string, path = '/', headers: Record<string, string> = {}, method = 'GET', body?: string) =>
    send(sidecar.outboundPort, path, { host, ...headers }, method, body);
  const spanOf = (n: number): Promise<Span> => waitFor(() => sink.spans.find((s) => s.traceId === traceId(n)), `span of trace ${n}`);

  it('routes by header: end-user jason to v2, everyone else to v1, naming the route on the span and in the access log', async () => {
    const jason = await out('reviews', '/reviews/1', { 'end-user': 'jason', traceparent: traceparent(1) });
    const other = await out('reviews', '/reviews/1', { 'end-user': 'maria', traceparent: traceparent(2) });
    const none = await out('reviews:9080', '/reviews/1');
    expect([jason.body, other.body, none.body]).toEqual(['v2', 'v1', 'v1']);
    const span = await spanOf(1);
    expect(attr(span, 'http.route')).toBe('reviews-jason');
    expect(span.name).toBe('GET reviews-jason');
    expect(attr(span, 'upstream_cluster')).toBe(`outbound|${servers.v2.port}||v2`);
    // The logical destination is the host the app called, whichever upstream the route chose (Istio's subsets).
    expect(attr(span, 'peer.service')).toBe('reviews');
    expect(await sidecar.metrics.text()).toMatch(/istio_requests_total\{reporter="source",[^}]*destination_service="reviews",[^}]*\} [1-9]/);
    expect(await sidecar.metrics.text()).not.toMatch(/destination_service="v2"/);
    expect(attr(await spanOf(2), 'http.route')).toBe('reviews-default');
    const line = await waitFor(() => log.lines.find((l) => l['trace_id'] === traceId(1)), 'access log line');
    expect(line).toMatchObject({ route_name: 'reviews-jason', response_code: 200, upstream_host: `127.0.0.1:${servers.v2.port}` });
  });

  it('splits 80/20 by weight (500 requests, wide bounds)', async () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 50; i++) {
      const batch = await Promise.all(Array.from({ length: 10 }, () => out('split')));
      for (const r of batch) counts[r.body] = (counts[r.body] ?? 0) + 1;
    }
    expect(counts.v1 + counts.v2).toBe(500);
    // Expected 100 ± 9 (one standard deviation); 60–140 fails about once in 10^5 runs.
    expect(counts.v2).toBeGreaterThan(60);
    expect(counts.v2).toBeLessThan(140);
  });

  it('retries a 5xx until it succeeds, sending x-envoy-attempt-count 1..3', async () => {
    const r = await out('retry', '/', { 'x-test-id': 'r1', 'x-fail-times': '2', traceparent: traceparent(3) });
    expect(r.status).toBe(200);
    expect(r.body).toBe('ok after 3');
    expect(flakySeen.get('r1')!.map((s) => s.attempt)).toEqual(['1', '2', '3']);
    const span = await spanOf(3);
    expect(attr(span, 'meshtrace.retry.attempts')).toBe(3);
    expect(attr(span, 'response_flags')).toBe('-');
  });

  it('passes the last 5xx through with URX when the retries are exhausted', async () => {
    const r = await out('retry', '/', { 'x-test-id': 'r2', 'x-fail-times': '5', 'x-fail-status': '503', traceparent: traceparent(4) });
    expect(r.status).toBe(503);
    expect(r.body).toBe('fail 3');
    expect(flakySeen.get('r2')).toHaveLength(3);
    const span = await spanOf(4);
    expect(attr(span, 'response_flags')).toBe('URX');
    expect(attr(span, 'meshtrace.retry.attempts')).toBe(3);
    const line = await waitFor(() => log.lines.find((l) => l['trace_id'] === traceId(4)), 'access log line');
    expect(line).toMatchObject({ response_flags: 'URX', route_name: 'retry', response_code: 503 });
    expect(await sidecar.metrics.text()).toMatch(/meshtrace_proxy_upstream_retries_total\{upstream="flaky"\} [1-9]/);
  });

  it('retries a POST with a small body, sending the same body each time', async () => {
    const body = JSON.stringify({ rating: 5, text: 'x'.repeat(1000) });
    const r = await out('retry', '/ratings', { 'x-test-id': 'r3', 'x-fail-times': '1', 'content-type': 'application/json' }, 'POST', body);
    expect(r.status).toBe(200);
    expect(flakySeen.get('r3')!.map((s) => s.body)).toEqual([body, body]);
  });

  it('does not retry a chunked body (it is streamed, not held)', async () => {
    const r = await out('retry', '/ratings', { 'x-test-id': 'r4', 'x-fail-times': '1', 'transfer-encoding': 'chunked' }, 'POST', 'streamed');
    expect(r.status).toBe(500);
    expect(flakySeen.get('r4')!.map((s) => s.body)).toEqual(['streamed']);
  });

  it('retries a connect failure on another endpoint of the upstream', async () => {
    // `pair` is [dead port, flaky]; round-robin starts at the dead one.
    const r = await out('retry-cf', '/', { 'x-test-id': 'r5', traceparent: traceparent(5) });
    expect(r.status).toBe(200);
    expect(flakySeen.get('r5')!.map((s) => s.attempt)).toEqual(['2']);
    const span = await spanOf(5);
    expect(attr(span, 'server.port')).toBe(servers.flaky.port);
    expect(attr(span, 'meshtrace.retry.attempts')).toBe(2);
  });

  it('answers 504 UT when the route timeout passes', async () => {
    const t0 = Date.now();
    const r = await out('timeout', '/?ms=5000', { traceparent: traceparent(6) });
    expect(r.status).toBe(504);
    expect(r.body).toBe('upstream request timeout');
    expect(Date.now() - t0).toBeLessThan(4000); // the route's 200 ms, not the global 15 s nor the upstream's 5 s
    expect(attr(await spanOf(6), 'response_flags')).toBe('UT');
  });

  it('retries a try that passes its per-try timeout', async () => {
    const r = await out('pertry', '/', { 'x-test-id': 'r6', 'x-slow-first': '5000' });
    expect(r.status).toBe(200);
    expect(r.body).toBe('ok after 2');
    expect(flakySeen.get('r6')!.map((s) => s.attempt)).toEqual(['1', '2']);
  });

  it('injects an abort: local reply with the status and FI', async () => {
    const before = hits.v1 ?? 0;
    const r = await out('abort', '/', { traceparent: traceparent(7) }, 'POST', 'ignored');
    expect(r.status).toBe(418);
    expect(r.body).toBe('fault filter abort');
    expect(hits.v1 ?? 0).toBe(before);
    expect(attr(await spanOf(7), 'response_flags')).toBe('FI');
  });

  it('injects a delay: the request is held at least fixedDelayMs, flagged DI', async () => {
    const t0 = performance.now();
    const r = await out('delay', '/', { traceparent: traceparent(8) });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(295); // timers may fire a hair early against performance.now()
    expect(r.body).toBe('v1');
    expect(attr(await spanOf(8), 'response_flags')).toBe('DI');
  });

  it('refuses a request beyond maxRequests with 503 UO and x-envoy-overloaded, and frees the slot afterwards', async () => {
    const before = hits.slow ?? 0;
    const first = out('limited', '/?ms=1500');
    await waitFor(() => (hits.slow ?? 0) > before, 'the first request at the upstream');
    const second = await out('limited', '/', { traceparent: traceparent(9) });
    expect(second.status).toBe(503);
    expect(second.headers['x-envoy-overloaded']).toBe('true');
    expect((await first).status).toBe(200);
    expect((await out('limited', '/')).status).toBe(200);
    expect(attr(await spanOf(9), 'response_flags')).toBe('UO');
    expect(await sidecar.metrics.text()).toContain('meshtrace_proxy_upstream_overflow_total{upstream="limited"} 1');
  });

  it('ejects an endpoint answering 5xx and sends the traffic to the healthy one', async () => {
    const bodies: string[] = [];
    for (let i = 0; i < 8; i++) bodies.push((await out('outlier')).body);
    // round-robin: bad, v1, bad (second consecutive 5xx: ejected), then v1 only
    expect(bodies).toEqual(['bad', 'v1', 'bad', 'v1', 'v1', 'v1', 'v1', 'v1']);
    expect(await sidecar.metrics.text()).toContain('meshtrace_proxy_outlier_ejections_total{upstream="outlier"} 1');
  });

  it('answers 503 UH no healthy upstream when every endpoint is ejected', async () => {
    expect((await out('allbad')).status).toBe(500);
    expect((await out('allbad')).status).toBe(500);
    const r = await out('allbad', '/', { traceparent: traceparent(10) });
    expect(r.status).toBe(503);
    expect(r.body).toBe('no healthy upstream');
    expect(attr(await spanOf(10), 'response_flags')).toBe('UH');
  });

  it('keeps the behaviour for hosts without routes: upstream by name, else 404 NR for no host', async () => {
    expect((await out('v2')).body).toBe('v2');
    expect((await send(sidecar.outboundPort, '/', {})).status).toBe(404);
  });
});
