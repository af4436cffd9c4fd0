/**
 * "A span acknowledged with 2xx is durable even if the process is killed right after":
 * the real CLI ingests concurrent OTLP requests, is SIGKILLed mid-stream, restarts on the same
 * data directory, and every acknowledged span is there.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getJson } from './helpers/server.js';
import { startCli, waitForExit } from './helpers/process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'meshtrace-kill9-'));
const args = ['all-in-one', '--data-dir', dataDir, '--host', '127.0.0.1', '--otlp-http-port', '0', '--otlp-grpc-port', '0', '--zipkin-port', 'off', '--query-port', '0'];
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function request(traceId: string, spans: number) {
  const start = BigInt(Date.now()) * 1_000_000n;
  return {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'kill9' } }] },
      scopeSpans: [{
        spans: Array.from({ length: spans }, (_, i) => ({
          traceId,
          spanId: randomBytes(8).toString('hex'),
          name: `op-${i % 5}`,
          kind: 1,
          startTimeUnixNano: String(start + BigInt(i) * 1000n),
          endTimeUnixNano: String(start + BigInt(i) * 1000n + 500_000n),
          attributes: [{ key: 'i', value: { intValue: String(i) } }],
        })),
      }],
    }],
  };
}

describe('kill -9 durability', () => {
  it('keeps every acknowledged span across SIGKILL', async () => {
    const first = await startCli(args);
    const url = `${first.started.otlpHttpUrl}/v1/traces`;
    const acked = new Map<string, number>();
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const traceId = randomBytes(16).toString('hex');
        const n = 50;
        try {
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request(traceId, n)) });
          if (res.status === 200) acked.set(traceId, n);
          await res.arrayBuffer();
        } catch {
          return; // the server died mid-request: that request was never acknowledged
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    // Let ingest run, then kill without warning while requests are in flight.
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await waitForExit(first.child);
    expect(acked.size).toBeGreaterThan(10);

    const second = await startCli(args);
    try {
      const missing: string[] = [];
      for (const [traceId, n] of acked) {
        const { status, body } = await getJson(`${second.started.queryUrl}/api/traces/${traceId}?raw=true`);
        if (status !== 200 || body.data[0].spans.length !== n) missing.push(traceId);
      }
      expect(missing).toEqual([]);
    } finally {
      second.child.kill('SIGTERM');
      await waitForExit(second.child);
    }
  });
});
