/**
 * TLS on every listener of the all-in-one server, with certificates made by openssl in the test:
 * OTLP/HTTP (the SDK's protobuf exporter over https), OTLP/gRPC (the SDK's gRPC exporter with TLS
 * credentials), Zipkin and the query API over https; mutual TLS on the receivers refuses a client
 * without a certificate or with one from another CA; new certificate files are picked up by every
 * listener without a restart; unusable files stop the start naming the flag.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newToken, sha256Hex } from '../security/credentials.js';
import { exportOneSpan } from './helpers/export.js';
import { runCli, startCli, waitForExit } from './helpers/process.js';
import { eventually, startTestServer, type TestServer } from './helpers/server.js';
import { issueServerCert, type KeyPair, makeTestPki, presentedSerial, serialOf, type TestPki } from './helpers/tls.js';

let dir: string;
let pki: TestPki;
let server: TestServer;
/** The files the server was started with (copies, so the test can rotate them). */
let served: KeyPair;
const token = newToken();

interface Reply { status: number; body: string }

/** One HTTPS request trusting the test CA; `client` = the client certificate to present. Rejects on TLS errors. */
function https(url: string, o: { method?: string; body?: string; headers?: Record<string, string>; client?: KeyPair } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, {
      method: o.method ?? 'GET', headers: o.headers, agent: false, ca: readFileSync(pki.ca.certFile),
      ...(o.client ? { cert: readFileSync(o.client.certFile), key: readFileSync(o.client.keyFile) } : {}),
    }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

const port = (url: string) => Number(new URL(url).port);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtrace-tls-'));
  pki = await makeTestPki(dir);
  served = { certFile: join(dir, 'served.pem'), keyFile: join(dir, 'served-key.pem') };
  copyFileSync(pki.server.certFile, served.certFile);
  copyFileSync(pki.server.keyFile, served.keyFile);
  const authFile = join(dir, 'auth.json');
  writeFileSync(authFile, JSON.stringify({ tokens: [{ name: 'all', sha256: sha256Hex(token), roles: ['admin'] }] }));
  server = await startTestServer({ tlsCert: served.certFile, tlsKey: served.keyFile, tlsClientCa: pki.ca.certFile, authFile });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const bearer = { Authorization: `Bearer ${token}` };

async function stored(traceId: string): Promise<boolean> {
  return (await https(`${server.queryUrl}/api/traces/${traceId}`, { headers: bearer })).status === 200;
}

describe('TLS on every listener', () => {
  it('prints https URLs', () => {
    expect(server.tls).toBe(true);
    expect(server.otlpHttpUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(server.zipkinUrl).toMatch(/^https:/);
    expect(server.queryUrl).toMatch(/^https:/);
  });

  it('OTLP/HTTP: the SDK exporter over mutual TLS stores spans; without a client certificate, or one from another CA, nothing is received', async () => {
    const exporter = (client?: KeyPair) => new ProtoExporter({
      url: `${server.otlpHttpUrl}/v1/traces`, headers: bearer, timeoutMillis: 3_000,
      httpAgentOptions: { ca: readFileSync(pki.ca.certFile), ...(client ? { cert: readFileSync(client.certFile), key: readFileSync(client.keyFile) } : {}) },
    });
    const good = await exportOneSpan(exporter(pki.client), 'tls-http');
    expect(good).toMatchObject({ ok: true });
    expect(await stored(good.traceId)).toBe(true);
    for (const client of [undefined, pki.stranger]) {
      const refused = await exportOneSpan(exporter(client), 'tls-refused');
      expect(refused.ok).toBe(false);
      expect(await stored(refused.traceId)).toBe(false);
    }
    // Not served in cleartext either.
    await expect(new Promise((resolve, reject) => {
      const req = httpRequest(`http://127.0.0.1:${port(server.otlpHttpUrl)}/v1/traces`, { method: 'POST' }, (res) => { res.resume(); resolve(res.statusCode); });
      req.on('error', reject);
      req.end();
    })).rejects.toThrow();
  });

  it('OTLP/gRPC: the SDK exporter with TLS credentials and a client certificate stores spans; without one it is refused', async () => {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    const ca = readFileSync(pki.ca.certFile);
    const withCert = credentials.createSsl(ca, readFileSync(pki.client.keyFile), readFileSync(pki.client.certFile));
    const good = await exportOneSpan(new GrpcExporter({ url: `https://${server.otlpGrpcAddress}`, credentials: withCert, metadata }), 'tls-grpc');
    expect(good).toMatchObject({ ok: true });
    expect(await stored(good.traceId)).toBe(true);
    const refused = await exportOneSpan(new GrpcExporter({ url: `https://${server.otlpGrpcAddress}`, credentials: credentials.createSsl(ca), metadata, timeoutMillis: 3_000 }), 'tls-grpc-refused');
    expect(refused.ok).toBe(false);
    expect(await stored(refused.traceId)).toBe(false);
  });

  it('Zipkin over mutual TLS: 202 with a client certificate, refused in the handshake without', async () => {
    const traceId = 'c'.repeat(32);
    const body = JSON.stringify([{ traceId, id: 'd'.repeat(16), name: 'z', timestamp: Date.now() * 1000, duration: 5, localEndpoint: { serviceName: 'tls-zipkin' } }]);
    const post = (client?: KeyPair) => https(`${server.zipkinUrl}/api/v2/spans`, { method: 'POST', body, client, headers: { 'content-type': 'application/json', ...bearer } });
    await expect(post()).rejects.toThrow();
    await expect(post(pki.stranger)).rejects.toThrow();
    expect((await post(pki.client)).status).toBe(202);
    expect(await stored(traceId)).toBe(true);
  });

  it('query API over https without a client certificate (browsers have none); auth still applies', async () => {
    expect((await https(`${server.queryUrl}/api/services`)).status).toBe(401);
    const res = await https(`${server.queryUrl}/api/services`, { headers: bearer });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).data).toEqual(expect.arrayContaining(['tls-http', 'tls-grpc', 'tls-zipkin']));
    expect((await https(`${server.queryUrl}/health`)).status).toBe(200);
  });

  it('new certificate files reach every listener without a restart (gRPC included)', async () => {
    const before = serialOf(served.certFile);
    const ports = [port(server.otlpHttpUrl), port(server.zipkinUrl!), port(server.queryUrl), Number(server.otlpGrpcAddress!.split(':')[1])];
    for (const p of ports) expect(await presentedSerial(p, pki.ca.certFile, pki.client)).toBe(before);
    const next = await issueServerCert(pki.ca, dir, 'server-2');
    const after = serialOf(next.certFile);
    expect(after).not.toBe(before);
    // Written in place, certificate first: the half-way state (new cert, old key) must not be applied.
    writeFileSync(served.certFile, readFileSync(next.certFile));
    writeFileSync(served.keyFile, readFileSync(next.keyFile));
    for (const p of ports) await eventually(async () => (await presentedSerial(p, pki.ca.certFile, pki.client)) === after);
    // And the new certificate serves real requests.
    const good = await exportOneSpan(new ProtoExporter({
      url: `${server.otlpHttpUrl}/v1/traces`, headers: bearer,
      httpAgentOptions: { ca: readFileSync(pki.ca.certFile), cert: readFileSync(pki.client.certFile), key: readFileSync(pki.client.keyFile) },
    }), 'tls-after-rotation');
    expect(good.ok).toBe(true);
  });
});

describe('the CLI with TLS and an auth file from the environment', () => {
  it('prints https URLs, and `query --help` has no client-CA flag (the query port asks for no client certificate)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtrace-tls-cli-'));
    try {
      const run = await startCli(['all-in-one', '--data-dir', dataDir, '--host', '127.0.0.1', '--otlp-http-port', '0', '--otlp-grpc-port', '0', '--zipkin-port', 'off', '--query-port', '0', '--control-plane-port', 'off'], {
        MESHTRACE_TLS_CERT: pki.server.certFile, MESHTRACE_TLS_KEY: pki.server.keyFile, MESHTRACE_AUTH_FILE: join(dir, 'auth.json'),
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(run.started.queryUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(run.output()).toContain(`open ${run.started.queryUrl}/ (UI and Jaeger API); send spans to OTLP/HTTP ${run.started.otlpHttpUrl}/v1/traces, OTLP/gRPC https://${run.started.otlpGrpcAddress}`);
      expect((await https(`${run.started.queryUrl}/api/services`)).status).toBe(401);
      expect((await https(`${run.started.queryUrl}/api/services`, { headers: bearer })).status).toBe(200);
      run.child.kill('SIGTERM');
      expect(await waitForExit(run.child)).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    const help = await runCli(['query', '--help']);
    expect(help.stdout).toContain('--tls-cert');
    expect(help.stdout).toContain('--auth-file');
    expect(help.stdout).not.toContain('--tls-client-ca');
    expect((await runCli(['collector', '--help'])).stdout).toContain('--tls-client-ca');
  }, 120_000); // three CLI processes
});

describe('TLS start-up errors name the flag', () => {
  it('a key of another certificate, an unreadable file, a CA without a certificate', async () => {
    await expect(startTestServer({ tlsCert: pki.server.certFile, tlsKey: pki.client.keyFile })).rejects.toThrow(/--tls-key \(MESHTRACE_TLS_KEY\): .*client-key\.pem: does not belong to the certificate/);
    await expect(startTestServer({ tlsCert: join(dir, 'nope.pem'), tlsKey: pki.server.keyFile })).rejects.toThrow(/--tls-cert \(MESHTRACE_TLS_CERT\): .*nope\.pem: cannot read it \(ENOENT\)/);
    await expect(startTestServer({ tlsCert: pki.server.certFile, tlsKey: pki.server.keyFile, tlsClientCa: pki.server.keyFile })).rejects.toThrow(/--tls-client-ca \(MESHTRACE_TLS_CLIENT_CA\): .*not a PEM CA certificate/);
    await expect(startTestServer({ tlsClientCa: pki.ca.certFile })).rejects.toThrow(/--tls-client-ca .*needs --tls-cert/);
    await expect(startTestServer({ tlsCert: pki.server.certFile })).rejects.toThrow(/--tls-key .*is required with --tls-cert/);
  });
});
