/**
 * The control plane with real processes on 127.0.0.1: `meshtrace control-plane`, instances of
 * reviews (v1, v2) behind `meshtrace inject --control-plane`, and two callers' sidecars
 * (`meshtrace proxy --control-plane`) with no --upstream flags.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeshStatus } from './api.js';
import { killAll, meshCli, meshtrace, VERSION_APP, waitForEndpoints, type Proc } from './testing.js';
import { send, waitFor } from '../proxy/testing/harness.js';

const TOKEN = 'test-mesh-token';

describe('meshtrace control-plane with sidecars', () => {
  let dir: string;
  let tokenFile: string;
  let cpPort = 0;
  let cpUrl = '';
  let cp: Proc;
  const reviews = new Map<string, Proc>();
  const callers: { proc: Proc; outboundPort: number; adminPort: number }[] = [];

  const startControlPlane = async (port: number) => {
    cp = meshtrace(['control-plane', '--port', String(port), '--data-dir', join(dir, 'data'), '--mesh-token-file', tokenFile]);
    const started = await cp.line<{ port: number; url: string }>('control-plane started');
    return started;
  };
  const status = async (): Promise<MeshStatus> => (await fetch(`${cpUrl}/v1/status`)).json() as Promise<MeshStatus>;
  const startReviews = (version: string) => {
    const p = meshtrace(['inject', '--service', 'reviews', '--service-version', version, '--control-plane', cpUrl, '--mesh-token-file', tokenFile,
      '--instance-id', `reviews-${version}`, '--no-access-log', '--', process.execPath, join(dir, 'app.cjs')], { APP_SERVICE: 'reviews', APP_VERSION: version });
    reviews.set(version, p);
    return p.line('sidecar ready');
  };
  const startCaller = async (name: string) => {
    const proc = meshtrace(['proxy', '--service', name, '--app-port', '9', '--inbound-port', '0', '--outbound-port', '0', '--admin-port', '0',
      '--control-plane', cpUrl, '--mesh-token-file', tokenFile, '--no-access-log']);
    const { outboundPort, adminPort } = await proc.line<{ outboundPort: number; adminPort: number }>('proxy started');
    callers.push({ proc, outboundPort, adminPort });
  };
  /** `n` requests for http://reviews/ through a caller's sidecar: versions answered, and failures. */
  const hit = async (outboundPort: number, n: number) => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const r = await send(outboundPort, 'http://reviews/api', {});
      const key = r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : `status ${r.status}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshtrace-cp-'));
    tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    writeFileSync(join(dir, 'app.cjs'), VERSION_APP);
    const started = await startControlPlane(0);
    cpPort = started.port;
    cpUrl = `http://127.0.0.1:${cpPort}`;
    await Promise.all([startReviews('v1'), startReviews('v2')]);
    await Promise.all([startCaller('productpage'), startCaller('gateway')]);
  }, 90_000);
  afterAll(() => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('two versions register and a caller reaches both by name, with no --upstream flag', async () => {
    await waitFor(async () => (await status()).sidecars.length === 4, 'four sidecars registered', 10_000);
    const s = await status();
    expect(s.sidecars.filter((x) => x.service === 'reviews').map((x) => x.version).sort()).toEqual(['v1', 'v2']);
    expect(s.sidecars.every((x) => /^127\.0\.0\.1:\d+$/.test(x.address) && x.mtls === 'DISABLE')).toBe(true);
    // The callers learned the endpoints (their watch may trail the registration by a moment).
    for (const c of callers) {
      await waitForEndpoints(c.adminPort, 'reviews', 2);
      const n = await hit(c.outboundPort, 4);
      expect(n).toEqual({ v1: 2, v2: 2 });
    }
  });

  it('mesh apply of a weighted route changes the split within 2 s on every sidecar; mesh status shows them synced', async () => {
    const file = join(dir, 'canary.json');
    writeFileSync(file, JSON.stringify({ routes: [{ name: 'reviews-canary', host: 'reviews', destinations: [{ service: 'reviews', version: 'v1', weight: 90 }, { service: 'reviews', version: 'v2', weight: 10 }] }] }));
    const applied = await meshCli(['apply', '-f', file, '--control-plane', cpUrl, '--token', TOKEN]);
    const t0 = Date.now();
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const version = Number(/version (\d+)/.exec(applied.stdout)![1]);
    expect(version).toBeGreaterThanOrEqual(1);
    await waitFor(async () => { const s = await status(); return s.version === version && s.sidecars.length === 4 && s.sidecars.every((x) => x.configVersion === version && x.synced); }, 'every sidecar synced', 2_000);
    expect(Date.now() - t0).toBeLessThan(2_500);
    for (const c of callers) {
      const n = await hit(c.outboundPort, 200);
      // v2 ~ Binomial(200, 0.1): mean 20, sd 4.2; ±4 sd.
      expect((n['v1'] ?? 0) + (n['v2'] ?? 0)).toBe(200);
      expect(n['v2']).toBeGreaterThanOrEqual(3);
      expect(n['v2']).toBeLessThanOrEqual(37);
    }
    const st = await meshCli(['status', '--json', '--control-plane', cpUrl]);
    const parsed = JSON.parse(st.stdout) as MeshStatus;
    expect(parsed.version).toBe(version);
    expect(parsed.sidecars).toHaveLength(4);
    for (const x of parsed.sidecars) expect(Object.keys(x)).toEqual(expect.arrayContaining(['service', 'version', 'instance', 'address', 'configVersion', 'lastHeartbeat', 'mtls']));
    const table = await meshCli(['status', '--control-plane', cpUrl]);
    expect(table.stdout).toContain(`mesh config version ${version}; 4 sidecar(s)`);
    expect(table.stdout.match(/SYNCED/g)).toHaveLength(4);
  });

  it('a bad config is rejected whole, every bad field named, and no sidecar changes', async () => {
    const before = await status();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, [
      'timeoutMs: -5',
      'routes:',
      '  - host: reviews',
      '    destinations: [{ service: reviews, version: v1, weight: 100 }]',
      '    retries: { attempts: 99 }',
      'services:',
      '  ratings: { smapling: { rate: 2 } }',
    ].join('\n'));
    const r = await meshCli(['apply', '-f', file, '--control-plane', cpUrl, '--token', TOKEN]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nothing was stored');
    expect(r.stderr).toContain('timeoutMs:');
    expect(r.stderr).toContain('routes.0.retries.attempts:');
    expect(r.stderr).toContain('services.ratings.smapling: unknown key');
    const after = await status();
    expect(after.version).toBe(before.version);
    expect(after.sidecars.map((x) => x.configVersion)).toEqual(before.sidecars.map((x) => x.configVersion));
    const history = await meshCli(['history', '--control-plane', cpUrl]);
    expect(history.stdout.trim().split('\n')).toHaveLength(1 + before.version);
  });

  it('a config one sidecar cannot apply is reported as its rejection (NACK) while the others apply it; rollback restores the canary', async () => {
    const before = await status();
    // Valid everywhere, but gateway's sidecar cannot read these certificate files when it applies it.
    const file = join(dir, 'nack.json');
    const missing = join(dir, 'missing');
    writeFileSync(file, JSON.stringify({ timeoutMs: 7000, services: { gateway: { mtls: { mode: 'STRICT', certFile: `${missing}/c.pem`, keyFile: `${missing}/k.pem`, caFile: `${missing}/ca.pem` } } } }));
    const r = await meshCli(['apply', '-f', file, '--control-plane', cpUrl, '--token', TOKEN]);
    expect(r.code).toBe(0);
    const version = before.version + 1;
    const s = await waitFor(async () => {
      const x = await status();
      const gw = x.sidecars.find((y) => y.service === 'gateway');
      return x.sidecars.filter((y) => y.service !== 'gateway').every((y) => y.configVersion === version && y.synced) && gw?.configError ? x : undefined;
    }, 'the NACK of gateway and the others synced', 3_000);
    const gw = s.sidecars.find((y) => y.service === 'gateway')!;
    expect(gw).toMatchObject({ configVersion: before.version, synced: false });
    expect(gw.configError!.join('\n')).toContain('missing');
    const table = await meshCli(['status', '--control-plane', cpUrl]);
    expect(table.stdout).toContain('REJECTED');
    expect(table.stdout).toContain(`${gw.instance} rejected version ${version}`);
    // Back to the canary, as a new version: everyone synced again.
    const back = await meshCli(['rollback', String(before.version), '--control-plane', cpUrl, '--token', TOKEN]);
    expect(back.stdout).toContain(`version ${version + 1} stored (the config of version ${before.version})`);
    await waitFor(async () => { const x = await status(); return x.sidecars.every((y) => y.configVersion === version + 1 && y.synced); }, 'everyone synced after the rollback', 3_000);
    for (const c of callers) {
      const n = await hit(c.outboundPort, 100);
      expect(n['v1']! + (n['v2'] ?? 0)).toBe(100);
      expect(n['v1']).toBeGreaterThan(70); // 90/10 again
    }
  });

  it('changes need the token; status reads do not', async () => {
    const file = join(dir, 'empty.json');
    writeFileSync(file, '{}');
    const r = await meshCli(['apply', '-f', file, '--control-plane', cpUrl]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('mesh token');
    const reg = await fetch(`${cpUrl}/v1/instances/intruder`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' }, body: JSON.stringify({ service: 'reviews', version: 'v9', address: '127.0.0.1:1' }) });
    expect(reg.status).toBe(401);
    expect((await status()).sidecars.some((x) => x.instance === 'intruder')).toBe(false);
  });

  it('an instance killed with SIGKILL leaves the endpoints within the lease, and no request fails after that', async () => {
    reviews.get('v2')!.kill('SIGKILL');
    const t0 = Date.now();
    await waitFor(async () => !(await status()).sidecars.some((x) => x.instance === 'reviews-v2'), 'reviews-v2 to leave', 10_000);
    // Lease 4 s, swept every 1 s; generous margin for a loaded machine.
    expect(Date.now() - t0).toBeLessThan(8_000);
    for (const c of callers) {
      await waitForEndpoints(c.adminPort, 'reviews', 1, 2_000); // the callers' watch answers right after the change
      expect(await hit(c.outboundPort, 50)).toEqual({ v1: 50 });
    }
  });

  it('an instance that shuts down cleanly deregisters at once', async () => {
    await startReviews('v2');
    await waitFor(async () => (await status()).sidecars.some((x) => x.instance === 'reviews-v2'), 'reviews-v2 back', 10_000);
    reviews.get('v2')!.kill('SIGTERM');
    const t0 = Date.now();
    await waitFor(async () => !(await status()).sidecars.some((x) => x.instance === 'reviews-v2'), 'reviews-v2 to deregister', 3_000);
    expect(Date.now() - t0).toBeLessThan(2_000); // well inside the 4 s lease
    await reviews.get('v2')!.exited;
    for (const c of callers) {
      await waitForEndpoints(c.adminPort, 'reviews', 1, 2_000);
      expect(await hit(c.outboundPort, 20)).toEqual({ v1: 20 });
    }
  });

  it('sidecars keep serving while the control plane is down; restarted, it keeps the config and the sidecars re-sync', async () => {
    const before = await status();
    cp.kill('SIGKILL');
    await cp.exited;
    for (const c of callers) expect(await hit(c.outboundPort, 20)).toEqual({ v1: 20 });
    await startControlPlane(cpPort);
    const got = await meshCli(['get', '--control-plane', cpUrl]);
    expect(got.stderr).toContain(`version ${before.version}`);
    expect(JSON.parse(got.stdout)).toMatchObject({ routes: [{ name: 'reviews-canary' }] });
    await waitFor(async () => {
      const s = await status();
      return s.sidecars.length === before.sidecars.length && s.sidecars.every((x) => x.configVersion === before.version && x.synced);
    }, 'every sidecar re-registered and synced', 10_000);
    // A rollback to nothing: the route goes, round-robin comes back on every caller.
    const rb = await meshCli(['apply', '-f', join(dir, 'empty.json'), '--control-plane', cpUrl, '--token', TOKEN]);
    expect(rb.code).toBe(0);
    await startReviews('v2');
    for (const c of callers) {
      await waitForEndpoints(c.adminPort, 'reviews', 2);
      const n = await hit(c.outboundPort, 4);
      expect(n).toEqual({ v1: 2, v2: 2 });
    }
    const back = await meshCli(['rollback', '1', '--control-plane', cpUrl, '--token', TOKEN]);
    expect(back.code).toBe(0);
    const hist = await meshCli(['history', '--control-plane', cpUrl]);
    expect(hist.stdout).toContain('rollback to 1');
  });
});
