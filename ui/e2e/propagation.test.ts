/**
 * The propagation doctor in the UI: the service graph page names the services whose apps drop the
 * trace context (from `/api/ext/propagation`) with the doctor's fix and a link to an example trace.
 */
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/helpers/server.js';
import { ensureUiBuilt, launchChromium } from './browser.js';

let server: TestServer;
let browser: Browser;
const traceId = randomBytes(16).toString('hex');

beforeAll(async () => {
  await ensureUiBuilt();
  server = await startTestServer();
  const start = BigInt(Date.now()) * 1_000_000n;
  const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
  const body = {
    resourceSpans: [{
      resource: { attributes: [str('service.name', 'legacy-app')] },
      scopeSpans: [{ spans: [{
        traceId, spanId: randomBytes(8).toString('hex'), name: 'GET', kind: 3,
        startTimeUnixNano: String(start), endTimeUnixNano: String(start + 1_000_000n),
        attributes: [str('meshtrace.propagation', 'broken'), str('meshtrace.propagation.reason', 'no trace context on the outbound call'), str('meshtrace.propagation.fix', 'forward traceparent from the inbound request')],
      }] }],
    }],
  };
  const res = await fetch(`${server.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('propagation doctor in the UI', () => {
  it('names the service that drops context, with the fix and an example trace', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${server.queryUrl}/dependencies?lookback=1h`);
    const item = page.locator('.propagation-doctor li[data-service="legacy-app"]');
    await item.waitFor({ timeout: 10_000 });
    expect(await item.innerText()).toContain('no trace context on the outbound call');
    expect(await item.locator('.fix').innerText()).toBe('Fix: forward traceparent from the inbound request');
    await item.locator('a').click();
    await page.waitForURL(`**/trace/${traceId}`);
    await page.close();
  });
});
