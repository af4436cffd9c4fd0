import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { constantRate } from './constant-rate.js';

describe('constant-rate client (coordinated omission corrected)', () => {
  it('counts the wait of every request that queued behind a stall, not only the stalled one', async () => {
    // A server that stalls once for 300 ms (one connection: everything due meanwhile queues).
    let n = 0;
    const server = http.createServer((_req, res) => {
      n++;
      if (n === 20) setTimeout(() => res.end('slow'), 300);
      else res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const r = await constantRate(`http://127.0.0.1:${port}/`, undefined, { rate: 200, seconds: 1, connections: 1 });
      expect(r.errors).toBe(0);
      expect(r.sent).toBeGreaterThanOrEqual(190);
      expect(r.ok).toBe(r.sent);
      // ~60 requests were due during the 300 ms stall: each waited, most of them > 100 ms. A client
      // that starts the clock when it sends would report one slow request and ~59 fast ones.
      const slow = r.latenciesMs.filter((ms) => ms > 100).length;
      expect(slow).toBeGreaterThanOrEqual(30);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
