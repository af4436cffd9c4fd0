/**
 * Regenerates the README's demo screenshots from a real demo run: docs/demo-trace.png (the
 * waterfall of a product-page request served by reviews v3, with the sidecar spans between the
 * services' own spans) and docs/demo-graph.png (the service graph).
 *
 *   npx tsx demo/screenshots.ts [outDir]      (default: docs/; needs Chromium, see ui/e2e/browser.ts)
 */
import { join, resolve } from 'node:path';
import { ensureUiBuilt, launchChromium, UI_DIR } from '../ui/e2e/browser.js';
import { parseDemoConfig } from './config.js';
import { startDemo } from './orchestrator.js';

interface JaegerTrace { traceID: string; spans: { operationName: string; duration: number; references: unknown[] }[] }
const rootDuration = (t: JaegerTrace) => Math.max(...t.spans.map((s) => s.duration));

const outDir = resolve(process.argv[2] ?? join(UI_DIR, '..', 'docs'));
await ensureUiBuilt();
// No injected errors: the picture should show the normal path. Some latency, so bars have length.
const demo = await startDemo(parseDemoConfig({ port: '0', queryPort: '0', otlpHttpPort: '0', rps: '4', errorRate: '0', slowRate: '0' }), { print: (l) => process.stdout.write(`${l}\n`) });
const query = new URL(demo.urls.ui).origin;
const browser = await launchChromium();
try {
  // A product-page (HTML) request whose reviews call went to v3 and so on to ratings, all 15 spans
  // in; taken after a warm-up (the first requests pay for JIT and connection set-up) and of median
  // duration among the candidates, so the picture is a typical request.
  await new Promise((r) => setTimeout(r, 15_000));
  let traceId: string | undefined;
  for (let i = 0; i < 120 && !traceId; i++) {
    const tags = encodeURIComponent(JSON.stringify({ 'reviews.version': 'v3' }));
    const r = await fetch(`${query}/api/traces?service=reviews&tags=${tags}&limit=40&lookback=1m`);
    const { data } = (await r.json()) as { data: JaegerTrace[] };
    const full = data
      .filter((t) => t.spans.length === 15 && t.spans.some((s) => s.operationName === 'GET /productpage' && s.references.length === 0))
      .sort((a, b) => rootDuration(a) - rootDuration(b));
    if (full.length >= 5) traceId = full[Math.floor(full.length / 2)].traceID;
    else await new Promise((r) => setTimeout(r, 1_000));
  }
  if (!traceId) throw new Error('no complete product-page traces through reviews v3 within two minutes');

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${query}/trace/${traceId}`);
  await page.waitForSelector('.wf-row');
  // Open the reviews app span: its details show which version served the request.
  await page.locator('.wf-row', { hasText: 'GET /reviews/{id}' }).first().click();
  await page.waitForSelector('aside.details');
  await page.screenshot({ path: join(outDir, 'demo-trace.png') });

  // Four services fit in a short picture; the graph fits itself to the window.
  await page.setViewportSize({ width: 1280, height: 360 });
  await page.goto(`${query}/dependencies?lookback=1h`);
  await page.waitForSelector('svg.graph');
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(outDir, 'demo-graph.png') });
  process.stdout.write(`screenshots of trace ${traceId} and the service graph written to ${outDir}\n`);
} finally {
  await browser.close();
  await demo.stop();
}
