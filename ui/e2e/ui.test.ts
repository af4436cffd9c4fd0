/**
 * The UI end to end in real Chromium against the real all-in-one server, fed by the real
 * OpenTelemetry SDK: search by service → open the trace → the waterfall nests every span →
 * span details show an attribute, an event and the resource → collapse a subtree → the service
 * graph has the expected edges → an XSS attempt stays text → a deep link reloads to the same view.
 */
import { readFileSync } from 'node:fs';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkProvider } from '../../test/helpers/otel.js';
import { eventually, getJson, startTestServer, type TestServer } from '../../test/helpers/server.js';
import { ensureUiBuilt, launchChromium } from './browser.js';
import { sendOtlpJson, syntheticTrace } from './synthetic-otlp.js';

const XSS = '<img src=x onerror="window.__xss=1">';

let server: TestServer;
let browser: Browser;
let page: Page;
let traceId: string;
let dbSpanId: string;
const dialogs: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  await ensureUiBuilt();
  browser = await launchChromium();
  server = await startTestServer();

  const frontend = sdkProvider({ otlpHttpUrl: server.otlpHttpUrl, service: 'web-frontend', encoding: 'protobuf', resource: { 'host.name': 'web-host-7' } });
  const backend = sdkProvider({ otlpHttpUrl: server.otlpHttpUrl, service: 'billing', encoding: 'json', resource: { 'host.name': 'billing-host-2' } });
  const ft = frontend.getTracer('ui-e2e');
  const bt = backend.getTracer('ui-e2e');
  const t0 = Date.now() - 2000;
  const at = (ms: number) => new Date(t0 + ms);
  // web-frontend GET /checkout
  // ├─ web-frontend POST /charge (client)
  // │  └─ billing POST /charge (server)
  // │     └─ billing SELECT invoices (client, db.system=postgresql, error, event "retry")
  // └─ web-frontend render <b>page</b>
  const root = ft.startSpan('GET /checkout', { kind: SpanKind.SERVER, startTime: at(0), attributes: { 'http.route': '/checkout', 'user.note': XSS } });
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
  const client = ft.startSpan('POST /charge', { kind: SpanKind.CLIENT, startTime: at(10), attributes: { 'server.address': 'billing' } }, rootCtx);
  const srv = bt.startSpan('POST /charge', { kind: SpanKind.SERVER, startTime: at(15) }, trace.setSpan(ROOT_CONTEXT, client));
  const db = bt.startSpan('SELECT invoices', { kind: SpanKind.CLIENT, startTime: at(20), attributes: { 'db.system': 'postgresql', 'db.statement': 'SELECT * FROM invoices' } }, trace.setSpan(ROOT_CONTEXT, srv));
  db.addEvent('retry', { 'retry.attempt': 2 }, at(25));
  db.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock detected' });
  db.end(at(60));
  srv.end(at(70));
  client.end(at(75));
  const render = ft.startSpan('render <b>page</b>', { kind: SpanKind.INTERNAL, startTime: at(80) }, rootCtx);
  render.end(at(95));
  root.end(at(100));
  traceId = root.spanContext().traceId;
  dbSpanId = db.spanContext().spanId;
  await Promise.all([frontend.forceFlush(), backend.forceFlush()]);
  await Promise.all([frontend.shutdown(), backend.shutdown()]);
  await eventually(async () => (await getJson(`${server.queryUrl}/api/traces/${traceId}`)).body?.data?.[0]?.spans?.length === 5);

  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Visible waterfall rows as "depth service operation". */
async function rows(): Promise<string[]> {
  return page.$$eval('.wf-row', (els) =>
    els
      .map((el) => ({ top: new DOMMatrix(getComputedStyle(el).transform).m42, el }))
      .sort((a, b) => a.top - b.top)
      .map(({ el }) => `${el.getAttribute('data-depth')} ${el.querySelector('.wf-svc')?.textContent} ${el.querySelector('.wf-op')?.textContent}`),
  );
}

describe('meshtrace UI in Chromium', () => {
  it('finds the trace by service and shows every span with the right nesting', async () => {
    await page.goto(`${server.queryUrl}/`);
    await page.waitForSelector('select[name=service] option[value="web-frontend"]', { state: 'attached' });
    await page.selectOption('select[name=service]', 'web-frontend');
    await page.click('button:has-text("Find traces")');
    expect(new URL(page.url()).pathname).toBe('/search');
    expect(new URL(page.url()).searchParams.get('service')).toBe('web-frontend');
    const result = page.locator(`.result[data-trace-id="${traceId}"]`);
    await result.waitFor();
    expect(await result.locator('.result-body').innerText()).toContain('5 spans');
    await result.locator('a.result-title').click();
    await page.waitForSelector('.wf-row');
    expect(new URL(page.url()).pathname).toBe(`/trace/${traceId}`);
    expect(await rows()).toEqual([
      '0 web-frontend GET /checkout',
      '1 web-frontend POST /charge',
      '2 billing POST /charge',
      '3 billing SELECT invoices',
      '1 web-frontend render <b>page</b>',
    ]);
    expect(await page.locator('[data-testid=span-count]').innerText()).toBe('5');
    // The failed database call is marked as an error.
    expect(await page.locator('.wf-row.is-error .wf-op').allInnerTexts()).toEqual(['SELECT invoices']);
  });

  it('shows every duration label whole inside the timeline, the root span\'s too', async () => {
    await page.goto(`${server.queryUrl}/trace/${traceId}`);
    await page.waitForSelector('.wf-row .wf-label');
    // For each row: its label text, and whether the label's box lies within its timeline's box.
    const labels = await page.$$eval('.wf-row', (els) => els.map((row) => {
      const timeline = row.querySelector('.wf-timeline')!.getBoundingClientRect();
      const label = row.querySelector('.wf-label')!.getBoundingClientRect();
      const text = row.querySelector('.wf-label')!.textContent;
      const inside = label.width > 0 && label.left >= timeline.left - 0.5 && label.right <= timeline.right + 0.5;
      return `${row.querySelector('.wf-op')?.textContent}: ${text} ${inside ? 'visible' : 'clipped'}`;
    }));
    expect(labels).toHaveLength(5);
    expect(labels.filter((l) => l.endsWith('clipped'))).toEqual([]);
    expect(labels.find((l) => l.startsWith('GET /checkout:'))).toMatch(/^GET \/checkout: 100(\.0+)?ms visible$/);
  });

  it('opens span details with attributes, events and the resource', async () => {
    await page.click('.wf-row:has(.wf-op:text-is("SELECT invoices"))');
    const details = page.locator('aside.details');
    await details.waitFor();
    expect(await details.locator('h2').innerText()).toContain('SELECT invoices');
    const attrs = details.locator('table[aria-label=Attributes]');
    expect(await attrs.locator('tr:has(th:text-is("db.system")) td').innerText()).toBe('postgresql');
    const event = details.locator('.event');
    expect(await event.locator('tr:has(th:text-is("event")) td').innerText()).toBe('retry');
    expect(await event.locator('tr:has(th:text-is("retry.attempt")) td').innerText()).toBe('2');
    const resource = details.locator('table[aria-label=Resource]');
    expect(await resource.locator('tr:has(th:text-is("host.name")) td').innerText()).toBe('billing-host-2');
  });

  it('collapses and expands a subtree', async () => {
    await page.click('.wf-row:has(.wf-op:text-is("POST /charge"))[data-depth="1"] .wf-toggle');
    await expect.poll(rows).toEqual(['0 web-frontend GET /checkout', '1 web-frontend POST /charge', '1 web-frontend render <b>page</b>']);
    await page.click('.wf-row:has(.wf-op:text-is("POST /charge"))[data-depth="1"] .wf-toggle');
    await expect.poll(rows).toHaveLength(5);
  });

  it('zooms into a time range by dragging across the minimap', async () => {
    const box = (await page.locator('.minimap').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 4 });
    await page.mouse.up();
    await page.locator('button:has-text("Reset zoom")').waitFor();
    const ruler = await page.locator('.wf-header .ruler span').allInnerTexts();
    // The trace lasts 100 ms: the window now starts near 20 ms and ends near 60 ms.
    expect(parseFloat(ruler[0])).toBeGreaterThan(15);
    expect(parseFloat(ruler[0])).toBeLessThan(25);
    expect(parseFloat(ruler[4])).toBeGreaterThan(55);
    expect(parseFloat(ruler[4])).toBeLessThan(65);
    await page.click('button:has-text("Reset zoom")');
    await expect.poll(() => page.locator('.wf-header .ruler span').first().innerText()).toBe('0μs');
  });

  it('finds spans by a tag value and moves through the waterfall with the keyboard', async () => {
    await page.fill('input[aria-label="Find in trace"]', 'select * from invoices');
    await page.waitForSelector('.wf-row.match');
    expect(await page.locator('.wf-row.match .wf-op').allInnerTexts()).toEqual(['SELECT invoices']);
    expect(await page.locator('.find-count').innerText()).toBe('1 match');
    await page.fill('input[aria-label="Find in trace"]', '');
    await page.click('.wf-row[data-depth="0"]');
    await page.focus('.wf-scroll');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    // Renders follow key presses asynchronously: poll instead of reading once.
    await expect.poll(() => page.locator('.wf-row.selected .wf-op').innerText()).toBe('POST /charge');
    await expect.poll(() => page.locator('.wf-row.selected .wf-svc').innerText()).toBe('billing');
    await page.keyboard.press('ArrowLeft'); // folds billing's subtree
    await expect.poll(rows).toHaveLength(4);
    await page.keyboard.press('ArrowRight');
    await expect.poll(rows).toHaveLength(5);
  });

  it('shows trace statistics and downloads the full Jaeger JSON', async () => {
    await page.click('.tabs button:has-text("Statistics")');
    const row = page.locator('table.stats tbody tr:has(td:text-is("SELECT invoices"))');
    await row.waitFor();
    expect(await row.locator('td').allInnerTexts()).toEqual(['billing', 'SELECT invoices', '1', '1', '40ms', '40ms', '40ms', '40ms', '40ms']);
    expect(new URL(page.url()).searchParams.get('view')).toBe('stats');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Download JSON")')]);
    expect(download.suggestedFilename()).toBe(`trace-${traceId}.json`);
    const body = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    expect(body.data[0].spans).toHaveLength(5);
    expect(body.data[0].spans.find((x: { operationName: string }) => x.operationName === 'SELECT invoices').logs).toHaveLength(1);
    await page.click('.tabs button:has-text("Timeline")');
    await page.waitForSelector('.wf-row');
  });

  it('renders an XSS attempt in a tag value and an operation name as text', async () => {
    await page.click('.wf-row[data-depth="0"]');
    const cell = page.locator('aside.details table[aria-label=Attributes] tr:has(th:text-is("user.note")) td');
    expect(await cell.innerText()).toBe(XSS);
    expect(await page.locator('.wf-op:text-is("render <b>page</b>")').count()).toBe(1);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.locator('.wf-op b').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
  });

  it('reloads a deep link to the same view', async () => {
    await page.click('.wf-row:has(.wf-op:text-is("SELECT invoices"))');
    // The selected span is kept in the address (`?span=`), so the link can be shared.
    await page.waitForURL((u) => u.searchParams.get('span') === dbSpanId);
    const url = page.url();
    expect(new URL(url).pathname).toBe(`/trace/${traceId}`);
    const fresh = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      await fresh.goto(url);
      await fresh.waitForSelector('aside.details h2');
      expect(await fresh.locator('aside.details h2').innerText()).toContain('SELECT invoices');
      expect(await fresh.locator('.wf-row.selected .wf-op').innerText()).toBe('SELECT invoices');
      // A search deep link reloads to the same results.
      await fresh.goto(`${server.queryUrl}/search?service=billing&lookback=1h&limit=20`);
      await fresh.locator(`.result[data-trace-id="${traceId}"]`).waitFor();
      expect(await fresh.locator('select[name=service]').inputValue()).toBe('billing');
    } finally {
      await fresh.close();
    }
  });

  it('shows the service graph with the expected edges, including the uninstrumented database', async () => {
    await page.goto(`${server.queryUrl}/dependencies`);
    await page.waitForSelector('svg.graph');
    const edges = await page.$$eval('svg.graph g.edge', (els) => els.map((e) => `${e.getAttribute('data-parent')} -> ${e.getAttribute('data-child')}`).sort());
    expect(edges).toEqual(['billing -> postgresql', 'web-frontend -> billing']);
    const label = await page.locator('g.edge-labels[data-parent="web-frontend"] text').first().textContent();
    expect(label).toMatch(/^1 call/);
    expect(await page.locator('g.node.kind-database[data-node="postgresql"]').count()).toBe(1);
    // A service node leads to its traces.
    await page.click('g.node[data-node="billing"]');
    await page.locator(`.result[data-trace-id="${traceId}"]`).waitFor();
    expect(new URL(page.url()).searchParams.get('service')).toBe('billing');
  });

  it('monitors a service: latency, error and request-rate charts and its operations from /api/metrics', async () => {
    await page.goto(`${server.queryUrl}/search`);
    await page.click('nav a:has-text("Monitor")');
    await page.waitForURL(/\/monitor/);
    await page.selectOption('select[aria-label="Service"]', 'billing');
    await page.selectOption('select[aria-label="Span kind"]', 'client');
    // billing's one CLIENT span (SELECT invoices) failed: its row shows a 100 % error rate.
    const row = page.locator('table.monitor-ops tr[data-operation="SELECT invoices"]');
    await row.waitFor();
    expect(await row.locator('td').nth(3).innerText()).toBe('100.0 %');
    expect(await row.locator('td').nth(1).innerText()).toMatch(/^\d+\.\d\d ms$/);
    for (const chart of ['Latency', 'Error rate', 'Request rate']) {
      expect(await page.locator(`figure.monitor-chart[data-chart="${chart}"] polyline`).count(), chart).toBeGreaterThan(0);
    }
    expect(new URL(page.url()).searchParams.get('service')).toBe('billing');
    // Its server operation, under the default kind.
    await page.selectOption('select[aria-label="Span kind"]', 'server');
    await page.locator('table.monitor-ops tr[data-operation="POST /charge"]').waitFor();
    await page.locator('table.monitor-ops tr[data-operation="POST /charge"] a').click();
    await page.waitForURL(/\/search\?service=billing&operation=POST/);
    expect(pageErrors).toEqual([]);
  });

  it('flags an incomplete trace instead of silently re-rooting it', async () => {
    const orphanTrace = 'deadbeef000000000000000000000001';
    const now = Date.now() * 1_000_000;
    await sendOtlpJson(server.otlpHttpUrl, [{
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'late-service' } }] },
        scopeSpans: [{ spans: [
          { traceId: orphanTrace, spanId: '1111111111111111', parentSpanId: '9999999999999999', name: 'lonely child', kind: 2, startTimeUnixNano: String(now - 5e9), endTimeUnixNano: String(now - 4e9) },
          { traceId: orphanTrace, spanId: '2222222222222222', parentSpanId: '1111111111111111', name: 'grandchild', kind: 1, startTimeUnixNano: String(now - 4.8e9), endTimeUnixNano: String(now - 4.5e9) },
        ] }],
      }],
    }]);
    await eventually(async () => (await getJson(`${server.queryUrl}/api/traces/${orphanTrace}`)).status === 200);
    await page.goto(`${server.queryUrl}/trace/${orphanTrace}`);
    await page.waitForSelector('.wf-row');
    const banner = await page.locator('.warn-box').innerText();
    expect(banner).toContain('the root span is missing');
    expect(banner).toContain('1 span whose parent never arrived');
    expect(await page.locator('.wf-row[data-span-id="1111111111111111"] .wf-orphan').count()).toBe(1);
    expect(await rows()).toEqual(['0 late-service lonely child', '1 late-service grandchild']);
  });

  it('compares two traces by structure and time', async () => {
    await page.goto(`${server.queryUrl}/compare/${traceId}...deadbeef000000000000000000000001`);
    await page.waitForSelector('table.compare');
    const cells = await page.$$eval('table.compare tbody tr', (trs) => trs.map((tr) => `${tr.className}: ${tr.querySelector('td')?.textContent}`));
    expect(cells).toEqual([
      'only-a: web-frontend: GET /checkoutonly in A',
      'only-a: web-frontend: POST /chargeonly in A',
      'only-a: billing: POST /chargeonly in A',
      'only-a: billing: SELECT invoicesonly in A',
      'only-a: web-frontend: render <b>page</b>only in A',
      'only-b: late-service: lonely childonly in B',
      'only-b: late-service: grandchildonly in B',
    ]);
  });

  it('opens a trace from the scatter plot', async () => {
    await page.goto(`${server.queryUrl}/search?service=billing&lookback=1h&limit=20`);
    await page.waitForSelector('svg.scatter circle.dot');
    expect(await page.locator('svg.scatter circle.dot.error').count()).toBe(1);
    await page.click('svg.scatter circle.dot');
    await page.waitForSelector('.wf-row');
    expect(new URL(page.url()).pathname).toBe(`/trace/${traceId}`);
  });

  it('keeps only the visible rows of a big trace in the DOM', async () => {
    const big = 'b1900000000000000000000000006000';
    await sendOtlpJson(server.otlpHttpUrl, syntheticTrace({ traceId: big, spans: 6000, startMs: Date.now() - 20_000 }));
    await eventually(async () => (await getJson(`${server.queryUrl}/api/ext/traces/${big}/compact`)).body?.data?.spans?.spanID?.length === 6000);
    await page.goto(`${server.queryUrl}/trace/${big}`);
    await page.waitForSelector('.wf-row');
    expect(await page.locator('[data-testid=span-count]').innerText()).toBe('6000');
    // Over 5000 spans the trace opens folded to its cross-service calls.
    const shownAtFirst = Number(/\((\d+) of 6000/.exec(await page.locator('.wf-header small').innerText())?.[1]);
    expect(shownAtFirst).toBeLessThan(6000);
    await page.click('button:has-text("Expand all")');
    await expect.poll(() => page.locator('.wf-header small').innerText()).toBe('(6000 of 6000 rows shown)');
    const inDom = await page.locator('.wf-row').count();
    expect(inDom).toBeGreaterThan(10);
    expect(inDom).toBeLessThan(100);
    // Jump to the last row with the keyboard: it is rendered, and the DOM stays small.
    const rootId = await page.locator('.wf-row[data-depth="0"]').getAttribute('data-span-id');
    await page.click('.wf-row[data-depth="0"]');
    await page.focus('.wf-scroll');
    await page.keyboard.press('End');
    await page.waitForFunction((id) => {
      const sel = document.querySelector('.wf-row.selected');
      return sel && sel.getAttribute('data-span-id') !== id;
    }, rootId);
    expect(await page.locator('.wf-row[data-depth="0"]').count()).toBe(0); // scrolled far from the root
    expect(await page.locator('.wf-row').count()).toBeLessThan(100);
    // A deep link to that span opens the (folded) trace with the span unfolded, selected and in view.
    const lastId = await page.locator('.wf-row.selected').getAttribute('data-span-id');
    await page.goto(`${server.queryUrl}/trace/${big}?span=${lastId}`);
    await page.waitForSelector(`.wf-row.selected[data-span-id="${lastId}"]`);
    await page.waitForSelector('aside.details h2');
    // Service calls only: far fewer rows, nested by service hops.
    await page.check('label:has-text("service calls only") input');
    await expect.poll(async () => Number(/\((\d+) of 6000/.exec(await page.locator('.wf-header small').innerText())?.[1])).toBeLessThan(shownAtFirst);
  });

  it('says so when a trace does not exist', async () => {
    await page.goto(`${server.queryUrl}/trace/0123456789abcdef0123456789abcdef`);
    await page.waitForSelector('.state.error');
    expect(await page.locator('.state.error').innerText()).toContain('was not found');
    expect(pageErrors).toEqual([]);
  });
});

describe('the UI under --ui-base-path', () => {
  let mounted: TestServer;
  const id = 'ba5e0000000000000000000000000001';
  beforeAll(async () => {
    mounted = await startTestServer({ uiBasePath: '/jaeger' });
    await sendOtlpJson(mounted.otlpHttpUrl, syntheticTrace({ traceId: id, spans: 30, startMs: Date.now() - 10_000 }));
    await eventually(async () => (await getJson(`${mounted.queryUrl}/api/traces/${id}`)).status === 200);
  });
  afterAll(async () => {
    await mounted?.stop(); // idempotent: the test stops it early on purpose
  });

  // 60 s with each step bounded at 15 s: it once exceeded 30 s in a loaded full-suite run (1 of 3),
  // and a step timeout names the step that hung where the test timeout does not.
  it('searches, opens a trace and reloads deep links under the base path', async () => {
    const p = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    p.setDefaultTimeout(15_000);
    try {
      await p.goto(`${mounted.queryUrl}/jaeger/search?service=frontend&lookback=1h&limit=20`);
      await p.locator(`.result[data-trace-id="${id}"] a.result-title`).click();
      await p.waitForSelector('.wf-row');
      expect(new URL(p.url()).pathname).toBe(`/jaeger/trace/${id}`);
      expect(await p.locator('[data-testid=span-count]').innerText()).toBe('30');
      await p.reload();
      await p.waitForSelector('.wf-row');
      expect(await p.locator('[data-testid=span-count]').innerText()).toBe('30');
      await p.click('nav a:has-text("Service graph")');
      await p.waitForSelector('svg.graph');
      expect(new URL(p.url()).pathname).toBe('/jaeger/dependencies');
      // With the server gone, the next API call says so instead of hanging or going blank.
      await mounted.stop();
      await p.click('nav a:has-text("Search")');
      await p.waitForSelector('.form-error');
      expect(await p.locator('.form-error').innerText()).toContain('Cannot reach the query server');
    } finally {
      await p.close();
    }
  }, 60_000);
});
