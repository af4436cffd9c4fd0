/**
 * The query API does not wait for the write path: with the SQLite write lock held by another
 * connection, an OTLP export waits (its spans cannot be committed yet) while the Jaeger API keeps
 * answering from the main thread. Before the ingest worker thread, the write transaction blocked
 * the one event loop and every query queued behind it.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

function exportBody(traceId: string, service: string): string {
  const start = BigInt(Date.now() - 1000) * 1_000_000n;
  return JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{ spans: [{ traceId, spanId: '0102030405060708', name: 'op', kind: 2, startTimeUnixNano: String(start), endTimeUnixNano: String(start + 1_000_000n) }] }],
    }],
  });
}

const post = (body: string) =>
  fetch(`${server.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('ingest on its own thread', () => {
  it('answers queries while a write is stuck behind a lock, then acknowledges the write once it commits', async () => {
    expect((await post(exportBody('11'.repeat(16), 'before'))).status).toBe(200);

    const locker = new Database(join(server.dataDir, 'meshtrace.db'));
    locker.pragma('busy_timeout = 0');
    locker.exec('BEGIN IMMEDIATE'); // holds the write lock; the worker's commit must wait
    let acked = false;
    const stuck = post(exportBody('22'.repeat(16), 'during')).then((res) => {
      acked = true;
      return res;
    });
    try {
      // Give the worker time to reach the lock (it retries for up to 5 s: busy_timeout).
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < 5; i++) {
        const services = await getJson(`${server.queryUrl}/api/services`);
        expect(services.body.data).toEqual(['before']);
        const trace = await getJson(`${server.queryUrl}/api/traces/${'11'.repeat(16)}`);
        expect(trace.status).toBe(200);
      }
      expect(acked).toBe(false); // still waiting for its commit: nothing acknowledged early
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    const res = await stuck;
    expect(res.status).toBe(200);
    expect((await getJson(`${server.queryUrl}/api/services`)).body.data).toEqual(['before', 'during']);
  });
});
