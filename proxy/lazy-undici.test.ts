/**
 * undici costs a sidecar several MiB of resident memory once loaded (proxy/README.md "Resources"),
 * and only ISTIO_MUTUAL upstreams use it (proxy/mtls/outbound.ts): plaintext upstreams go through proxy/http/h1-pool.ts, span
 * export and the control-plane client through node:http(s). A real `meshtrace proxy` process
 * (bin/meshtrace.js, as a user runs it), preloaded with proxy/testing/record-loaded-modules.mjs,
 * reports the modules it loaded when it exits: neither the undici package nor Node's bundled copy
 * (what the global fetch loads) for a plain sidecar that proxied a request, exported its span and
 * talked to a control plane; the undici package once an ISTIO_MUTUAL upstream is configured.
 * In-process: a reload that adds the first ISTIO_MUTUAL upstream loads undici then, and the
 * requests sent right after it wait for it rather than fail.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueWorkloadCert, type CaFiles, type WorkloadCert } from './mtls/openssl.js';
import { startSidecar } from './sidecar.js';
import { lineCollector, listen, send, startOtlpSink, waitFor, type Running } from './testing/harness.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const hook = join(root, 'proxy', 'testing', 'record-loaded-modules.mjs');

interface Loaded { files: string[]; builtins: string[] }
const packages = (l: Loaded) => new Set(l.files.filter((f) => f.includes('/node_modules/')).map((f) => f.slice(f.lastIndexOf('/node_modules/') + 14).split('/')[0]));

describe('undici is loaded only for ISTIO_MUTUAL upstreams', () => {
  let dir: string;
  let ca: CaFiles;
  let certs: { a: WorkloadCert; b: WorkloadCert };
  let app: Running;
  let sink: Awaited<ReturnType<typeof startOtlpSink>>;
  let controlPlane: Running;
  const controlPlaneCalls: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshtrace-lazy-undici-'));
    ca = await createCa(join(dir, 'ca'));
    const [a, b] = await Promise.all([
      issueWorkloadCert({ ca, dir: join(dir, 'certs'), name: 'a', serviceAccount: 'frontend' }),
      issueWorkloadCert({ ca, dir: join(dir, 'certs'), name: 'b', serviceAccount: 'backend' }),
    ]);
    certs = { a, b };
    app = await listen((_req, res) => res.end('ok'));
    sink = await startOtlpSink();
    // A control plane that takes registrations and has no snapshot yet.
    controlPlane = await listen((req, res) => {
      controlPlaneCalls.push(`${req.method} ${req.url?.split('?')[0]}`);
      req.resume();
      req.on('end', () => {
        if (req.method === 'PUT') res.writeHead(200, { 'content-type': 'application/json' }).end('{"heartbeatMs":200}');
        else res.writeHead(503).end('no snapshot yet');
      });
    });
  });
  afterAll(async () => {
    await Promise.all([app?.close(), sink?.close(), controlPlane?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `meshtrace proxy` with `args` until `whileUp` resolves, then SIGTERM; what it loaded. */
  async function runProxy(name: string, args: string[], whileUp: (ports: { inboundPort: number }) => Promise<void>): Promise<Loaded> {
    const out = join(dir, `${name}.json`);
    const child = spawn(process.execPath, [join(root, 'bin', 'meshtrace.js'), 'proxy', '--service', name, '--app-port', String(app.port), '--no-access-log',
      '--inbound-port', '0', '--outbound-port', '0', '--admin-port', '0', ...args], {
      env: { ...process.env, NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import ${hook}`, MESHTRACE_LOADED_MODULES_OUT: out },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      const started = await waitFor(() => {
        const line = err.split('\n').find((l) => l.includes('"meshtrace proxy started"'));
        return line ? JSON.parse(line) as { inboundPort: number } : undefined;
      }, `meshtrace proxy to start (stderr: ${err})`, 20_000);
      await whileUp(started);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    return JSON.parse(readFileSync(out, 'utf8')) as Loaded;
  }

  it('a plain sidecar that proxies, exports its spans and talks to a control plane loads neither undici nor fetch', async () => {
    const exportsBefore = sink.requests;
    const loaded = await runProxy('plain', ['--collector', sink.url, '--control-plane', controlPlane.url], async ({ inboundPort }) => {
      expect((await send(inboundPort, '/a')).status).toBe(200);
      // The export timer (1 s by default) sends the span; the client registers and watches.
      await waitFor(() => sink.requests > exportsBefore || undefined, 'a span export', 10_000);
      await waitFor(() => controlPlaneCalls.some((c) => c.startsWith('PUT /v1/instances/')) && controlPlaneCalls.includes('GET /v1/watch') || undefined, 'registration and watch');
    });
    const pkgs = packages(loaded);
    expect(pkgs).toContain('prom-client'); // the record works: a package the sidecar does load
    expect(pkgs).not.toContain('undici');
    expect(loaded.builtins.filter((b) => b.includes('undici'))).toEqual([]);
    expect(controlPlaneCalls).toContain('DELETE /v1/instances/plain-' + controlPlaneCalls.find((c) => c.startsWith('PUT '))!.split('/plain-')[1]);
  });

  it('a sidecar with an ISTIO_MUTUAL upstream loads undici', async () => {
    const config = join(dir, 'mutual.json');
    writeFileSync(config, JSON.stringify({
      mtls: { mode: 'DISABLE', certFile: certs.a.certFile, keyFile: certs.a.keyFile, caFile: ca.certFile },
      upstreams: { backend: '127.0.0.1:9' },
      upstreamPolicies: { backend: { tls: { mode: 'ISTIO_MUTUAL' } } },
    }));
    const loaded = await runProxy('mutual', ['--config', config], async () => {});
    expect(packages(loaded)).toContain('undici');
  });

  it('a reload that adds the first ISTIO_MUTUAL upstream serves the requests sent right after it over mTLS', async () => {
    const mtls = (c: WorkloadCert, mode: 'DISABLE' | 'STRICT') => ({ mode, certFile: c.certFile, keyFile: c.keyFile, caFile: ca.certFile });
    const B = await startSidecar({ service: 'backend', appPort: app.port, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false, mtls: mtls(certs.b, 'STRICT') });
    const input = {
      service: 'frontend', appPort: app.port, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false,
      mtls: mtls(certs.a, 'DISABLE'), upstreams: { backend: `127.0.0.1:${B.inboundPort}` },
    };
    const A = await startSidecar(input, { logger: pino({ level: 'silent' }, lineCollector()) });
    try {
      // Plaintext to a STRICT workload is refused.
      expect((await send(A.outboundPort, '/', { host: 'backend' })).status).toBe(503);
      expect(A.reload({ ...input, upstreamPolicies: { backend: { tls: { mode: 'ISTIO_MUTUAL' } } } }).result).toBe('applied');
      const answers = await Promise.all([1, 2, 3].map((i) => send(A.outboundPort, `/${i}`, { host: 'backend' })));
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    } finally {
      await Promise.all([A.close({ drainMs: 50 }), B.close({ drainMs: 50 })]);
    }
  });
});
