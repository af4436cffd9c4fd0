/**
 * A sidecar's own cost, as `meshtrace proxy` runs for a user (a real process from bin/meshtrace.js):
 * `/metrics` reports its resident memory (what the kernel says for that process), and V8's young
 * generation stays at 2 × 1 MiB semi-spaces (bin/meshtrace.js sidecarHeap) until it serves, and
 * at most 2 × 4 MiB under load (proxy/young-generation.ts), unless MESHTRACE_SIDECAR_HEAP=default —
 * by default V8 has grown it to 16 MiB before the first request.
 */
import { Agent, request } from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { send, waitFor } from './testing/harness.js';

const bin = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'bin', 'meshtrace.js');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function startProxy(env: Record<string, string> = {}): Promise<{ pid: number; adminPort: number; inboundPort: number }> {
  const child = spawn(process.execPath, [bin, 'proxy', '--service', 'res', '--app-port', '9', '--no-access-log', '--inbound-port', '0', '--outbound-port', '0', '--admin-port', '0'],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const started = await waitFor(() => {
    const line = err.split('\n').find((l) => l.includes('"meshtrace proxy started"'));
    return line ? JSON.parse(line) as { adminPort: number; inboundPort: number } : undefined;
  }, 'meshtrace proxy to start', 20_000);
  return { pid: child.pid!, adminPort: started.adminPort, inboundPort: started.inboundPort };
}

const metric = (text: string, name: string): number => {
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} ([0-9.e+]+)$`, 'm').exec(text);
  if (!m) throw new Error(`${name} missing from /metrics`);
  return Number(m[1]);
};
const vmRssBytes = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

describe('sidecar resources', () => {
  it('reports its own resident memory on /metrics and keeps the young generation at 2 MiB', async () => {
    const p = await startProxy();
    const text = (await send(p.adminPort, '/metrics')).body;
    const rss = metric(text, 'process_resident_memory_bytes');
    const kernel = vmRssBytes(p.pid);
    // The same process's RSS read a moment apart: within 20 %, and nothing like the test runner's.
    expect(Math.abs(rss - kernel) / kernel).toBeLessThan(0.2);
    expect(rss).toBeGreaterThan(20 * 2 ** 20);
    expect(metric(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(metric(text, 'nodejs_heap_space_size_total_bytes{space="new"}')).toBeLessThanOrEqual(2 * 2 ** 20);
    expect(metric(text, 'process_start_time_seconds')).toBeGreaterThan(0);
    expect(metric(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    // No per-GC observer and no 10 ms event-loop timer on a sidecar (proxy/metrics.ts).
    expect(text).not.toMatch(/^nodejs_gc_duration_seconds/m);
    expect(text).not.toMatch(/^nodejs_eventloop_lag/m);
  });

  /** Sends `rounds` × 1,000 POSTs with 2 KiB bodies, 32 at a time; returns the largest young generation seen after each round. */
  async function load(p: { adminPort: number; inboundPort: number }, rounds: number, until?: (newSpace: number) => boolean): Promise<number> {
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    const one = () => new Promise<void>((done, fail) => {
      // Requests with bodies: more survives each scavenge than with bare GETs.
      const req = request({ host: '127.0.0.1', port: p.inboundPort, path: '/load', method: 'POST', agent, headers: { 'content-length': '2048' } }, (res) => { res.resume(); res.on('end', done); });
      req.on('error', fail);
      req.end(Buffer.alloc(2048, 120));
    });
    let most = 0;
    try {
      for (let round = 0; round < rounds; round++) {
        await Promise.all(Array.from({ length: 1000 }, one));
        most = Math.max(most, metric((await send(p.adminPort, '/metrics')).body, 'nodejs_heap_space_size_total_bytes{space="new"}'));
        if (until?.(most)) break;
      }
    } finally { agent.destroy(); }
    return most;
  }

  it('lets the young generation grow under load, up to 2 × 4 MiB', async () => {
    // A low growth rate, so a loaded test machine still counts as "under load".
    const p = await startProxy({ MESHTRACE_SIDECAR_YOUNG_GROW_RPS: '200' });
    // Until V8 has grown it past the initial 2 MiB (or give up after 30,000 requests)…
    expect(await load(p, 30, (n) => n > 2 * 2 ** 20)).toBeGreaterThan(2 * 2 ** 20);
    // …then more load: it stops at the ceiling (V8's default would go on to 2 × 16 MiB).
    expect(await load(p, 15)).toBeLessThanOrEqual(8 * 2 ** 20);
  });

  it('keeps the young generation at 2 × 1 MiB while requests come slower than MESHTRACE_SIDECAR_YOUNG_GROW_RPS', async () => {
    // The same load as above, but below the growth rate (set out of reach): no growth.
    const p = await startProxy({ MESHTRACE_SIDECAR_YOUNG_GROW_RPS: '10000000' });
    expect(await load(p, 12)).toBeLessThanOrEqual(2 * 2 ** 20);
  });

  it('MESHTRACE_SIDECAR_HEAP=default leaves V8 its own young-generation sizing', async () => {
    const p = await startProxy({ MESHTRACE_SIDECAR_HEAP: 'default' });
    const text = (await send(p.adminPort, '/metrics')).body;
    expect(metric(text, 'nodejs_heap_space_size_total_bytes{space="new"}')).toBeGreaterThan(2 * 2 ** 20);
  });
});
