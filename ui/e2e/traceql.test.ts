/**
 * The TraceQL query field end to end in real Chromium against the real all-in-one server, fed by
 * the real OpenTelemetry SDK: autocomplete offers attribute names and the store's values, the
 * query runs and lands in the URL, the result lists the matched span, the trace opens with it
 * highlighted in the waterfall, and a syntax error shows its line:column.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkProvider } from '../../test/helpers/otel.js';
import { eventually, getJson, startTestServer, type TestServer } from '../../test/helpers/server.js';
import { ensureUiBuilt, launchChromium } from './browser.js';

let server: TestServer;
let browser: Browser;
let page: Page;
let errorTraceId: string;
let okTraceId: string;
let dbSpanId: string;

beforeAll(async () => {
  await ensureUiBuilt();
  browser = await launchChromium();
  server = await startTestServer();
  const shop = sdkProvider({ otlpHttpUrl: server.otlpHttpUrl, service: 'shop', encoding: 'protobuf' });
  const tracer = shop.getTracer('traceql-e2e');
  const t0 = Date.now() - 5000;
  const at = (ms: number) => new Date(t0 + ms);
  // Two traces: GET /cart → SELECT carts (postgresql); the second one's SELECT fails.
  const ids: string[] = [];
  for (const failing of [false, true]) {
    const root = tracer.startSpan('GET /cart', { kind: SpanKind.SERVER, startTime: at(failing ? 1000 : 0), attributes: { 'http.route': '/cart' } });
    const db = tracer.startSpan('SELECT carts', { kind: SpanKind.CLIENT, startTime: at((failing ? 1000 : 0) + 10), attributes: { 'db.system': 'postgresql' } }, trace.setSpan(ROOT_CONTEXT, root));
    if (failing) { db.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock' }); dbSpanId = db.spanContext().spanId; }
    db.end(at((failing ? 1000 : 0) + 40));
    root.end(at((failing ? 1000 : 0) + 50));
    ids.push(root.spanContext().traceId);
  }
  [okTraceId, errorTraceId] = ids;
  await shop.forceFlush();
  await shop.shutdown();
  await eventually(async () => (await getJson(`${server.queryUrl}/api/traces?service=shop`)).body?.data?.length === 2);
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const field = () => page.locator('input[name=q]');
const suggestions = () => page.locator('.traceql-field [role=option]').allInnerTexts();

describe('TraceQL query field in Chromium', () => {
  it('autocompletes attribute names and values from the store', async () => {
    await page.goto(`${server.queryUrl}/search`);
    await field().click();
    await field().pressSequentially('{ span.db.');
    await expect.poll(suggestions).toEqual(['span.db.system']);
    await field().press('Enter');
    expect(await field().inputValue()).toBe('{ span.db.system');
    await field().pressSequentially(' = ');
    await expect.poll(suggestions).toEqual(['postgresql']);
    await field().press('Tab');
    expect(await field().inputValue()).toBe('{ span.db.system = "postgresql"');
  });

  it('runs the query, keeps it in the URL, lists the matched span and highlights it in the waterfall', async () => {
    await field().fill('{ kind = server } > { span.db.system = "postgresql" && status = error }');
    await page.click('button:has-text("Run query")');
    await page.locator(`.result[data-trace-id="${errorTraceId}"]`).waitFor();
    expect(new URL(page.url()).searchParams.get('q')).toBe('{ kind = server } > { span.db.system = "postgresql" && status = error }');
    expect(await page.locator('.result').count()).toBe(1);
    expect(await page.locator(`.result[data-trace-id="${okTraceId}"]`).count()).toBe(0);
    const chips = page.locator(`.result[data-trace-id="${errorTraceId}"] .match-chip`);
    expect(await chips.allInnerTexts()).toEqual(['shop: SELECT carts']);
    expect(await chips.first().getAttribute('data-span-id')).toBe(dbSpanId);

    await page.locator(`.result[data-trace-id="${errorTraceId}"] a.result-title`).click();
    await page.waitForSelector('.wf-row');
    expect(new URL(page.url()).searchParams.get('matched')).toBe(dbSpanId);
    expect(await page.locator('.wf-row.match .wf-op').allInnerTexts()).toEqual(['SELECT carts']);

    // Back on the search page the query is still there (read from the URL).
    await page.goBack();
    await page.locator('.result').first().waitFor();
    expect(await field().inputValue()).toBe('{ kind = server } > { span.db.system = "postgresql" && status = error }');
  });

  it('shows a syntax error with its line and column', async () => {
    await field().fill('{ status = "error" }');
    await page.click('button:has-text("Run query")');
    const error = page.locator('.state.error');
    await error.waitFor();
    expect(await error.innerText()).toBe('invalid TraceQL query: 1:12: expected error, ok or unset after status =, found string "error"');
  });
});
