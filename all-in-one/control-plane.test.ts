import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MeshStatus, MeshTopology } from '../control-plane/api.js';
import { ConfigError } from './config.js';
import { startAllInOne } from './server.js';

/** The control plane inside the all-in-one server: its port, its config in the trace store's SQLite file, the UI's read routes. */
describe('all-in-one control plane', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshtrace-aio-cp-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const base = { dataDir: dir, host: '127.0.0.1', otlpHttpPort: 0, otlpGrpcPort: 'off', zipkinPort: 'off', queryPort: 0, logLevel: 'silent', controlPlanePort: 0 } as const;

  it('serves the control plane on --control-plane-port, keeps its config across a restart, and shows status and topology on the query API', async () => {
    let aio = await startAllInOne(base);
    try {
      expect(aio.controlPlaneUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const config = { services: { productpage: { routes: [{ name: 'canary', host: 'reviews', destinations: [{ service: 'reviews', version: 'v1', weight: 90 }, { service: 'reviews', version: 'v3', weight: 10 }] }] } } };
      const applied = await fetch(`${aio.controlPlaneUrl}/v1/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config }) });
      expect(applied.status).toBe(201);
      const reg = await fetch(`${aio.controlPlaneUrl}/v1/instances/r1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ service: 'reviews', version: 'v1', address: '127.0.0.1:7001', configVersion: 1 }) });
      expect(reg.status).toBe(200);
      const status = await (await fetch(`${aio.queryUrl}/api/ext/mesh/status`)).json() as MeshStatus;
      expect(status).toMatchObject({ version: 1, sidecars: [{ service: 'reviews', version: 'v1', instance: 'r1', synced: true }] });
      const topo = await (await fetch(`${aio.queryUrl}/api/ext/mesh/topology`)).json() as MeshTopology;
      expect(topo.routes).toEqual([expect.objectContaining({ from: 'productpage', host: 'reviews', split: [{ service: 'reviews', version: 'v1', percent: 90 }, { service: 'reviews', version: 'v3', percent: 10 }] })]);
      expect(topo.services).toEqual([expect.objectContaining({ name: 'reviews', versions: [expect.objectContaining({ version: 'v1' })] })]);
    } finally { await aio.close(); }
    aio = await startAllInOne(base);
    try {
      const current = await (await fetch(`${aio.controlPlaneUrl}/v1/config`)).json() as { version: number; config: unknown };
      expect(current.version).toBe(1);
      expect(current.config).toMatchObject({ services: { productpage: { routes: [{ name: 'canary' }] } } });
      // The registry is not persisted: sidecars register again with their next heartbeat.
      expect((await (await fetch(`${aio.queryUrl}/api/ext/mesh/status`)).json() as MeshStatus).sidecars).toEqual([]);
    } finally { await aio.close(); }
  });

  it('off disables it; the UI routes then answer 404', async () => {
    const aio = await startAllInOne({ ...base, controlPlanePort: 'off' });
    try {
      expect(aio.controlPlaneUrl).toBeUndefined();
      expect((await fetch(`${aio.queryUrl}/api/ext/mesh/status`)).status).toBe(404);
    } finally { await aio.close(); }
  });

  it('a port given explicitly and taken is a configuration error naming the flag', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const err = await startAllInOne({ ...base, controlPlanePort: port }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toContain('--control-plane-port');
    } finally { blocker.close(); }
  });
});
