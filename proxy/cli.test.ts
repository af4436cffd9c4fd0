/**
 * The CLI verbs as a user runs them: `node bin/meshtrace.js inject … -- node app.js`, real processes.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, waitFor } from './testing/harness.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'meshtrace.js');

/** The app: listens on PORT, answers with its env and pid; on SIGTERM exits with code 7. */
const APP = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  if (req.url === '/exit') { res.end('bye'); setTimeout(() => process.exit(3), 20); return; }
  res.end(JSON.stringify({ pid: process.pid, PORT: process.env.PORT, HTTP_PROXY: process.env.HTTP_PROXY,
    OTEL_EXPORTER_OTLP_ENDPOINT: process.env.OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME: process.env.OTEL_SERVICE_NAME, traceparent: req.headers.traceparent }));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(7)));
`;

interface Started { child: ChildProcess; ready: { inboundPort: number; outboundPort: number; adminPort: number; appPort: number }; exit: Promise<number | null> }

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

describe('meshtrace inject', () => {
  let dir: string;
  let appFile: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshtrace-inject-'));
    appFile = join(dir, 'app.cjs');
    writeFileSync(appFile, APP);
  });
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(): Promise<Started> {
    const child = spawn(process.execPath, [bin, 'inject', '--service', 'injected', '--collector', 'http://127.0.0.1:9', '--no-access-log', '--', process.execPath, appFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let err = '';
    child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
    child.stdout!.resume();
    const ready = await waitFor(() => {
      const line = err.split('\n').find((l) => l.includes('sidecar ready'));
      return line ? JSON.parse(line) as Started['ready'] : undefined;
    }, 'inject to report the sidecar ready', 20_000);
    // the app listens a moment after it is spawned
    await waitFor(async () => (await send(ready.inboundPort, '/').catch(() => ({ status: 0 }))).status === 200, 'the app behind the sidecar', 20_000);
    return { child, ready, exit };
  }

  it('starts the app behind a sidecar with the environment set, forwards SIGTERM and exits with the app\'s code', async () => {
    const { child, ready, exit } = await start();
    const r = await send(ready.inboundPort, '/');
    const env = JSON.parse(r.body) as Record<string, string> & { pid: number };
    expect(env).toMatchObject({
      PORT: String(ready.appPort), HTTP_PROXY: `http://127.0.0.1:${ready.outboundPort}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_SERVICE_NAME: 'injected',
    });
    expect(env.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect((await send(ready.adminPort, '/ready')).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exit).toBe(7);
    expect(alive(env.pid)).toBe(false);
    await expect(send(ready.inboundPort, '/')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('stops the sidecar when the app exits on its own, with the app\'s exit code', async () => {
    const { ready, exit } = await start();
    await send(ready.inboundPort, '/exit');
    expect(await exit).toBe(3);
    await expect(send(ready.adminPort, '/ready')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('takes the sidecar down with it when killed hard', async () => {
    const { child, ready, exit } = await start();
    const env = JSON.parse((await send(ready.inboundPort, '/')).body) as { pid: number };
    child.kill('SIGKILL');
    await exit;
    await expect(send(ready.adminPort, '/ready')).rejects.toThrow(/ECONNREFUSED/);
    // The app itself is orphaned (Node cannot ask Linux to kill it with its parent): clean up.
    if (alive(env.pid)) process.kill(env.pid, 'SIGKILL');
  });
});

describe('meshtrace proxy', () => {
  it('leaves the other verbs alone when MESHTRACE_SIDECAR_BUNDLE=1 asks proxy and inject for the bundle', () => {
    const help = execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8', env: { ...process.env, MESHTRACE_SIDECAR_BUNDLE: '1' } });
    expect(help).toContain('all-in-one');
  });
  it('reports invalid flags by name and exits 2', async () => {
    const child = spawn(process.execPath, [bin, 'proxy', '--service', 'x', '--app-port', '70000', '--upstream', 'nope'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(err).toContain('--upstream');
    expect(err).toContain("expected name=host:port, got 'nope'");
  });
});

describe('the bundled sidecar (npm run build:proxy)', () => {
  // Built by package.json's own build:proxy command, into a scratch directory beside dist/ (so its
  // node_modules and ../package.json resolve as dist/sidecar.mjs's do) rather than over the
  // dist/sidecar.mjs that other test files' processes may be running.
  const out = join(root, `.vitest-sidecar-${process.pid}`);
  const children: ChildProcess[] = [];
  let meta: { outputs: Record<string, { imports: { path: string; external?: boolean }[] }> };

  beforeAll(() => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const [tool, ...args] = pkg.scripts['build:proxy'].split(/\s+/);
    expect(tool).toBe('esbuild');
    const moved = args.map((a) => a.replace(/^--outfile=dist\//, `--outfile=${out}/`).replace(/^--metafile=dist\//, `--metafile=${out}/`));
    execFileSync(join(root, 'node_modules', '.bin', 'esbuild'), moved, { cwd: root, stdio: 'pipe' });
    meta = JSON.parse(readFileSync(join(out, 'sidecar.meta.json'), 'utf8')) as typeof meta;
  }, 60_000);
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(out, { recursive: true, force: true });
  });

  it('leaves the loader and the other components out', () => {
    const imports = Object.values(meta.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
    expect(imports).toEqual(expect.arrayContaining(['undici', 'prom-client', 'commander']));
    // zod stays: the sidecar validates its config with it, like every other component.
    for (const heavy of ['tsx', 'fastify', 'better-sqlite3', '@grpc/grpc-js']) {
      expect(imports.filter((p) => p === heavy || p.startsWith(`${heavy}/`))).toEqual([]);
    }
  });

  it('serves traced requests, prints help and names bad flags like the sources do', async () => {
    const bundle = join(out, 'sidecar.mjs');
    const help = execFileSync(process.execPath, [bundle, 'proxy', '--help'], { encoding: 'utf8' });
    expect(help).toContain('--upstream <name=host:port>');
    const bad = spawn(process.execPath, [bundle, 'proxy', '--service', 'x', '--app-port', '70000'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let badErr = '';
    bad.stderr!.on('data', (c: Buffer) => { badErr += c.toString(); });
    expect(await new Promise<number | null>((r) => bad.once('exit', (c) => r(c)))).toBe(2);
    expect(badErr).toContain('--app-port (appPort');

    const dir = mkdtempSync(join(tmpdir(), 'meshtrace-bundle-'));
    try {
      const appFile = join(dir, 'app.cjs');
      writeFileSync(appFile, APP);
      const child = spawn(process.execPath, [bundle, 'inject', '--service', 'bundled', '--no-access-log', '--', process.execPath, appFile], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      let err = '';
      child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
      const ready = await waitFor(() => {
        const line = err.split('\n').find((l) => l.includes('sidecar ready'));
        return line ? JSON.parse(line) as Started['ready'] : undefined;
      }, 'the bundled inject to report its sidecar ready', 20_000);
      await waitFor(async () => (await send(ready.inboundPort, '/').catch(() => ({ status: 0 }))).status === 200, 'the app behind the bundled sidecar', 20_000);
      const env = JSON.parse((await send(ready.inboundPort, '/')).body) as { traceparent?: string; OTEL_SERVICE_NAME?: string };
      expect(env.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(env.OTEL_SERVICE_NAME).toBe('bundled');
      const metrics = await send(ready.adminPort, '/metrics');
      expect(metrics.body).toMatch(/istio_requests_total\{[^}]*reporter="destination"[^}]*response_code="200"[^}]*\} [1-9]/);
      const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.kill('SIGTERM');
      expect(await exit).toBe(7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
