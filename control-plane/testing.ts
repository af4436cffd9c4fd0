import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../proxy/testing/harness.js';

/** Test helpers: `meshtrace` verbs as real child processes, each in its own process group. */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const bin = join(root, 'bin', 'meshtrace.js');

export interface Proc {
  child: ChildProcess;
  stderr(): string;
  stdout(): string;
  /** The first JSON line on stderr whose `msg` contains `msg`. */
  line<T = Record<string, unknown>>(msg: string, timeoutMs?: number): Promise<T>;
  /** Signals the whole process group (inject and its app). */
  kill(sig: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

const all: Proc[] = [];

export function meshtrace(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...env } });
  let err = '';
  let out = '';
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const p: Proc = {
    child,
    stderr: () => err,
    stdout: () => out,
    line: <T>(msg: string, timeoutMs = 30_000) => waitFor(() => {
      for (const l of err.split('\n')) {
        if (!l.startsWith('{')) continue;
        try { const j = JSON.parse(l) as { msg?: string }; if (j.msg?.includes(msg)) return j as T; } catch { /* partial line */ }
      }
      return undefined;
    }, `'${msg}' from meshtrace ${args[0]} (stderr: ${err.slice(-2000)})`, timeoutMs),
    kill: (sig) => { try { process.kill(-child.pid!, sig); } catch { /* gone */ } },
    exited,
  };
  all.push(p);
  return p;
}

/** SIGKILLs every process group still running (afterAll). */
export function killAll(): void {
  for (const p of all) if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGKILL');
  all.length = 0;
}

/**
 * Until the sidecar with this admin port has `count` endpoints for upstream `name` (its /config):
 * a request sent before would be passed through to the bare host name (a DNS lookup), so tests
 * wait for discovery instead of retrying requests.
 */
export function waitForEndpoints(adminPort: number, name: string, count: number, timeoutMs = 10_000): Promise<true> {
  return waitFor(async () => {
    const c = await (await fetch(`http://127.0.0.1:${adminPort}/config`)).json() as { upstreams: Record<string, unknown> };
    const e = c.upstreams[name];
    return (Array.isArray(e) ? e.length : e ? 1 : 0) === count || undefined;
  }, `${count} endpoint(s) of ${name} on the sidecar with admin port ${adminPort}`, timeoutMs);
}

/** `meshtrace mesh …` to completion. */
export function meshCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = meshtrace(['mesh', ...args], env);
  return p.exited.then((code) => ({ code, stdout: p.stdout(), stderr: p.stderr() }));
}

/** An app for `inject`: answers every request with its service and version (from its environment). */
export const VERSION_APP = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ service: process.env.APP_SERVICE, version: process.env.APP_VERSION }));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
