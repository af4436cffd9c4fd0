/**
 * Scale out on a shared ClickHouse (the real engine: chdb behind the embedded HTTP interface):
 * two `meshtrace collector` processes and one `meshtrace query` process, as separate CLI
 * processes. Each trace is split in two, one half sent to each collector; the query process, which
 * received nothing itself, returns every trace whole.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedClickHouse, type EmbeddedClickHouse } from './support/clickhouse-http.js';
import { startCli, waitForExit, type RunningCli } from './helpers/process.js';
import { eventually, getJson } from './helpers/server.js';

let ch: EmbeddedClickHouse;
const processes: RunningCli[] = [];

const common = () => ['--storage', 'clickhouse', '--clickhouse-url', ch.url, '--clickhouse-database', 'scale', '--host', '127.0.0.1'];

beforeAll(async () => {
  ch = await startEmbeddedClickHouse();
  // One at a time: the first creates the schema, the others find it current.
  for (let i = 0; i < 2; i++) processes.push(await startCli(['collector', ...common(), '--otlp-http-port', '0', '--otlp-grpc-port', 'off', '--zipkin-port', 'off']));
  processes.push(await startCli(['query', ...common(), '--query-port', '0']));
}, 90_000); // three processes started one after the other, each opening (and the first migrating) the schema

afterAll(async () => {
  for (const p of processes) p.child.kill('SIGTERM');
  await Promise.all(processes.map((p) => waitForExit(p.child)));
  await ch?.close();
});

function half(traceId: string, spans: { spanId: string; parent?: string; name: string; service: string }[], t0: bigint) {
  const byService = new Map<string, typeof spans>();
  for (const s of spans) byService.set(s.service, [...(byService.get(s.service) ?? []), s]);
  return JSON.stringify({
    resourceSpans: [...byService].map(([service, ss]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{
        spans: ss.map((s, i) => ({
          traceId,
          spanId: s.spanId,
          ...(s.parent ? { parentSpanId: s.parent } : {}),
          name: s.name,
          kind: 2,
          startTimeUnixNano: String(t0 + BigInt(i) * 1_000_000n),
          endTimeUnixNano: String(t0 + BigInt(i + 1) * 1_000_000n),
        })),
      }],
    })),
  });
}

describe('two collectors and a query server on one ClickHouse', () => {
  it('runs each role alone: collectors have no query API, the query server no receivers', () => {
    const [a, b, q] = processes;
    for (const c of [a, b]) {
      expect(c.started.otlpHttpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(c.started.queryUrl).toBeUndefined();
    }
    expect(q.started.queryUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(q.started.otlpHttpUrl).toBeUndefined();
  });

  it('returns traces whole whose halves went to different collectors', async () => {
    const [a, b, q] = processes;
    const traces: string[] = [];
    for (let t = 0; t < 8; t++) {
      const traceId = randomBytes(16).toString('hex');
      const ids = Array.from({ length: 4 }, () => randomBytes(8).toString('hex'));
      const t0 = BigInt(Date.now() - 60_000 + t * 1000) * 1_000_000n;
      // frontend root → frontend client → backend server → backend db
      const spans = [
        { spanId: ids[0], name: 'GET /', service: 'frontend' },
        { spanId: ids[1], parent: ids[0], name: 'call backend', service: 'frontend' },
        { spanId: ids[2], parent: ids[1], name: 'GET /api', service: 'backend' },
        { spanId: ids[3], parent: ids[2], name: 'SELECT', service: 'backend' },
      ];
      const post = (c: RunningCli, body: string) =>
        fetch(`${c.started.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const [ra, rb] = await Promise.all([post(a, half(traceId, spans.slice(0, 2), t0)), post(b, half(traceId, spans.slice(2), t0))]);
      expect([ra.status, rb.status]).toEqual([200, 200]);
      traces.push(traceId);
    }
    for (const traceId of traces) {
      const { body } = await getJson(`${q.started.queryUrl}/api/traces/${traceId}`);
      expect(body.data[0].spans).toHaveLength(4);
      expect(Object.values(body.data[0].processes as Record<string, { serviceName: string }>).map((p) => p.serviceName).sort()).toEqual(['backend', 'frontend']);
    }
    const found = await eventually(async () => {
      const r = await getJson(`${q.started.queryUrl}/api/traces?service=backend&lookback=1h&limit=20`);
      return r.body.data?.length === traces.length ? r.body.data : undefined;
    });
    expect(found.map((t: { traceID: string }) => t.traceID).sort()).toEqual([...traces].sort());
    expect((await getJson(`${q.started.queryUrl}/api/services`)).body.data).toEqual(['backend', 'frontend']);
    const deps = (await getJson(`${q.started.queryUrl}/api/dependencies?endTs=${Date.now()}&lookback=3600000`)).body.data;
    expect(deps).toEqual([expect.objectContaining({ parent: 'frontend', child: 'backend', callCount: traces.length })]);
  });
});
