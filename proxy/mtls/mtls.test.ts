/**
 * Mutual TLS between real sidecars: certificates made by the system openssl in a temp dir (the
 * same helper `meshtrace cert` uses), real HTTP servers on 127.0.0.1, real TLS handshakes.
 *
 *   test → [A outbound] ══mTLS══▶ [B inbound, STRICT] → app
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatusCode } from '../../model/span.js';
import { startSidecar, type Sidecar } from '../sidecar.js';
import type { ProxyConfigInput } from '../config.js';
import { attr, lineCollector, listen, readBody, send, startOtlpSink, waitFor, type Running } from '../testing/harness.js';
import { createCa, issueWorkloadCert, type CaFiles, type WorkloadCert } from './openssl.js';

const TD = 'cluster.local';
const idOf = (sa: string) => `spiffe://${TD}/ns/default/sa/${sa}`;
const serialOf = (file: string) => new X509Certificate(readFileSync(file)).serialNumber;

/** GET over TLS straight to a port; resolves with the status, rejects on any TLS or socket error. */
function httpsGet(port: number, tls: { ca: string; cert?: string; key?: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1', port, path: '/direct', agent: false,
      ca: readFileSync(tls.ca), cert: tls.cert ? readFileSync(tls.cert) : undefined, key: tls.key ? readFileSync(tls.key) : undefined,
      checkServerIdentity: () => undefined,
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.end();
  });
}

/** Counter value of istio_requests_total lines matching every `label="value"` given. */
async function istioCount(s: Sidecar, labels: Record<string, string>): Promise<number> {
  const text = await s.metrics.text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('istio_requests_total{')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

/** Reload outcomes are asserted from their return values; the sidecars' log lines are not needed. */
const quiet = () => pino({ level: 'silent' });

const base = (service: string, appPort: number): ProxyConfigInput => ({
  service, appPort, inboundPort: 0, outboundPort: 0, adminPort: 0,
});

describe('mTLS between sidecars', () => {
  let dir: string;
  let ca: CaFiles;
  let otherCa: CaFiles;
  const certs: Record<string, WorkloadCert> = {};
  let app: Running;
  let sink: Awaited<ReturnType<typeof startOtlpSink>>;
  const logA = lineCollector();
  const logB = lineCollector();
  const logP = lineCollector();
  const sidecars: Sidecar[] = [];
  let A: Sidecar;
  let B: Sidecar;
  let P: Sidecar;
  let E: Sidecar;

  const mtls = (c: WorkloadCert, mode: 'DISABLE' | 'PERMISSIVE' | 'STRICT', caFile = ca.certFile) => ({ mode, certFile: c.certFile, keyFile: c.keyFile, caFile });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshtrace-mtls-'));
    [ca, otherCa] = await Promise.all([createCa(join(dir, 'ca')), createCa(join(dir, 'other-ca'), { commonName: 'another mesh' })]);
    const issue = async (name: string, sa: string, c = ca) => { certs[name] = await issueWorkloadCert({ ca: c, dir: join(dir, 'certs'), name, serviceAccount: sa }); };
    await Promise.all([issue('a', 'frontend'), issue('b', 'backend'), issue('p', 'permissive'), issue('evil', 'backend', otherCa)]);
    // Signed by the mesh CA, but for another trust domain.
    certs.foreign = await issueWorkloadCert({ ca, dir: join(dir, 'certs'), name: 'foreign', serviceAccount: 'frontend', trustDomain: 'other.example' });
    sink = await startOtlpSink();
    app = await listen(async (req, res) => {
      await readBody(req);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url, xfcc: req.headers['x-forwarded-client-cert'] ?? null }));
    });
    // The app answers WebSocket-style upgrades by echoing what it receives.
    app.server.on('upgrade', (_req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: Upgrade\r\n\r\n');
      socket.pipe(socket);
    });
    B = await startSidecar({
      ...base('backend', app.port), collector: sink.url, mtls: mtls(certs.b, 'STRICT'),
      export: { flushIntervalMs: 20, maxQueueSpans: 1000, maxBatchSpans: 100, timeoutMs: 2000 },
    }, { accessLog: logB });
    P = await startSidecar({ ...base('permissive', app.port), mtls: mtls(certs.p, 'PERMISSIVE') }, { accessLog: logP });
    // A workload whose certificate another CA signed, trusting only that CA.
    E = await startSidecar({ ...base('backend', app.port), mtls: mtls(certs.evil, 'STRICT', otherCa.certFile) }, { accessLog: lineCollector() });
    const at = (s: Sidecar) => `127.0.0.1:${s.inboundPort}`;
    A = await startSidecar({
      ...base('frontend', app.port), mtls: mtls(certs.a, 'DISABLE'), collector: sink.url,
      export: { flushIntervalMs: 20, maxQueueSpans: 1000, maxBatchSpans: 100, timeoutMs: 2000 },
      upstreams: { backend: at(B), 'backend-wrong-san': at(B), 'backend-plain': at(B), permissive: at(P), 'permissive-plain': at(P), impostor: at(E) },
      upstreamPolicies: {
        backend: { tls: { mode: 'ISTIO_MUTUAL', subjectAltNames: [idOf('backend')] } },
        'backend-wrong-san': { tls: { mode: 'ISTIO_MUTUAL', subjectAltNames: [idOf('reviews')] } },
        permissive: { tls: { mode: 'ISTIO_MUTUAL' } },
        impostor: { tls: { mode: 'ISTIO_MUTUAL', subjectAltNames: [idOf('backend')] } },
      },
      // A failed handshake is a connect failure, which Istio's default retryOn retries.
      routes: [{ host: 'impostor-retried', destinations: [{ upstream: 'impostor' }], retries: { attempts: 1 } }],
    }, { accessLog: logA });
    sidecars.push(A, B, P, E);
  });
  afterAll(async () => {
    await Promise.all(sidecars.map((s) => s.close({ drainMs: 100 })));
    await Promise.all([app?.close(), sink?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('A originates mTLS to B (STRICT): the request succeeds, B records A\'s SPIFFE id on its span, access log and metrics', async () => {
    const traceId = 'a1'.padStart(32, '0');
    const r = await send(A.outboundPort, '/hello', { host: 'backend', traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(r.status).toBe(200);
    // The app learns its caller's verified identity (Envoy's x-forwarded-client-cert).
    expect(JSON.parse(r.body)).toEqual({ path: '/hello', xfcc: `By=${idOf('backend')};URI=${idOf('frontend')}` });
    const line = await waitFor(() => logB.lines.find((l) => l['path'] === '/hello' && l['direction'] === 'inbound'), 'B access log');
    expect(line).toMatchObject({ downstream_peer_uri_san: idOf('frontend'), downstream_peer_serial: serialOf(certs.a.certFile), response_code: 200 });
    await B.flushSpans();
    const span = await waitFor(() => sink.spans.find((s) => s.traceId === traceId && s.resource.serviceName === 'backend'), 'B SERVER span');
    expect(attr(span, 'meshtrace.peer.principal')).toBe(idOf('frontend'));
    expect(await istioCount(B, { reporter: 'destination', source_workload: 'frontend', response_code: '200', connection_security_policy: 'mutual_tls' })).toBe(1);
    expect(await istioCount(B, { connection_security_policy: 'none' })).toBe(0);
    // A's CLIENT span names the identity B's certificate proved.
    await A.flushSpans();
    const client = await waitFor(() => sink.spans.find((s) => s.traceId === traceId && s.resource.serviceName === 'frontend'), 'A CLIENT span');
    expect(attr(client, 'meshtrace.upstream.tls')).toBe('ISTIO_MUTUAL');
    expect(attr(client, 'meshtrace.upstream.principal')).toBe(idOf('backend'));
    // A's side: the upstream cluster was reached over mTLS; the plaintext default shows no peer.
    expect(logA.lines.find((l) => l['path'] === '/hello')).toMatchObject({ response_code: 200, upstream_transport_failure_reason: '-', downstream_peer_uri_san: '-' });
  });

  it('B STRICT refuses plaintext, a TLS client without a certificate, and a certificate from another CA', async () => {
    const before = await istioCount(B, {});
    await expect(send(B.inboundPort, '/plain')).rejects.toThrow();
    await expect(send(A.outboundPort, '/via-plain-upstream', { host: 'backend-plain' })).resolves.toMatchObject({ status: 503 });
    await expect(httpsGet(B.inboundPort, { ca: ca.certFile })).rejects.toThrow();
    await expect(httpsGet(B.inboundPort, { ca: ca.certFile, cert: certs.evil.certFile, key: certs.evil.keyFile })).rejects.toThrow();
    await expect(httpsGet(B.inboundPort, { ca: ca.certFile, cert: certs.foreign.certFile, key: certs.foreign.keyFile })).rejects.toThrow();
    // The control: the same client with a certificate the mesh CA signed gets through.
    expect(await httpsGet(B.inboundPort, { ca: ca.certFile, cert: certs.a.certFile, key: certs.a.keyFile })).toBe(200);
    expect(await istioCount(B, {}) - before).toBe(1);
  });

  it('B PERMISSIVE accepts plaintext (connection_security_policy none) and mTLS (mutual_tls) on the same port', async () => {
    expect((await send(A.outboundPort, '/p-plain', { host: 'permissive-plain' })).status).toBe(200);
    expect((await send(A.outboundPort, '/p-mtls', { host: 'permissive' })).status).toBe(200);
    expect((await send(P.inboundPort, '/p-direct')).status).toBe(200);
    expect(await istioCount(P, { reporter: 'destination', source_workload: 'frontend', connection_security_policy: 'none' })).toBe(1);
    expect(await istioCount(P, { reporter: 'destination', source_workload: 'frontend', connection_security_policy: 'mutual_tls' })).toBe(1);
    expect(await istioCount(P, { reporter: 'destination', source_workload: 'unknown', connection_security_policy: 'none' })).toBe(1);
    expect(await istioCount(P, { connection_security_policy: 'mutual_tls' })).toBe(1);
    // A plaintext caller cannot pose as an mTLS peer: its x-forwarded-client-cert is replaced.
    const spoof = await send(P.inboundPort, '/p-spoof', { 'x-forwarded-client-cert': `URI=${idOf('admin')}` });
    expect(JSON.parse(spoof.body)).toMatchObject({ xfcc: null });
    const mtlsLine = logP.lines.find((l) => l['path'] === '/p-mtls');
    const plainLine = logP.lines.find((l) => l['path'] === '/p-plain');
    expect(mtlsLine?.['downstream_peer_uri_san']).toBe(idOf('frontend'));
    expect(plainLine?.['downstream_peer_uri_san']).toBe('-');
  });

  it('client side: an upstream SAN not in subjectAltNames, and an upstream certificate from another CA → 503 UF with the TLS error', async () => {
    const wrongTrace = 'b2'.padStart(32, '0');
    const wrong = await send(A.outboundPort, '/wrong-san', { host: 'backend-wrong-san', traceparent: `00-${wrongTrace}-00f067aa0ba902b7-01` });
    expect(wrong.status).toBe(503);
    expect(wrong.body).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
    const w = await waitFor(() => logA.lines.find((l) => l['path'] === '/wrong-san'), 'A log line');
    expect(w).toMatchObject({ response_code: 503, response_flags: 'UF' });
    expect(String(w['upstream_transport_failure_reason'])).toContain(idOf('reviews'));
    await A.flushSpans();
    const span = await waitFor(() => sink.spans.find((s) => s.traceId === wrongTrace && s.resource.serviceName === 'frontend'), 'A CLIENT span');
    expect(attr(span, 'error.type')).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(String(attr(span, 'meshtrace.upstream.transport_failure_reason'))).toMatch(/^TLS_error: ERR_TLS_CERT_ALTNAME_INVALID: upstream certificate's URI SANs \[spiffe:\/\/cluster\.local\/ns\/default\/sa\/backend\]/);
    expect(attr(span, 'meshtrace.upstream.tls')).toBe('ISTIO_MUTUAL');
    expect(span.status.code).toBe(StatusCode.ERROR);

    const impostor = await send(A.outboundPort, '/impostor', { host: 'impostor' });
    expect(impostor.status).toBe(503);
    const i = await waitFor(() => logA.lines.find((l) => l['path'] === '/impostor'), 'A log line');
    expect(i).toMatchObject({ response_code: 503, response_flags: 'UF' });
    expect(String(i['upstream_transport_failure_reason'])).toMatch(/^TLS_error: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN)/);
    for (const service of ['backend-wrong-san', 'impostor']) {
      expect(await istioCount(A, { reporter: 'source', destination_service: service, response_code: '503', response_flags: 'UF' })).toBe(1);
    }

    const retried = await send(A.outboundPort, '/impostor-retried', { host: 'impostor-retried' });
    expect(retried.status).toBe(503);
    const r = await waitFor(() => logA.lines.find((l) => l['path'] === '/impostor-retried'), 'A log line');
    expect(r).toMatchObject({ response_code: 503, response_flags: 'URX,UF' }); // the flag order the router writes for every exhausted retry
    expect(await A.metrics.text()).toMatch(/^meshtrace_proxy_upstream_retries_total\{upstream="impostor"\} 1$/m);
  });

  it('WebSocket-style upgrades pass through A → B over mTLS', async () => {
    const sock = netConnect(A.outboundPort, '127.0.0.1');
    let got = '';
    sock.on('data', (c: Buffer) => { got += c.toString(); });
    sock.write('GET /ws HTTP/1.1\r\nhost: backend\r\nupgrade: echo\r\nconnection: Upgrade\r\n\r\n');
    await waitFor(() => got.includes('\r\n\r\n'), '101 response');
    expect(got).toMatch(/^HTTP\/1\.1 101/);
    sock.write('ping-over-mtls');
    await waitFor(() => got.includes('ping-over-mtls'), 'echo');
    sock.destroy();
    const line = await waitFor(() => logB.lines.find((l) => l['path'] === '/ws'), 'B log of the upgrade');
    expect(line['downstream_peer_uri_san']).toBe(idOf('frontend'));
  });
});

describe('mTLS certificate rotation by reload', () => {
  let dir: string;
  let ca: CaFiles;
  const certs: Record<string, WorkloadCert> = {};
  let app: Running;
  const logB = lineCollector();
  let A: Sidecar;
  let B: Sidecar;
  /** The files the sidecars are configured with; rotation rewrites them in place, as a secret mount does. */
  const live = { a: { cert: '', key: '' }, b: { cert: '', key: '' } };
  let inputB: ProxyConfigInput;

  const install = (who: 'a' | 'b', c: WorkloadCert) => { copyFileSync(c.certFile, live[who].cert); copyFileSync(c.keyFile, live[who].key); };

  /** The serial of the certificate B presents to a new TLS connection. */
  const presentedByB = () => new Promise<string>((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port: B.inboundPort, ca: readFileSync(ca.certFile), cert: readFileSync(certs.a1.certFile), key: readFileSync(certs.a1.keyFile), checkServerIdentity: () => undefined }, () => {
      resolve(s.getPeerX509Certificate()!.serialNumber);
      s.destroy();
    });
    s.on('error', reject);
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshtrace-mtls-rotate-'));
    ca = await createCa(join(dir, 'ca'));
    const issue = async (name: string, sa: string) => { certs[name] = await issueWorkloadCert({ ca, dir: join(dir, 'issued'), name, serviceAccount: sa }); };
    await Promise.all([issue('a1', 'frontend'), issue('a2', 'frontend'), issue('b1', 'backend'), issue('b2', 'backend')]);
    live.a = { cert: join(dir, 'a.pem'), key: join(dir, 'a-key.pem') };
    live.b = { cert: join(dir, 'b.pem'), key: join(dir, 'b-key.pem') };
    install('a', certs.a1);
    install('b', certs.b1);
    app = await listen(async (req, res) => { await readBody(req); res.end('ok'); });
    inputB = { ...base('backend', app.port), mtls: { mode: 'STRICT', certFile: live.b.cert, keyFile: live.b.key, caFile: ca.certFile } };
    B = await startSidecar(inputB, { accessLog: logB, logger: quiet() });
    A = await startSidecar({
      ...base('frontend', app.port), mtls: { certFile: live.a.cert, keyFile: live.a.key, caFile: ca.certFile },
      upstreams: { backend: `127.0.0.1:${B.inboundPort}` }, upstreamPolicies: { backend: { tls: { mode: 'ISTIO_MUTUAL' } } },
    }, { accessLog: lineCollector(), logger: quiet() });
  });
  afterAll(async () => {
    await Promise.all([A?.close({ drainMs: 100 }), B?.close({ drainMs: 100 })]);
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const peerSerialAtB = async (path: string) => {
    expect((await send(A.outboundPort, path, { host: 'backend' })).status).toBe(200);
    return (await waitFor(() => logB.lines.find((l) => l['path'] === path), `B log of ${path}`))['downstream_peer_serial'];
  };

  it('a reload with rewritten cert files applies them to new connections, on both sides', async () => {
    expect(await peerSerialAtB('/r1')).toBe(serialOf(certs.a1.certFile));
    expect(await presentedByB()).toBe(serialOf(certs.b1.certFile));

    install('b', certs.b2);
    expect(B.reload()).toMatchObject({ result: 'applied', version: 2 });
    expect(await presentedByB()).toBe(serialOf(certs.b2.certFile));
    // Unchanged files: nothing to apply.
    expect(B.reload().result).toBe('unchanged');

    install('a', certs.a2);
    expect(A.reload()).toMatchObject({ result: 'applied', version: 2 });
    expect(await peerSerialAtB('/r2')).toBe(serialOf(certs.a2.certFile));
  });

  it('an invalid certificate in a reload is rejected naming the field, and traffic continues on the old one', async () => {
    const missing = B.reload({ ...inputB, mtls: { ...inputB.mtls, certFile: join(dir, 'nope.pem') } });
    expect(missing.result).toBe('rejected');
    expect(missing.problems).toEqual([expect.stringMatching(/^mtls\.certFile: cannot read .*nope\.pem: ENOENT/)]);
    const mismatched = B.reload({ ...inputB, mtls: { ...inputB.mtls, keyFile: certs.a1.keyFile } });
    expect(mismatched.result).toBe('rejected');
    expect(mismatched.problems).toEqual([expect.stringMatching(/^mtls\.keyFile: .* does not match the certificate in mtls\.certFile/)]);
    const notPem = B.reload({ ...inputB, mtls: { ...inputB.mtls, caFile: join(dir, 'issued', 'b1-key.pem') } });
    expect(notPem.problems.join('\n')).toMatch(/^mtls\.caFile: /m);
    expect(B.reloadStatus.version).toBe(2);
    expect(await peerSerialAtB('/r3')).toBe(serialOf(certs.a2.certFile));
    expect(await presentedByB()).toBe(serialOf(certs.b2.certFile));
  });

  it('modes switch by reload: STRICT → PERMISSIVE lets plaintext in, → DISABLE turns TLS away, → STRICT again', async () => {
    await expect(send(B.inboundPort, '/m1')).rejects.toThrow();
    expect(B.reload({ ...inputB, mtls: { ...inputB.mtls, mode: 'PERMISSIVE' } }).result).toBe('applied');
    expect((await send(B.inboundPort, '/m2')).status).toBe(200);
    expect(await peerSerialAtB('/m3')).toBe(serialOf(certs.a2.certFile));
    expect(B.reload({ ...inputB, mtls: { ...inputB.mtls, mode: 'DISABLE' } }).result).toBe('applied');
    expect((await send(B.inboundPort, '/m4')).status).toBe(200);
    // A's pooled mTLS connection may still be open (established connections are kept); a new one fails.
    await expect(presentedByB()).rejects.toThrow();
    expect(B.reload(inputB).result).toBe('applied');
    await expect(send(B.inboundPort, '/m5')).rejects.toThrow();
    expect(await presentedByB()).toBe(serialOf(certs.b2.certFile));
  });
});

describe('mTLS certificate rotation with a watched config file', () => {
  let dir: string;
  let ca: CaFiles;
  const certs: Record<string, WorkloadCert> = {};
  let app: Running;
  let B: Sidecar;
  const live = { cert: '', key: '' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshtrace-mtls-watch-'));
    ca = await createCa(join(dir, 'ca'));
    const issue = async (name: string, sa: string) => { certs[name] = await issueWorkloadCert({ ca, dir: join(dir, 'issued'), name, serviceAccount: sa }); };
    await Promise.all([issue('client', 'frontend'), issue('b1', 'backend'), issue('b2', 'backend')]);
    live.cert = join(dir, 'secret', 'tls.crt');
    live.key = join(dir, 'secret', 'tls.key');
    mkdirSync(join(dir, 'secret'));
    copyFileSync(certs.b1.certFile, live.cert);
    copyFileSync(certs.b1.keyFile, live.key);
    app = await listen(async (req, res) => { await readBody(req); res.end('ok'); });
    const configFile = join(dir, 'proxy.json');
    const input = { ...base('backend', app.port), mtls: { mode: 'STRICT', certFile: live.cert, keyFile: live.key, caFile: ca.certFile } };
    writeFileSync(configFile, JSON.stringify(input));
    B = await startSidecar(input as ProxyConfigInput, {
      accessLog: lineCollector(), logger: quiet(), watchFile: configFile, configSource: () => input, watchOptions: { debounceMs: 20, pollMs: 50 },
    });
  });
  afterAll(async () => {
    await B?.close({ drainMs: 100 });
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('rewriting the certificate and key files (config file untouched) rotates the served certificate', async () => {
    const presented = () => new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: B.inboundPort, ca: readFileSync(ca.certFile), cert: readFileSync(certs.client.certFile), key: readFileSync(certs.client.keyFile), checkServerIdentity: () => undefined }, () => {
        resolve(s.getPeerX509Certificate()!.serialNumber);
        s.destroy();
      });
      s.on('error', reject);
    });
    expect(await presented()).toBe(serialOf(certs.b1.certFile));
    // A secret volume swaps both at once; written one after the other, a reload in between may be
    // rejected (key and certificate do not match yet) and the next one applies.
    writeFileSync(live.key, readFileSync(certs.b2.keyFile));
    writeFileSync(live.cert, readFileSync(certs.b2.certFile));
    await waitFor(async () => (await presented()) === serialOf(certs.b2.certFile), 'the rotated certificate to be served');
    expect(B.reloadStatus.lastResult).not.toBe('rejected');
  });
});
