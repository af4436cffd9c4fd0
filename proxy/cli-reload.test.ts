/**
 * Reloading a sidecar's configuration through the real CLI processes: `meshtrace proxy` on
 * SIGHUP and POST /config/reload, `meshtrace inject` on a file change and on SIGHUP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, send, waitFor, type Running } from './testing/harness.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'meshtrace.js');

interface Ports { inboundPort: number; outboundPort: number; adminPort: number }

let dir: string;
let a: Running;
let b: Running;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtrace-cli-reload-'));
  a = await listen((_req, res) => res.end('A'));
  b = await listen((_req, res) => res.end('B'));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all([a?.close(), b?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

function start(args: string[], readyMsg: string) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  const out = { err: '' };
  child.stderr!.on('data', (c: Buffer) => { out.err += c.toString(); });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const ready = waitFor(() => {
    const line = out.err.split('\n').find((l) => l.includes(readyMsg));
    return line ? JSON.parse(line) as Ports : undefined;
  }, readyMsg, 30_000);
  return { child, out, exit, ready };
}

const ratings = async (p: Ports) => (await send(p.outboundPort, '/', { host: 'ratings' })).body;
const reloads = async (p: Ports, result: string) => {
  const m = new RegExp(`meshtrace_proxy_config_reloads_total\\{result="${result}"\\} (\\d+)`).exec((await send(p.adminPort, '/metrics')).body);
  return Number(m?.[1]);
};
const post = (p: Ports) => send(p.adminPort, '/config/reload', {}, 'POST');

describe('meshtrace proxy reloads its --config', () => {
  it('on SIGHUP and on POST /config/reload (400 with the problems when invalid), flags still winning', async () => {
    const file = join(dir, 'proxy.json');
    const cfg = (port: number, extra: Record<string, unknown> = {}) => JSON.stringify({ service: 'reviews', appPort: a.port, upstreams: { ratings: `127.0.0.1:${port}` }, ...extra });
    writeFileSync(file, cfg(a.port));
    const { child, out, exit, ready } = start(['proxy', '--config', file, '--no-config-watch', '--inbound-port', '0', '--outbound-port', '0', '--admin-port', '0', '--no-access-log', '--timeout', '5s'], 'meshtrace proxy started');
    const p = await ready;
    expect(await ratings(p)).toBe('A');

    // Not watched (--no-config-watch): the edit waits for a signal.
    writeFileSync(`${file}.tmp`, cfg(b.port, { timeoutMs: 100 }));
    renameSync(`${file}.tmp`, file);
    child.kill('SIGHUP');
    await waitFor(async () => (await ratings(p)) === 'B', 'SIGHUP to apply the edit', 20_000);
    expect(await reloads(p, 'applied')).toBe(1);
    // --timeout 5s wins over the file's timeoutMs, on reload as at start-up.
    const c = JSON.parse((await send(p.adminPort, '/config')).body) as { timeoutMs: number; reload: Record<string, unknown> };
    expect(c.timeoutMs).toBe(5000);
    expect(c.reload).toMatchObject({ version: 2, lastResult: 'applied' });
    expect(out.err).toContain('config version 2 applied');
    expect(child.exitCode).toBeNull();

    writeFileSync(file, cfg(a.port, { sampling: { rate: 7 }, propagators: ['w3c'] }));
    const bad = await post(p);
    expect(bad.status).toBe(400);
    const outcome = JSON.parse(bad.body) as { result: string; version: number; problems: string[] };
    expect(outcome).toMatchObject({ result: 'rejected', version: 2 });
    expect(outcome.problems.map((x) => x.split(':')[0]).sort()).toEqual(['propagators.0', 'sampling.rate']);
    expect(await ratings(p)).toBe('B');
    await waitFor(() => out.err.includes('sampling.rate'), 'the rejection logged with its field', 10_000);
    const logged = out.err.split('\n').filter((l) => l.includes('config reload rejected')).map((l) => JSON.parse(l) as { level: number; problems: string[] });
    expect(logged).toHaveLength(1);
    expect(logged[0].level).toBe(50);
    expect(logged[0].problems.join(' ')).toContain('propagators.0');

    writeFileSync(file, cfg(a.port));
    const good = await post(p);
    expect(good.status).toBe(200);
    expect(JSON.parse(good.body)).toEqual({ result: 'applied', version: 3, problems: [], restartRequired: [] });
    expect(await ratings(p)).toBe('A');
    const again = await post(p);
    expect([again.status, (JSON.parse(again.body) as { result: string }).result]).toEqual([200, 'unchanged']);
    expect((await send(p.adminPort, '/config/reload')).status).toBe(405);

    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});

describe('meshtrace inject reloads its sidecar', () => {
  it('when the --config file changes, and on SIGHUP, which it also forwards to the app', async () => {
    const file = join(dir, 'inject.json');
    const appFile = join(dir, 'app.cjs');
    const hupFile = join(dir, 'hups');
    // The app counts SIGHUPs in a file, so the test sees it got them.
    writeFileSync(appFile, `
      const http = require('node:http'); const fs = require('node:fs'); let hups = 0;
      process.on('SIGHUP', () => fs.writeFileSync(${JSON.stringify(hupFile)}, String(++hups)));
      const s = http.createServer((req, res) => res.end('app')).listen(Number(process.env.PORT), '127.0.0.1');
      process.on('SIGTERM', () => s.close(() => process.exit(5)));`);
    writeFileSync(file, JSON.stringify({ upstreams: { ratings: `127.0.0.1:${a.port}` }, services: { injected: { sampling: { rate: 0.5 } } } }));
    const { child, exit, ready } = start(['inject', '--service', 'injected', '--config', file, '--no-access-log', '--', process.execPath, appFile], 'sidecar ready');
    const p = await ready;
    await waitFor(async () => (await send(p.inboundPort, '/').catch(() => ({ body: '' }))).body === 'app', 'the app', 20_000);
    expect(await ratings(p)).toBe('A');
    const c = JSON.parse((await send(p.adminPort, '/config')).body) as { sampling: { rate: number } };
    expect(c.sampling.rate).toBe(0.5);

    // The file is watched.
    writeFileSync(`${file}.tmp`, JSON.stringify({ upstreams: { ratings: `127.0.0.1:${b.port}` } }));
    renameSync(`${file}.tmp`, file);
    await waitFor(async () => (await ratings(p)) === 'B', 'inject\'s sidecar to apply the edit', 20_000);

    // SIGHUP: the sidecar reloads (nothing changed) and the app gets the signal too.
    const before = await reloads(p, 'unchanged');
    child.kill('SIGHUP');
    await waitFor(async () => (await reloads(p, 'unchanged')) === before + 1, 'SIGHUP to reload the sidecar', 20_000);
    await waitFor(() => { try { return readFileSync(hupFile, 'utf8') === '1'; } catch { return false; } }, 'the app to get SIGHUP', 20_000);
    expect(await ratings(p)).toBe('B');

    child.kill('SIGTERM');
    expect(await exit).toBe(5);
  });
});
