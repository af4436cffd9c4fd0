/**
 * UI bench: in headless Chromium against a real all-in-one server, the time from navigation to
 * the first rendered waterfall for traces of 1k / 10k / 50k (the size issue 6 names) / 100k spans, and the time to open a span's
 * details. Baseline, measured in the same page and run: fetching and parsing the trace's Jaeger
 * JSON alone (`fetch` + `res.json()`), i.e. the data cost any UI pays before rendering anything.
 */
import { startAllInOne } from '../../all-in-one/server.js';
import { ensureUiBuilt, launchChromium } from '../../ui/e2e/browser.js';
import { sendOtlpJson, syntheticTrace } from '../../ui/e2e/synthetic-otlp.js';
import type { Page } from 'playwright-core';
import { summarize, type BenchTable, type Scenario } from '../scenario.js';

const MARK = 'meshtrace:waterfall-rendered';

/**
 * Runs in the page (as source text: tsx would inject helpers into a compiled function): clicks a
 * row in the middle of the screen and resolves with the ms until its details are painted.
 */
const OPEN_DETAILS_IN_PAGE = `(async () => {
  const rows = [...document.querySelectorAll('.wf-row')];
  const row = rows[Math.min(rows.length - 1, 12)];
  const op = row.querySelector('.wf-op').textContent;
  const t0 = performance.now();
  row.click();
  await new Promise((resolve) => {
    const check = () => {
      const h = document.querySelector('aside.details h2');
      if (h && h.textContent.includes(op) && row.classList.contains('selected')) resolve();
      else requestAnimationFrame(check);
    };
    check();
  });
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t0;
})()`;

/** In the page: fetch and parse the trace's Jaeger JSON, ms (the baseline). */
const fetchTraceInPage = (id: string) => `(async () => {
  const t0 = performance.now();
  const res = await fetch('api/traces/${id}');
  await res.json();
  return performance.now() - t0;
})()`;

function traceIdFor(size: number): string {
  return `b0000000000000000000000000${size.toString(16).padStart(6, '0')}`;
}

async function waitForTrace(queryUrl: string, id: string, spans: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    // raw=true: cheap existence check without adjusters.
    const res = await fetch(`${queryUrl}/api/traces/${id}?raw=true`);
    if (res.ok) {
      const body = (await res.json()) as { data: { spans: unknown[] }[] };
      if (body.data?.[0]?.spans.length === spans) return;
    } else await res.body?.cancel();
    if (Date.now() > deadline) throw new Error(`trace ${id} did not reach ${spans} spans within 120 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const fmt = (s: { median: number; min: number; max: number }) => `${Math.round(s.median)} (${Math.round(s.min)}–${Math.round(s.max)})`;

/** Navigates to the trace and returns ms from navigation start to the first painted waterfall. */
async function firstWaterfall(page: Page, url: string): Promise<number> {
  await page.goto(url);
  // A function predicate (not a string): the UI's CSP forbids eval in the page.
  await page.waitForFunction((m) => performance.getEntriesByName(m).length > 0, MARK, { timeout: 120_000, polling: 50 });
  return page.evaluate<number>(`performance.getEntriesByName('${MARK}')[0].startTime`);
}

export const uiScenario: Scenario = {
  name: 'ui',
  description:
    'Headless Chromium (1280×800) against the all-in-one server: navigation → first rendered waterfall rows ' +
    '(performance mark set after the first paint of the virtualized waterfall), uncached (first read of the trace by the server) ' +
    'and cached (same trace opened again); click on a span → its details painted.',
  async run(opts) {
    const sizes = opts.quick ? [200] : [1_000, 10_000, 50_000, 100_000];
    const repeats = opts.quick ? 1 : 3;
    await ensureUiBuilt();
    const start = () => startAllInOne({ dataDir: opts.tmpDir, host: '127.0.0.1', otlpHttpPort: 0, otlpGrpcPort: 'off', zipkinPort: 'off', queryPort: 0, logLevel: 'silent' });
    let server = await start();
    const browser = await launchChromium();
    const rows: (string | number)[][] = [];
    try {
      for (const size of sizes) {
        const id = traceIdFor(size);
        // A second trace of the same shape, opened first in each run to warm the server process up.
        const warmupId = `a${id.slice(1)}`;
        await sendOtlpJson(server.otlpHttpUrl, syntheticTrace({ traceId: id, spans: size, startMs: Date.now() - 60_000 }));
        await sendOtlpJson(server.otlpHttpUrl, syntheticTrace({ traceId: warmupId, spans: size, startMs: Date.now() - 60_000, seed: 7 }));
        await waitForTrace(server.queryUrl, id, size);
        await waitForTrace(server.queryUrl, warmupId, size);
        const uncached: number[] = [];
        const cached: number[] = [];
        const details: number[] = [];
        const baseline: number[] = [];
        for (let r = 0; r < repeats; r++) {
          // A new server process on the same database, warmed up on the other trace: the measured
          // trace is read from SQLite and adjusted, as for any trace a running server opens first.
          await server.close();
          server = await start();
          const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
          try {
            await firstWaterfall(page, `${server.queryUrl}/trace/${warmupId}`);
            uncached.push(await firstWaterfall(page, `${server.queryUrl}/trace/${id}`));
            cached.push(await firstWaterfall(page, `${server.queryUrl}/trace/${id}?r=${r}`));
            details.push(await page.evaluate<number>(OPEN_DETAILS_IN_PAGE));
            baseline.push(await page.evaluate<number>(fetchTraceInPage(id)));
          } finally {
            await page.close();
          }
        }
        const b = summarize(baseline);
        const c = summarize(uncached);
        rows.push([size.toLocaleString('en-US'), fmt(c), fmt(summarize(cached)), fmt(b), (c.median / b.median).toFixed(2), fmt(summarize(details))]);
      }
    } finally {
      await browser.close();
      await server.close();
    }
    const table: BenchTable = {
      title: 'UI: navigation → first waterfall, span details',
      columns: ['spans', 'first waterfall, uncached ms', 'first waterfall, cached ms', 'baseline: fetch+parse Jaeger JSON ms', 'ratio uncached/baseline', 'open span details ms'],
      rows,
      notes: [
        `${repeats} run(s) per size: median (min–max); times from navigation start (performance.timeOrigin), fresh tab per run.`,
        'Uncached: a restarted server, warmed up on another trace of the same size, opens this trace for the first time (SQLite read + adjusters); cached: the same trace again within the 60 s trace cache.',
        'Baseline: in the same page, fetch + JSON.parse of `/api/traces/{id}` (the Jaeger JSON any Jaeger-API UI must load first).',
        'Targets (issues 3 and 6): 10k spans < 500 ms, 100k spans < 2 s to a first waterfall (50k is the size issue 6 names); details "instant".',
        'Synthetic trace: 8 services, CLIENT→SERVER pairs for cross-service calls, ~0.4 % error spans, events on ~5 %.',
      ],
    };
    return [table];
  },
};

export default uiScenario;
