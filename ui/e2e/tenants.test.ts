/**
 * Tenants in the UI (`--tenants`): the page learns the tenant header from the server, a tenant
 * chosen with `?tenant=` is sent with every API call and remembered, so each tenant's browser
 * lists its own services and opens its own copy of a trace id both tenants used; without a tenant
 * the page shows the server's refusal and how to choose one.
 */
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/helpers/server.js';
import { ensureUiBuilt, launchChromium } from './browser.js';

let server: TestServer;
let browser: Browser;
const traceId = randomBytes(16).toString('hex');

async function send(tenant: string): Promise<void> {
  const start = BigInt(Date.now() - 5_000) * 1_000_000n;
  const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
  const body = {
    resourceSpans: [{
      resource: { attributes: [str('service.name', `${tenant}-shop`)] },
      scopeSpans: [{ spans: [{ traceId, spanId: randomBytes(8).toString('hex'), name: `checkout for ${tenant}`, kind: 2, startTimeUnixNano: String(start), endTimeUnixNano: String(start + 3_000_000n) }] }],
    }],
  };
  const res = await fetch(`${server.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant': tenant }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  await ensureUiBuilt();
  server = await startTestServer({ tenants: 'acme,globex', controlPlanePort: 'off' });
  await send('acme');
  await send('globex');
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('tenants in the UI', () => {
  it.each(['acme', 'globex'])('%s: ?tenant= picks the tenant; services and the shared trace id are its own, also after navigating', async (tenant) => {
    const other = tenant === 'acme' ? 'globex' : 'acme';
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${server.queryUrl}/search?tenant=${tenant}`);
    await page.waitForSelector(`select[name=service] option[value="${tenant}-shop"]`, { state: 'attached', timeout: 10_000 });
    expect(await page.locator(`select[name=service] option[value="${other}-shop"]`).count()).toBe(0);
    // A deep link without ?tenant= in the same browser: the remembered tenant.
    await page.goto(`${server.queryUrl}/trace/${traceId}`);
    await expect.poll(() => page.locator('.wf-op').allInnerTexts(), { timeout: 10_000 }).toEqual([`checkout for ${tenant}`]);
    expect(await page.content()).not.toContain(`${other}-shop`);
    await context.close();
  });

  it('without a tenant the page says the server refused it and how to choose one', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.queryUrl}/search`);
    await page.getByText("missing tenant header 'x-tenant'").first().waitFor({ timeout: 10_000 });
    expect(await page.getByText('?tenant=NAME').count()).toBeGreaterThan(0);
    expect(await page.locator('select[name=service] option[value$="-shop"]').count()).toBe(0);
    await context.close();
  });
});
