/**
 * The /mesh page in real Chromium against a real mesh: the all-in-one server with its control
 * plane, reviews v1 and v3 behind `meshtrace inject --control-plane`, a productpage sidecar
 * (`meshtrace proxy --control-plane --collector`), the canary split applied with `meshtrace mesh
 * apply`, and traffic through the sidecar so the traces hold the versions that served it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, meshCli, meshtrace, VERSION_APP, waitForEndpoints } from '../../control-plane/testing.js';
import type { MeshStatus } from '../../control-plane/api.js';
import { send, waitFor } from '../../proxy/testing/harness.js';
import { startTestServer, type TestServer } from '../../test/helpers/server.js';
import { launchChromium } from './browser.js';

let server: TestServer;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtrace-mesh-ui-'));
  writeFileSync(join(dir, 'app.cjs'), VERSION_APP);
  browser = await launchChromium();
  server = await startTestServer({ controlPlanePort: 0 });
  const cp = server.controlPlaneUrl!;
  const canary = join(dir, 'canary.json');
  writeFileSync(canary, JSON.stringify({ services: { productpage: { routes: [{ name: 'reviews-canary', host: 'reviews', retries: { attempts: 2 }, destinations: [{ service: 'reviews', version: 'v1', weight: 90 }, { service: 'reviews', version: 'v3', weight: 10 }] }] } } }));
  expect((await meshCli(['apply', '-f', canary, '--control-plane', cp])).code).toBe(0);
  const common = ['--control-plane', cp, '--collector', server.otlpHttpUrl, '--no-access-log'];
  const reviews = ['v1', 'v3'].map((v) => meshtrace(['inject', '--service', 'reviews', '--service-version', v, '--instance-id', `reviews-${v}`, ...common, '--', process.execPath, join(dir, 'app.cjs')], { APP_SERVICE: 'reviews', APP_VERSION: v }));
  const caller = meshtrace(['proxy', '--service', 'productpage', '--service-version', 'v1', '--app-port', '9', '--inbound-port', '0', '--outbound-port', '0', '--admin-port', '0', ...common]);
  await Promise.all(reviews.map((r) => r.line('sidecar ready')));
  const { outboundPort, adminPort } = await caller.line<{ outboundPort: number; adminPort: number }>('proxy started');
  await waitFor(async () => {
    const s = await (await fetch(`${cp}/v1/status`)).json() as MeshStatus;
    return s.sidecars.length === 3 && s.sidecars.every((x) => x.synced);
  }, 'three sidecars synced', 20_000);
  await waitForEndpoints(adminPort, 'reviews', 2);
  for (let i = 0; i < 100; i++) expect((await send(outboundPort, 'http://reviews/x')).status).toBe(200);
  // Spans leave the sidecars within their 1 s export interval.
  await waitFor(async () => {
    const r = await (await fetch(`${server.queryUrl}/api/traces?service=reviews&limit=200&lookback=5m`)).json() as { data: unknown[] };
    return r.data.length >= 100;
  }, 'the reviews traces in the store', 20_000);
}, 120_000);

afterAll(async () => {
  killAll();
  await browser?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the /mesh page in Chromium', () => {
  it('shows the services, their versions and instances, the configured split and the split the traces show', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.queryUrl}/mesh`);
    await page.locator('table.mesh-services tr[data-service="reviews"][data-version="v3"]').waitFor({ timeout: 15_000 });
    const rows = await page.locator('table.mesh-services tbody tr').evaluateAll((trs) => trs.map((tr) => `${tr.getAttribute('data-service')} ${tr.getAttribute('data-version')}`));
    expect(rows).toEqual(['productpage v1', 'reviews v1', 'reviews v3']);
    await expect(page.locator('tr[data-version="v1"][data-service="reviews"]').textContent()).resolves.toContain('reviews-v1');
    // The configured split, and the route's retries.
    const route = page.locator('table.mesh-routes tr[data-route="reviews-canary"]');
    await expect(route.locator('td.split').textContent()).resolves.toBe('reviews v1 90% · reviews v3 10%');
    await expect(route.textContent()).resolves.toContain('productpage');
    // The observed split from the traces: 100 requests, v3 ~ Binomial(100, 0.1) → well under v1.
    const share = async (v: string) => Number((await page.locator(`tr[data-service="reviews"][data-version="${v}"] td.share`).textContent())!.replace('%', ''));
    const [v1, v3] = [await share('v1'), await share('v3')];
    expect(v1 + v3).toBeGreaterThan(99);
    expect(v1).toBeGreaterThan(75);
    expect(v3).toBeLessThan(25);
    // The graph: both services as nodes, the productpage → reviews edge labelled with the route.
    await expect(page.locator('g.node[data-node="reviews"]').textContent()).resolves.toContain('v1 ×1 · v3 ×1');
    await expect(page.locator('g.edge-labels[data-parent="productpage"][data-child="reviews"]').textContent()).resolves.toMatch(/req\/s .*reviews-canary: reviews v1 90% · reviews v3 10% · retries 2/);
    await expect(page.locator('.mesh-summary').textContent()).resolves.toContain('3 sidecars');
    expect(await page.locator('.out-of-sync').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });
});
