/**
 * Span export to a collector that wants a token over TLS (issue 14): `collectorTokenFile`
 * (--collector-token-file) is sent as `Authorization: Bearer` with every export and re-read when
 * the file changes; `collectorCa` (--collector-ca) is the CA an https collector's certificate must
 * chain to. The collector here is a real https server with a certificate made by openssl in the
 * test; the sidecars are real (in-process, and `meshtrace inject` as a process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeOtlpProtobuf } from '../../collector/otlp/decode-protobuf.js';
import type { Span } from '../../model/span.js';
import { ConfigError } from '../config.js';
import { startSidecar } from '../sidecar.js';
import { lineCollector, listen, send, waitFor } from '../testing/harness.js';
import { localhostServerCert, type ServerCert } from '../testing/tls.js';

interface Export { authorization: string | undefined; spans: Span[] }

/** An OTLP/HTTP receiver over TLS that records each export's Authorization header; 401 unless it is `Bearer <accepted>`. */
async function startHttpsSink(cert: ServerCert): Promise<{ url: string; exports: Export[]; accepted: Set<string>; close(): Promise<void> }> {
  const exports: Export[] = [];
  const accepted = new Set<string>();
  const server: Server = createServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const authorization = req.headers.authorization;
      const ok = req.url === '/v1/traces' && authorization !== undefined && accepted.has(authorization.replace(/^Bearer /, ''));
      exports.push({ authorization, spans: ok ? decodeOtlpProtobuf(Buffer.concat(chunks)).spans : [] });
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, exports, accepted,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const exportFast = { maxQueueSpans: 100, maxBatchSpans: 100, flushIntervalMs: 20, timeoutMs: 2000 };
const counter = async (sc: { metrics: { text(): Promise<string> } }, line: RegExp) => Number(line.exec(await sc.metrics.text())?.[1] ?? NaN);

describe('span export with a token over TLS', () => {
  let dir: string;
  let cert: ServerCert;
  let other: ServerCert;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshtrace-export-auth-'));
    cert = await localhostServerCert(dir, 'collector');
    other = await localhostServerCert(dir, 'stranger'); // a CA that did not sign the collector's certificate
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => { for (const c of closers.splice(0).reverse()) await c(); });

  async function setup(extra: Record<string, unknown>, logger?: pino.Logger) {
    const sink = await startHttpsSink(cert);
    const app = await listen((_req, res) => res.end('ok'));
    closers.push(() => app.close(), () => sink.close());
    const sc = await startSidecar({ service: 'shop', appPort: app.port, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false, collector: sink.url, export: exportFast, ...extra }, logger ? { logger } : {});
    closers.push(() => sc.close({ drainMs: 50 }));
    return { sink, sc };
  }

  it('sends the token file\'s token to an https collector trusted through collectorCa, and the new token after the file changes', async () => {
    const tokenFile = join(dir, 'collector-token');
    writeFileSync(tokenFile, 'first-token\n');
    const { sink, sc } = await setup({ collectorCa: cert.ca.certFile, collectorTokenFile: tokenFile });
    sink.accepted.add('first-token');
    expect((await send(sc.inboundPort, '/a')).status).toBe(200);
    await sc.flushSpans();
    expect(sink.exports.map((e) => e.authorization)).toEqual(['Bearer first-token']);
    expect(sink.exports[0].spans.map((s) => s.resource.serviceName)).toEqual(['shop']);

    // Rotation: the file is rewritten, the next export carries the new token.
    writeFileSync(tokenFile, 'second-token\n');
    sink.accepted.add('second-token');
    expect((await send(sc.inboundPort, '/b')).status).toBe(200);
    await sc.flushSpans();
    expect(sink.exports.map((e) => e.authorization)).toEqual(['Bearer first-token', 'Bearer second-token']);
    expect(await counter(sc, /^meshtrace_proxy_spans_exported_total (\d+)$/m)).toBe(2);
  });

  it('keeps the last good token while the file is gone, and sends none without a token file', async () => {
    const tokenFile = join(dir, 'vanishing-token');
    writeFileSync(tokenFile, 'kept-token');
    const log = lineCollector();
    const { sink, sc } = await setup({ collectorCa: cert.ca.certFile, collectorTokenFile: tokenFile }, pino({ level: 'info' }, log));
    sink.accepted.add('kept-token');
    rmSync(tokenFile);
    expect((await send(sc.inboundPort, '/')).status).toBe(200);
    await sc.flushSpans();
    expect(sink.exports.map((e) => e.authorization)).toEqual(['Bearer kept-token']);
    expect(log.lines.filter((l) => String(l['problem']).includes('is gone; keeping the previous token'))).toHaveLength(1);

    const plain = await setup({ collectorCa: cert.ca.certFile });
    expect((await send(plain.sc.inboundPort, '/')).status).toBe(200);
    await plain.sc.flushSpans();
    expect(plain.sink.exports.map((e) => e.authorization)).toEqual([undefined]);
    // 401 is not retryable: the batch is dropped and counted.
    expect(await counter(plain.sc, /^meshtrace_proxy_spans_dropped_total\{reason="export_failed"\} (\d+)$/m)).toBe(1);
  });

  it('does not export to a collector whose certificate another CA signed (no connection is made)', async () => {
    const tokenFile = join(dir, 'secret-token');
    writeFileSync(tokenFile, 'never-sent');
    const { sink, sc } = await setup({ collectorCa: other.ca.certFile, collectorTokenFile: tokenFile });
    sink.accepted.add('never-sent');
    expect((await send(sc.inboundPort, '/')).status).toBe(200);
    await sc.flushSpans();
    expect(sink.exports).toEqual([]); // the TLS handshake failed before any request, so the token never left
    expect(await counter(sc, /^meshtrace_proxy_spans_dropped_total\{reason="export_failed"\} (\d+)$/m)).toBe(1);
  });

  it('refuses to start with an unreadable token file or CA, and a CA for an http:// collector', async () => {
    const base = { service: 's', appPort: 1, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false, collector: 'https://127.0.0.1:1' };
    const problems = (c: Record<string, unknown>) => startSidecar({ ...base, ...c }).then(() => [], (e: unknown) => (e instanceof ConfigError ? e.problems : [String(e)]));
    expect(await problems({ collectorTokenFile: join(dir, 'nope') })).toEqual([expect.stringMatching(/^collectorTokenFile \(--collector-token-file\): cannot read .*nope: ENOENT$/)]);
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    expect(await problems({ collectorTokenFile: empty })).toEqual([expect.stringMatching(/^collectorTokenFile \(--collector-token-file\): .*empty is empty$/)]);
    expect(await problems({ collectorCa: empty })).toEqual([expect.stringMatching(/^collectorCa \(--collector-ca\): .* holds no PEM certificate$/)]);
    expect(await problems({ collector: 'http://127.0.0.1:1', collectorCa: cert.ca.certFile })).toEqual([expect.stringMatching(/^collectorCa: applies to an https:\/\/ collector only/)]);
  });
});

describe('meshtrace inject --collector-token-file --collector-ca --admin-token-file', () => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  let dir: string;
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes the flags to its sidecar, which exports with the token over TLS and guards its admin with the other token', async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshtrace-inject-auth-'));
    const cert = await localhostServerCert(dir, 'collector');
    const sink = await startHttpsSink(cert);
    sink.accepted.add('inject-token');
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'inject-token\n');
    const adminTokenFile = join(dir, 'admin-token');
    writeFileSync(adminTokenFile, 'inject-admin-token\n');
    const appFile = join(dir, 'app.cjs');
    writeFileSync(appFile, `require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');`);
    try {
      child = spawn(process.execPath, [join(root, 'bin', 'meshtrace.js'), 'inject', '--service', 'injected', '--no-access-log',
        '--collector', sink.url, '--collector-ca', cert.ca.certFile, '--collector-token-file', tokenFile, '--admin-token-file', adminTokenFile,
        '--', process.execPath, appFile], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
      const ready = await waitFor(() => {
        const line = err.split('\n').find((l) => l.includes('sidecar ready'));
        return line ? JSON.parse(line) as { inboundPort: number; adminPort: number } : undefined;
      }, `inject to report the sidecar ready (stderr: ${err})`, 20_000);
      await waitFor(async () => (await send(ready.inboundPort, '/').catch(() => ({ status: 0 }))).status === 200, 'the app behind the sidecar', 20_000);
      // The export timer (1 s by default) sends it.
      await waitFor(() => sink.exports.some((e) => e.spans.length > 0) || undefined, 'a span export', 10_000);
      expect(new Set(sink.exports.map((e) => e.authorization))).toEqual(new Set(['Bearer inject-token']));
      expect(sink.exports.flatMap((e) => e.spans).some((s) => s.resource.serviceName === 'injected')).toBe(true);
      expect((await send(ready.adminPort, '/config/reload', {}, 'POST')).status).toBe(401);
      expect((await send(ready.adminPort, '/config/reload', { authorization: 'Bearer inject-admin-token' }, 'POST')).status).toBe(200);
      expect((await send(ready.adminPort, '/config')).body).not.toContain('inject-admin-token');
    } finally {
      child?.kill('SIGTERM');
      await sink.close();
    }
  });
});
