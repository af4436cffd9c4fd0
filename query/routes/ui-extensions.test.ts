import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind, StatusCode, type Span } from '../../model/span.js';
import type { Storage } from '../../storage/api.js';
import { openSqliteStorage } from '../../storage/sqlite/index.js';
import { standardAdjusters, applyAdjusters } from '../adjusters/index.js';
import { errorEnvelope } from '../envelope.js';
import { uiExtensionRoutes } from './ui-extensions.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const nowUs = Date.now() * 1000;

function span(id: string, parent: string, o: Partial<Span> & { service: string }): Span {
  const { service, ...rest } = o;
  return {
    traceId: TRACE, spanId: id, parentSpanId: parent, traceState: '', flags: 1, name: `op-${id.slice(-1)}`,
    kind: SpanKind.INTERNAL, startTimeUs: nowUs - 5_000_000, durationUs: 1000, attributes: [], events: [], links: [],
    status: { code: StatusCode.UNSET, message: '' },
    resource: { serviceName: service, attributes: [{ key: 'service.name', type: 'string', value: service }, { key: 'host.name', type: 'string', value: `${service}-host` }] },
    scope: { name: 'test', version: '' }, ...rest,
  };
}

let dir: string;
let storage: Storage;
let app: FastifyInstance;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtrace-ext-'));
  storage = await openSqliteStorage({ path: join(dir, 'db.sqlite') });
  await storage.writer.writeSpans([
    span('00000000000000a1', '', { service: 'web', kind: SpanKind.SERVER, durationUs: 9000 }),
    span('00000000000000a2', '00000000000000a1', { service: 'web', kind: SpanKind.CLIENT, startTimeUs: nowUs - 4_999_000, durationUs: 5000, attributes: [{ key: 'server.address', type: 'string', value: 'api' }] }),
    span('00000000000000a3', '00000000000000a2', { service: 'api', kind: SpanKind.SERVER, startTimeUs: nowUs - 4_998_900, durationUs: 4000, status: { code: StatusCode.ERROR, message: 'boom' },
      events: [{ timeUs: nowUs - 4_998_000, name: 'cache miss', attributes: [{ key: 'cache.key', type: 'string', value: 'user:42' }] }] }),
    span('00000000000000a4', '00000000000000a3', { service: 'api', kind: SpanKind.CLIENT, startTimeUs: nowUs - 4_998_500, durationUs: 800, attributes: [{ key: 'db.system', type: 'string', value: 'postgresql' }] }),
    span('00000000000000a5', 'ffffffffffffffff', { service: 'api', startTimeUs: nowUs - 4_990_000, durationUs: 100 }),
  ]);
  app = Fastify();
  // The query app's error handler, so typed errors become Jaeger envelopes as in production.
  app.setErrorHandler((err, _req, reply) => {
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    return reply.code(status).send(errorEnvelope(status, (err as Error).message));
  });
  const adjusters = standardAdjusters({ maxClockSkewAdjustUs: 0 });
  await app.register(uiExtensionRoutes, { reader: storage.reader, dependencies: storage.dependencies, adjust: (t) => applyAdjusters(t, adjusters) });
});

afterAll(async () => {
  await app?.close();
  await storage?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('meshtrace UI extensions', () => {
  it('returns a trace in compact form with interned names and flags', async () => {
    const res = await app.inject(`/api/ext/traces/${TRACE}/compact`);
    expect(res.statusCode).toBe(200);
    const { data, errors } = res.json();
    expect(errors).toBeNull();
    expect(data.traceID).toBe(TRACE);
    expect(data.spans.spanID).toHaveLength(5);
    const i = data.spans.spanID.indexOf('00000000000000a3');
    expect(data.spans.parentSpanID[i]).toBe('00000000000000a2');
    expect(data.services[data.spans.service[i]]).toBe('api');
    expect(data.operations[data.spans.operation[i]]).toBe('op-3');
    expect(data.spans.kind[i]).toBe(SpanKind.SERVER);
    expect(data.spans.flags[i] & 1).toBe(1);
    expect(data.spans.duration[i]).toBe(4000);
    // The orphan's missing parent is reported by the adjusters as a span warning.
    const orphan = data.spans.spanID.indexOf('00000000000000a5');
    expect(data.spans.flags[orphan] & 2).toBe(2);
    expect(data.warnings.some((w: string) => w.startsWith('span 00000000000000a5: '))).toBe(true);
    // Served again from the cache, byte for byte.
    const again = await app.inject(`/api/ext/traces/${TRACE}/compact`);
    expect(again.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(again.body).toBe(res.body);
  });

  it('returns one span with tags, logs and process', async () => {
    const res = await app.inject(`/api/ext/traces/${TRACE.toUpperCase()}/spans/00000000000000a3`);
    expect(res.statusCode).toBe(200);
    const [trace] = res.json().data;
    expect(trace.spans).toHaveLength(1);
    const s = trace.spans[0];
    expect(s.operationName).toBe('op-3');
    expect(s.references).toEqual([{ refType: 'CHILD_OF', traceID: TRACE, spanID: '00000000000000a2' }]);
    expect(s.tags).toContainEqual({ key: 'error', type: 'bool', value: true });
    expect(s.logs[0].fields).toContainEqual({ key: 'event', type: 'string', value: 'cache miss' });
    expect(trace.processes[s.processID]).toMatchObject({ serviceName: 'api' });
    expect(trace.processes[s.processID].tags).toContainEqual({ key: 'host.name', type: 'string', value: 'api-host' });
  });

  it('finds spans by attribute, event and service on the server', async () => {
    const find = async (q: string) => (await app.inject(`/api/ext/traces/${TRACE}/find?q=${encodeURIComponent(q)}`)).json().data.sort();
    expect(await find('USER:42')).toEqual(['00000000000000a3']);
    expect(await find('postgres')).toEqual(['00000000000000a4']);
    expect(await find('web-host')).toEqual(['00000000000000a1', '00000000000000a2']);
    const bad = await app.inject(`/api/ext/traces/${TRACE}/find`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].msg).toBe("parameter 'q' is required");
  });

  it('answers 404 and 400 in the Jaeger envelope', async () => {
    const missing = await app.inject('/api/ext/traces/0123456789abcdef0123456789abcdef/compact');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: 'trace not found' }] });
    expect((await app.inject(`/api/ext/traces/${TRACE}/spans/0000000000000bad`)).json().errors[0].msg).toBe('span not found');
    expect((await app.inject('/api/ext/traces/xyz/compact')).statusCode).toBe(400);
  });

  it('builds the service graph with latency and the uninstrumented database', async () => {
    const res = await app.inject(`/api/ext/service-graph?endTs=${Date.now()}&lookback=3600000`);
    expect(res.statusCode).toBe(200);
    const { data } = res.json();
    expect(data.tracesScanned).toBe(1);
    expect(data.nodes).toEqual([{ id: 'api', kind: 'service' }, { id: 'web', kind: 'service' }, { id: 'postgresql', kind: 'database' }]);
    expect(data.edges).toEqual([
      { parent: 'api', child: 'postgresql', callCount: 1, errorCount: 0, p50Us: 800, p95Us: 800 },
      { parent: 'web', child: 'api', callCount: 1, errorCount: 1, p50Us: 5000, p95Us: 5000 },
    ]);
    expect((await app.inject('/api/ext/service-graph?sampleTraces=0')).statusCode).toBe(400);
  });
});
