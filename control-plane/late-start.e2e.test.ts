/**
 * Start order does not matter: a sidecar started while its control plane is not up yet (compose
 * starts everything at once) serves with its flags, and registers and gets its config as soon as
 * the control plane answers. Real processes on 127.0.0.1.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MeshStatus } from './api.js';
import { killAll, meshtrace, VERSION_APP } from './testing.js';
import { send, waitFor } from '../proxy/testing/harness.js';

describe('a sidecar started before its control plane', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshtrace-cp-late-'));
  afterAll(() => { killAll(); rmSync(dir, { recursive: true, force: true }); });

  it('serves meanwhile, then registers and applies the config once the control plane is up', async () => {
    writeFileSync(join(dir, 'app.cjs'), VERSION_APP);
    // A port nothing listens on yet (the control plane takes it later).
    const port = await new Promise<number>((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });
    const cpUrl = `http://127.0.0.1:${port}`;
    const reviews = meshtrace(['inject', '--service', 'reviews', '--service-version', 'v1', '--instance-id', 'reviews-v1', '--control-plane', cpUrl, '--no-access-log', '--', process.execPath, join(dir, 'app.cjs')], { APP_SERVICE: 'reviews', APP_VERSION: 'v1' });
    const ready = await reviews.line<{ inboundPort: number; adminPort: number }>('sidecar ready');
    expect(reviews.stderr()).toContain('control plane not reachable at start');
    await waitFor(async () => (await send(ready.inboundPort, '/').catch(() => ({ status: 0 }))).status === 200, 'the app through its sidecar', 10_000);

    const cp = meshtrace(['control-plane', '--port', String(port), '--data-dir', join(dir, 'data')]);
    await cp.line('control-plane started');
    const config = { timeoutMs: 4321 };
    expect((await fetch(`${cpUrl}/v1/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config }) })).status).toBe(201);
    const s = await waitFor(async () => {
      const x = await (await fetch(`${cpUrl}/v1/status`)).json() as MeshStatus;
      return x.sidecars.length === 1 && x.sidecars[0].synced && x.sidecars[0].ready ? x : undefined;
    }, 'the sidecar registered, ready and synced', 10_000);
    expect(s.sidecars[0]).toMatchObject({ service: 'reviews', version: 'v1', instance: 'reviews-v1', address: `127.0.0.1:${ready.inboundPort}`, configVersion: 1 });
    expect((await send(ready.inboundPort, '/')).status).toBe(200);
    expect((await (await fetch(`http://127.0.0.1:${ready.adminPort}/config`)).json() as { timeoutMs: number }).timeoutMs).toBe(4321);
  });
});
