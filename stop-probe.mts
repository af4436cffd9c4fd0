import { startTestServer } from './test/helpers/server.ts';
import { launchChromium } from './ui/e2e/browser.ts';
const b = await launchChromium();
for (let i = 0; i < 4; i++) {
  const s = await startTestServer({ uiBasePath: '/jaeger' });
  const p = await b.newPage();
  await p.goto(`${s.queryUrl}/jaeger/search`);
  await p.click('nav a:has-text("Service graph")');
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  await s.stop();
  console.log('stop ms', Date.now() - t0);
  await p.close();
}
await b.close();
