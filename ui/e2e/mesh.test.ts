/**
 * The mesh in the waterfall (issue 12), in real Chromium against the real all-in-one server. A
 * productpage (OpenTelemetry SDK) calls ratings and details through its real sidecar: the ratings
 * route retries and the instrumented ratings app fails its first try with 503; the details route
 * delays every call by a fault. The UI must find the trace with the "Mesh acted: Retried" filter,
 * group the two tries under the logical call with their markers, and explain both in the details.
 */
import { ROOT_CONTEXT, SpanKind, trace, type TextMapGetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { IncomingMessage } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSidecar, type Sidecar } from '../../proxy/sidecar.js';
import { listen, readBody, send, type Running } from '../../proxy/testing/harness.js';
import { sdkProvider } from '../../test/helpers/otel.js';
import { eventually, getJson, startTestServer, type TestServer } from '../../test/helpers/server.js';
import { ensureUiBuilt, launchChromium } from './browser.js';

const getter: TextMapGetter<IncomingMessage['headers']> = { keys: (c) => Object.keys(c), get: (c, k) => c[k.toLowerCase()] };
const w3c = new W3CTraceContextPropagator();

let server: TestServer;
let browser: Browser;
let page: Page;
let traceId: string;
let backoffMs: number;
const apps: Running[] = [];
const sidecars: Sidecar[] = [];
const providers: ReturnType<typeof sdkProvider>[] = [];
const pageErrors: string[] = [];

/** An OTel-instrumented app: a SERVER span per request, continuing the W3C context. */
async function app(service: string, handle: (req: IncomingMessage, n: number) => number): Promise<Running> {
  const p = sdkProvider({ otlpHttpUrl: server.otlpHttpUrl, service: `${service}-app`, encoding: 'protobuf' });
  providers.push(p);
  const tracer = p.getTracer(service);
  let n = 0;
  const r = await listen(async (req, res) => {
    const span = tracer.startSpan(`GET /${service}`, { kind: SpanKind.SERVER }, w3c.extract(ROOT_CONTEXT, req.headers, getter));
    await readBody(req);
    const status = handle(req, ++n);
    span.setAttribute('http.response.status_code', status);
    res.writeHead(status).end(service);
    span.end();
  });
  apps.push(r);
  return r;
}

beforeAll(async () => {
  await ensureUiBuilt();
  browser = await launchChromium();
  server = await startTestServer();
  const exportFast = { flushIntervalMs: 20, maxQueueSpans: 5000, maxBatchSpans: 500, timeoutMs: 2000 };
  const sidecar = async (c: Parameters<typeof startSidecar>[0]) => {
    const s = await startSidecar({ inboundPort: 0, outboundPort: 0, adminPort: 0, collector: server.otlpHttpUrl, export: exportFast, accessLog: false, ...c } as Parameters<typeof startSidecar>[0]);
    sidecars.push(s);
    return s;
  };
  // ratings fails the first call it sees with 503, as a flaky version does.
  const ratingsApp = await app('ratings', (_req, n) => (n === 1 ? 503 : 200));
  const detailsApp = await app('details', () => 200);
  const ratings = await sidecar({ service: 'ratings', appPort: ratingsApp.port });
  const details = await sidecar({ service: 'details', appPort: detailsApp.port });
  const productpage = await sidecar({
    service: 'productpage', appPort: 1,
    upstreams: { ratings: `127.0.0.1:${ratings.inboundPort}`, details: `127.0.0.1:${details.inboundPort}` },
    routes: [
      { name: 'ratings', host: 'ratings', destinations: [{ upstream: 'ratings' }], retries: { attempts: 2, retryOn: ['5xx'] } },
      { name: 'details', host: 'details', destinations: [{ upstream: 'details' }], fault: { delay: { percent: 100, fixedDelayMs: 40 } } },
    ],
  });

  // The productpage app: one SERVER span, calling details then ratings through its sidecar.
  const pp = sdkProvider({ otlpHttpUrl: server.otlpHttpUrl, service: 'productpage-app', encoding: 'protobuf' });
  providers.push(pp);
  const root = pp.getTracer('productpage').startSpan('GET /productpage', { kind: SpanKind.SERVER });
  const headers: Record<string, string> = {};
  w3c.inject(trace.setSpan(ROOT_CONTEXT, root), headers, { set: (c, k, v) => { c[k] = v; } });
  expect((await send(productpage.outboundPort, '/details/0', { host: 'details', ...headers })).status).toBe(200);
  expect((await send(productpage.outboundPort, '/ratings/0', { host: 'ratings', ...headers })).status).toBe(200);
  root.end();
  traceId = root.spanContext().traceId;
  await Promise.all(sidecars.map((s) => s.flushSpans()));
  await Promise.all(providers.map((p) => p.forceFlush()));
  // productpage-app 1, productpage sidecar 2 logical + 2 tries, details sidecar + app 2, ratings sidecar + app 4.
  const t = await eventually(async () => {
    const spans = (await getJson(`${server.queryUrl}/api/traces/${traceId}`)).body?.data?.[0]?.spans as { tags: { key: string; value: unknown }[] }[] | undefined;
    return spans && spans.length === 11 ? spans : undefined;
  });
  backoffMs = Number(t.flatMap((s) => s.tags).find((x) => x.key === 'meshtrace.retry.backoff_ms')?.value);

  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(sidecars.map((s) => s.close()));
  await Promise.all(providers.map((p) => p.shutdown()));
  await Promise.all(apps.map((a) => a.close()));
  await server?.stop();
});

/** Visible rows, top to bottom: "depth service operation [badges]". */
async function rows(): Promise<string[]> {
  return page.$$eval('.wf-row', (els) =>
    els
      .map((el) => ({ top: new DOMMatrix(getComputedStyle(el).transform).m42, el }))
      .sort((a, b) => a.top - b.top)
      .map(({ el }) => [el.getAttribute('data-depth'), el.querySelector('.wf-svc')?.textContent, el.querySelector('.wf-op')?.textContent,
        ...[...el.querySelectorAll('.wf-try, .wf-mesh-badge')].map((b) => `[${b.textContent}]`)].join(' ')),
  );
}

describe('the mesh in the waterfall', () => {
  it('finds the trace with the "Mesh acted: Retried" search filter', async () => {
    await page.goto(`${server.queryUrl}/`);
    await page.waitForSelector('select[name=service] option[value="productpage"]', { state: 'attached' });
    await page.selectOption('select[name=service]', 'productpage');
    await page.selectOption('select[name=mesh]', 'meshtrace.retried=true');
    expect(await page.inputValue('input[name=tags]')).toBe('meshtrace.retried=true');
    await page.click('button:has-text("Find traces")');
    await page.locator(`.result[data-trace-id="${traceId}"]`).waitFor();
    expect(await page.locator('.result').count()).toBe(1);
    expect(JSON.parse(new URL(page.url()).searchParams.get('tags')!)).toEqual({ 'meshtrace.retried': 'true' });
  });

  it('groups the tries under the logical call and marks the retry, the back-off and the fault', async () => {
    await page.goto(`${server.queryUrl}/trace/${traceId}`);
    await page.waitForSelector('.wf-row');
    const r = await rows();
    expect(r).toHaveLength(11);
    // details: one CLIENT span (no retries), marked with the injected delay.
    expect(r).toContain('1 productpage GET details [⚡ fault: delay 40 ms]');
    // ratings: the logical call, then each try one level below it, each with its upstream under it.
    const logical = r.indexOf('1 productpage GET ratings [↻ 2 tries]');
    expect(logical).toBeGreaterThan(-1);
    expect(r.slice(logical + 1)).toEqual([
      '2 productpage GET ratings [try 1] [↻ retried: 503]',
      '3 ratings GET /ratings/0',
      '4 ratings-app GET /ratings',
      '2 productpage GET ratings [try 2]',
      '3 ratings GET /ratings/0',
      '4 ratings-app GET /ratings',
    ]);
    // Markers sit on the timeline at the event's time; the first try failed, so it is an error row.
    expect(await page.locator('.wf-row:has([data-mesh-badge=retry]) .wf-timeline [data-mesh=retry]').count()).toBe(1);
    expect(await page.locator('.wf-row:has([data-mesh-badge=fault]) .wf-timeline [data-mesh=fault]').count()).toBe(1);
    // The injected delay is drawn on the call's bar, 40 ms long: wider than nothing, narrower than the bar.
    const delay = (await page.locator('.wf-row:has([data-mesh-badge=fault]) [data-mesh=delay]').boundingBox())!;
    const bar = (await page.locator('.wf-row:has([data-mesh-badge=fault]) .wf-bar').boundingBox())!;
    expect(delay.width).toBeGreaterThan(1);
    expect(delay.width).toBeLessThanOrEqual(bar.width + 1);
    expect(await page.locator('.wf-row.is-error:has([data-mesh-badge=retry])').count()).toBe(1);
    // The back-off gap is drawn before the second try exactly when there was one (jittered, may be 0 ms).
    expect(await page.locator('.wf-row:has(.wf-try:text-is("try 2")) [data-mesh=backoff]').count()).toBe(backoffMs > 0 ? 1 : 0);
    expect(await page.locator('.wf-row:has(.wf-try:text-is("try 2")) .wf-try').getAttribute('title')).toContain(`after a ${backoffMs} ms back-off`);
  });

  it('explains the retry and the fault in the span details, with the event attributes', async () => {
    await page.click('.wf-row:has([data-mesh-badge=retry])');
    const details = page.locator('aside.details');
    const mesh = details.locator('section[aria-label="Service mesh"]');
    await mesh.waitFor();
    expect(await mesh.locator('[data-mesh-detail=attempt]').innerText()).toContain('First try of the call above');
    const retry = await mesh.locator('[data-mesh-detail=retry]').innerText();
    expect(retry).toContain('retried: 503');
    expect(retry).toContain('This try got 503, retriable under retryOn 5xx: the sidecar sent try 2');
    // The full event, with its attributes, in the events list (fetched from the server for this span).
    const event = details.locator('.event:has(td:text-is("meshtrace.retry"))');
    expect(await event.locator('tr:has(th:text-is("meshtrace.retry.reason")) td').innerText()).toBe('503');
    expect(await details.locator('table[aria-label=Attributes] tr:has(th:text-is("http.response.status_code")) td').innerText()).toBe('503');

    await page.click('.wf-row:has(.wf-try:text-is("try 2"))');
    await expect.poll(() => mesh.locator('[data-mesh-detail=attempt]').innerText()).toContain(`Retry 1 of the call above, sent after a ${backoffMs} ms back-off`);
    expect(await details.locator('table[aria-label=Attributes] tr:has(th:text-is("http.request.resend_count")) td').innerText()).toBe('1');

    await page.click('.wf-row:has([data-mesh-badge=fault])');
    await expect.poll(() => mesh.locator('[data-mesh-detail=fault]').innerText()).toContain('Fault injection held this call 40 ms before forwarding it (fault.delay, 100 % of requests)');
    // Every routed call says which route and destination took it.
    expect(await mesh.locator('[data-mesh-detail=route]').innerText()).toContain('Routed by details (routes.1');
    expect(pageErrors).toEqual([]);
  });

  it('shows per edge of the service graph what the sidecars did: retry rate and fault rate', async () => {
    await page.goto(`${server.queryUrl}/dependencies?lookback=1h`);
    const edgeText = (parent: string, child: string) => page.locator(`g.edge-labels[data-parent="${parent}"][data-child="${child}"] text`).allTextContents();
    await expect.poll(() => edgeText('productpage', 'ratings')).toContain('↻ 100% retried');
    expect(await edgeText('productpage', 'details')).toContain('⚡ 100% fault');
    // The logical call over its tries is not mistaken for an uninstrumented "ratings" host.
    expect(await page.locator('g.node.kind-external').count()).toBe(0);
  });
});
