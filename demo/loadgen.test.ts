import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startLoad } from './loadgen.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function target(handler: (path: string) => number): Promise<{ url: string; paths: string[] }> {
  const paths: string[] = [];
  server = createServer((req, res) => { paths.push(req.url!); res.statusCode = handler(req.url!); res.end('x'); });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths };
}

describe('load generator', () => {
  it('sends product-page requests until its duration is over, counting answers', async () => {
    const t = await target((p) => (p.startsWith('/api/v1/products/1') ? 500 : 200));
    const load = startLoad({ target: t.url, rps: 40, durationMs: 300 });
    await load.done;
    expect(load.stats.sent).toBeGreaterThan(1);
    expect(load.stats.ok + load.stats.failed).toBe(load.stats.sent);
    expect(load.stats.aborted).toBe(0);
    expect(t.paths.length).toBe(load.stats.sent);
    expect(t.paths.every((p) => /^\/(productpage\?id=[0-2]|api\/v1\/products\/[0-2])$/.test(p))).toBe(true);
    const sent = load.stats.sent;
    await new Promise((r) => setTimeout(r, 100));
    expect(load.stats.sent).toBe(sent); // stopped for good
  });

  it('counts an unreachable target as failures and stops on demand', async () => {
    const t = await target(() => 200);
    server!.close();
    server!.closeAllConnections();
    const load = startLoad({ target: t.url, rps: 20, durationMs: 0 });
    await new Promise((r) => setTimeout(r, 200));
    await load.stop();
    expect(load.stats.sent).toBeGreaterThan(0);
    expect(load.stats.ok).toBe(0);
    expect(load.stats.failed).toBeGreaterThan(0);
    expect(load.stats.failed + load.stats.aborted).toBe(load.stats.sent);
    server = undefined;
  });

  it('counts requests cut off by stop() as aborted, not failed', async () => {
    const t = await target(() => 200);
    server!.removeAllListeners('request');
    server!.on('request', () => { /* never answers */ });
    const load = startLoad({ target: t.url, rps: 20, durationMs: 0 });
    await new Promise((r) => setTimeout(r, 150));
    await load.stop();
    expect(load.stats.aborted).toBe(load.stats.sent);
    expect(load.stats.failed).toBe(0);
  });

  it('refuses a rate of zero', () => {
    expect(() => startLoad({ target: 'http://127.0.0.1:1', rps: 0, durationMs: 0 })).toThrow(/rps must be greater than 0/);
  });
});
