/**
 * Auto mTLS through the control plane, real processes and real certificates: the mesh config
 * turns reviews STRICT and productpage PERMISSIVE (each with its own workload certificate); the
 * control plane sees their modes in their heartbeats and gives productpage's sidecar ISTIO_MUTUAL
 * towards reviews, with no policy written for it. Plaintext to reviews is refused after that.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCa, issueWorkloadCert } from '../proxy/mtls/openssl.js';
import { send, waitFor } from '../proxy/testing/harness.js';
import type { MeshStatus, MeshTopology } from './api.js';
import { killAll, meshCli, meshtrace, VERSION_APP, waitForEndpoints } from './testing.js';

describe('auto mTLS from the control plane', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshtrace-cp-mtls-'));
  afterAll(() => { killAll(); rmSync(dir, { recursive: true, force: true }); });

  it('a caller running mTLS talks mTLS to a STRICT service without any policy for it', async () => {
    writeFileSync(join(dir, 'app.cjs'), VERSION_APP);
    const ca = await createCa(join(dir, 'certs'));
    const certs = Object.fromEntries(await Promise.all(['productpage', 'reviews'].map(async (sa) => {
      const w = await issueWorkloadCert({ ca, dir: join(dir, 'certs'), name: sa, serviceAccount: sa });
      return [sa, { certFile: w.certFile, keyFile: w.keyFile, caFile: ca.certFile }] as const;
    })));
    const cp = meshtrace(['control-plane', '--port', '0', '--data-dir', join(dir, 'data')]);
    const cpUrl = (await cp.line<{ url: string }>('control-plane started')).url;
    const reviews = meshtrace(['inject', '--service', 'reviews', '--service-version', 'v1', '--instance-id', 'reviews-v1', '--control-plane', cpUrl, '--no-access-log', '--', process.execPath, join(dir, 'app.cjs')], { APP_SERVICE: 'reviews', APP_VERSION: 'v1' });
    const caller = meshtrace(['proxy', '--service', 'productpage', '--app-port', '9', '--inbound-port', '0', '--outbound-port', '0', '--admin-port', '0', '--control-plane', cpUrl, '--no-access-log']);
    const r = await reviews.line<{ inboundPort: number; adminPort: number }>('sidecar ready');
    const c = await caller.line<{ outboundPort: number; adminPort: number }>('proxy started');
    await waitForEndpoints(c.adminPort, 'reviews', 1);
    expect((await send(c.outboundPort, 'http://reviews/')).status).toBe(200); // plaintext so far

    const file = join(dir, 'mtls.json');
    writeFileSync(file, JSON.stringify({ services: { reviews: { mtls: { mode: 'STRICT', ...certs['reviews'] } }, productpage: { mtls: { mode: 'PERMISSIVE', ...certs['productpage'] } } } }));
    expect((await meshCli(['apply', '-f', file, '--control-plane', cpUrl])).code).toBe(0);
    await waitFor(async () => {
      const s = await (await fetch(`${cpUrl}/v1/status`)).json() as MeshStatus;
      return s.sidecars.length === 2 && s.sidecars.every((x) => x.synced) && s.sidecars.find((x) => x.service === 'reviews')?.mtls === 'STRICT';
    }, 'both sidecars on the mTLS config, reviews STRICT', 10_000);
    await waitFor(async () => {
      const cfg = await (await fetch(`http://127.0.0.1:${c.adminPort}/config`)).json() as { upstreamPolicies: Record<string, { tls?: { mode: string } }> };
      return cfg.upstreamPolicies['reviews']?.tls?.mode === 'ISTIO_MUTUAL';
    }, 'productpage\'s sidecar to originate mTLS to reviews', 10_000);

    for (let i = 0; i < 10; i++) expect((await send(c.outboundPort, 'http://reviews/')).status).toBe(200);
    // The requests arrived over mTLS, and plaintext is refused now.
    const metrics = await (await fetch(`http://127.0.0.1:${r.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/istio_requests_total\{reporter="destination",[^}]*connection_security_policy="mutual_tls"[^}]*\} (\d+)/);
    await expect(send(r.inboundPort, '/')).rejects.toThrow();
    // The mesh page's data marks the edge: reviews' instances are STRICT.
    const topo = await (await fetch(`${cpUrl}/v1/topology`)).json() as MeshTopology;
    expect(topo.services.find((s) => s.name === 'reviews')?.mtls).toBe('STRICT');
    expect(topo.mutualTls).toEqual([{ from: 'productpage', to: 'reviews' }]);
  });
});
