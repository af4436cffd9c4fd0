/**
 * Regenerates the documentation screenshots (docs/screenshot-{search,trace,graph,compare}.png):
 * starts an all-in-one server in a temp dir, sends synthetic traces over OTLP/JSON, and captures
 * each page in headless Chromium at 1280×800.
 *
 *   npx tsx ui/e2e/screenshots.ts [outDir]   (default: docs/)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startAllInOne } from '../../all-in-one/server.js';
import { ensureUiBuilt, launchChromium, UI_DIR } from './browser.js';
import { sendOtlpJson, syntheticTrace } from './synthetic-otlp.js';

const outDir = resolve(process.argv[2] ?? join(UI_DIR, '..', 'docs'));
const dataDir = mkdtempSync(join(tmpdir(), 'meshtrace-shots-'));
await ensureUiBuilt();
const server = await startAllInOne({ dataDir, host: '127.0.0.1', otlpHttpPort: 0, otlpGrpcPort: 'off', zipkinPort: 'off', queryPort: 0, logLevel: 'silent' });
const browser = await launchChromium();
try {
  const now = Date.now();
  const ids: string[] = [];
  for (let k = 0; k < 24; k++) {
    const id = `5c0ffee0000000000000000000${k.toString(16).padStart(6, '0')}`;
    ids.push(id);
    const spans = [12, 40, 64, 90, 150, 30][k % 6];
    const durationMs = 80 + ((k * 37) % 11) * 45 + (k % 7 === 3 ? 900 : 0);
    await sendOtlpJson(server.otlpHttpUrl, syntheticTrace({ traceId: id, spans, startMs: now - (k * 140_000) % 3_300_000 - 5_000, durationMs, seed: 7 + (k % 6) }));
  }
  // Two traces of the same request for the compare page: B makes more calls and is slower.
  const a = 'c0aa0000000000000000000000000001';
  const b = 'c0bb0000000000000000000000000002';
  await sendOtlpJson(server.otlpHttpUrl, syntheticTrace({ traceId: a, spans: 40, startMs: now - 30_000, durationMs: 300, seed: 11 }));
  await sendOtlpJson(server.otlpHttpUrl, syntheticTrace({ traceId: b, spans: 52, startMs: now - 20_000, durationMs: 520, seed: 11 }));
  await new Promise((r) => setTimeout(r, 500));

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${server.queryUrl}/search?service=frontend&lookback=1h&limit=20`);
  await page.waitForSelector('.result');
  await page.screenshot({ path: join(outDir, 'screenshot-search.png') });

  await page.goto(`${server.queryUrl}/trace/${ids[4]}`);
  await page.waitForSelector('.wf-row');
  // Find spans with a "cache miss" event (a server-side search of event names) and open one.
  await page.fill('input[aria-label="Find in trace"]', 'cache miss');
  await page.waitForSelector('.wf-row.match');
  await page.click('.wf-row.match');
  await page.waitForSelector('aside.details .event');
  await page.screenshot({ path: join(outDir, 'screenshot-trace.png') });

  await page.goto(`${server.queryUrl}/dependencies?lookback=1h`);
  await page.waitForSelector('svg.graph');
  await page.screenshot({ path: join(outDir, 'screenshot-graph.png') });

  await page.goto(`${server.queryUrl}/compare/${a}...${b}`);
  await page.waitForSelector('table.compare');
  // Show where the structure differs, not only the top of the tree.
  await page.locator('tr.only-b, tr.only-a').first().scrollIntoViewIfNeeded().catch(() => undefined);
  await page.screenshot({ path: join(outDir, 'screenshot-compare.png') });
  process.stdout.write(`screenshots written to ${outDir}\n`);
} finally {
  await browser.close();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}
