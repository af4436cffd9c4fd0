/**
 * Contract tests for the query API: the exact JSON shapes jaeger-ui and Grafana's Jaeger data
 * source read, the error envelope and messages, and api_v3. Data goes in through the real OTLP/HTTP
 * receiver as OTLP JSON with fixed ids, so every id and value below is known.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, getJson, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
const nowUs = Date.now() * 1000;
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SHORT_TRACE = '00000000000000004bf92f3577b34da6'; // high half zero → 16-char Jaeger id
const nanos = (us: number) => String(BigInt(us) * 1000n);

function span(o: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; start: number; dur: number; attrs?: unknown[]; status?: unknown }) {
  return {
    traceId: o.traceId,
    spanId: o.spanId,
    ...(o.parentSpanId ? { parentSpanId: o.parentSpanId } : {}),
    name: o.name,
    kind: o.kind,
    startTimeUnixNano: nanos(o.start),
    endTimeUnixNano: nanos(o.start + o.dur),
    attributes: o.attrs ?? [],
    ...(o.status ? { status: o.status } : {}),
  };
}

const payload = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'my service/α' } }] },
      scopeSpans: [
        {
          scope: { name: 'manual' },
          spans: [
            span({ traceId: TRACE, spanId: 'b7ad6b7169203331', name: 'GET /a', kind: 2, start: nowUs - 5_000_000, dur: 300_000, attrs: [{ key: 'big', value: { intValue: '9007199254740993' } }] }),
            span({ traceId: TRACE, spanId: '00f067aa0ba902b7', parentSpanId: 'b7ad6b7169203331', name: 'query', kind: 3, start: nowUs - 4_900_000, dur: 100_000 }),
            // Its parent never arrives: flagged, not re-rooted.
            span({ traceId: TRACE, spanId: '1111111111111111', parentSpanId: 'ffffffffffffffff', name: 'orphan', kind: 1, start: nowUs - 4_800_000, dur: 10_000 }),
          ],
        },
      ],
    },
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'legacy' } }] },
      scopeSpans: [{ scope: { name: 'zipkin' }, spans: [span({ traceId: SHORT_TRACE, spanId: '2222222222222222', name: 'poll', kind: 4, start: nowUs - 1_000_000, dur: 2_000 })] }],
    },
  ],
};

beforeAll(async () => {
  server = await startTestServer();
  const res = await fetch(`${server.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({});
});

afterAll(async () => {
  await server?.stop();
});

const api = (path: string) => getJson(`${server.queryUrl}${path}`);

describe('Jaeger API envelopes', () => {
  it('/api/services', async () => {
    const r = await api('/api/services');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ data: ['legacy', 'my service/α'], total: 2, limit: 0, offset: 0, errors: null });
  });

  it('/api/services/:service/operations unescapes the path segment', async () => {
    const r = await api(`/api/services/${encodeURIComponent('my service/α')}/operations`);
    expect(r.body).toEqual({ data: ['GET /a', 'orphan', 'query'], total: 3, limit: 0, offset: 0, errors: null });
    const unknown = await api('/api/services/nope/operations');
    expect(unknown.body).toEqual({ data: [], total: 0, limit: 0, offset: 0, errors: null });
  });

  it('/api/operations with and without spanKind; service required', async () => {
    const all = await api(`/api/operations?service=${encodeURIComponent('my service/α')}`);
    expect(all.body.data).toEqual([
      { name: 'GET /a', spanKind: 'server' },
      { name: 'orphan', spanKind: 'internal' },
      { name: 'query', spanKind: 'client' },
    ]);
    const servers = await api(`/api/operations?service=${encodeURIComponent('my service/α')}&spanKind=server`);
    expect(servers.body.data).toEqual([{ name: 'GET /a', spanKind: 'server' }]);
    const missing = await api('/api/operations');
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 400, msg: "parameter 'service' is required" }] });
  });

  it('/api/traces/:id: Jaeger trace model, 16-char ids, int64 beyond 2^53 as string', async () => {
    const r = await api(`/api/traces/${TRACE.toUpperCase()}`);
    expect(r.status).toBe(200);
    const t = r.body.data[0];
    expect(Object.keys(t).sort()).toEqual(['processes', 'spans', 'traceID', 'warnings']);
    expect(Object.keys(t.spans[0]).sort()).toEqual(['duration', 'flags', 'logs', 'operationName', 'processID', 'references', 'spanID', 'startTime', 'tags', 'traceID', 'warnings']);
    expect(t.processes).toEqual({ p1: { serviceName: 'my service/α', tags: [] } });
    const root = t.spans.find((s: any) => s.spanID === 'b7ad6b7169203331');
    expect(root.tags).toContainEqual({ key: 'big', type: 'int64', value: '9007199254740993' });
    expect(root.startTime).toBe(nowUs - 5_000_000);
    expect(root.duration).toBe(300_000);

    const short = await api('/api/traces/4bf92f3577b34da6');
    expect(short.body.data[0].traceID).toBe('4bf92f3577b34da6');
    const padded = await api(`/api/traces/${SHORT_TRACE}`);
    expect(padded.body.data[0].spans[0].spanID).toBe('2222222222222222');
  });

  it('flags a missing parent with a warning and keeps the reference; raw=true skips adjusters', async () => {
    const t = (await api(`/api/traces/${TRACE}`)).body.data[0];
    const orphan = t.spans.find((s: any) => s.spanID === '1111111111111111');
    expect(orphan.references).toEqual([{ refType: 'CHILD_OF', traceID: TRACE, spanID: 'ffffffffffffffff' }]);
    expect(orphan.warnings[0]).toContain('ffffffffffffffff');
    expect(t.warnings[0]).toContain('incomplete trace');
    const raw = (await api(`/api/traces/${TRACE}?raw=true`)).body.data[0];
    expect(raw.spans.find((s: any) => s.spanID === '1111111111111111').warnings).toBeNull();
  });

  it('unknown trace → 404 envelope; malformed id → 400', async () => {
    const r = await api('/api/traces/0123456789abcdef0123456789abcdef');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: 'trace not found' }] });
    const bad = await api('/api/traces/not-a-trace');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].msg).toContain('traceID');
  });

  it('/api/traces?traceID=… returns found traces and names the missing ones', async () => {
    const r = await api(`/api/traces?traceID=${TRACE}&traceID=0123456789abcdef0123456789abcdef`);
    expect(r.status).toBe(200);
    expect(r.body.data.map((t: any) => t.traceID)).toEqual([TRACE]);
    expect(r.body.errors).toEqual([{ msg: 'trace not found', traceID: '0123456789abcdef0123456789abcdef' }]);
  });

  it.each([
    ['tag=nocolon', "malformed 'tag' parameter, expecting key:value"],
    ['minDuration=10ms&maxDuration=1ms', "'maxDuration' should be greater than 'minDuration'"],
    ['minDuration=fast', "unable to parse param 'minDuration'"],
    ['limit=ten', "unable to parse param 'limit'"],
    ['start=yesterday', "unable to parse param 'start'"],
    ['tags=%7B%22a%22%3A', "malformed 'tags' parameter"],
  ])('/api/traces?%s → 400 naming the parameter', async (qs, msg) => {
    const r = await api(`/api/traces?service=legacy&${qs}`);
    expect(r.status).toBe(400);
    expect(r.body.data).toBeNull();
    expect(r.body.errors[0].code).toBe(400);
    expect(r.body.errors[0].msg).toContain(msg);
  });

  it('search honours start/end in µs, limit, and logfmt tags', async () => {
    const all = await api(`/api/traces?service=${encodeURIComponent('my service/α')}&start=${nowUs - 60_000_000}&end=${nowUs}&limit=10`);
    expect(all.body.data.map((t: any) => t.traceID)).toEqual([TRACE]);
    const early = await api(`/api/traces?service=${encodeURIComponent('my service/α')}&start=${nowUs - 60_000_000}&end=${nowUs - 30_000_000}`);
    expect(early.body.data).toEqual([]);
    const logfmt = await api(`/api/traces?service=${encodeURIComponent('my service/α')}&tags=${encodeURIComponent('big=9007199254740993')}`);
    expect(logfmt.body.data.map((t: any) => t.traceID)).toEqual([TRACE]);
  });

  it('prettyPrint=true indents the JSON', async () => {
    const res = await fetch(`${server.queryUrl}/api/services?prettyPrint=true`);
    expect(await res.text()).toContain('\n  "data": [');
  });

  it('/api/dependencies validates its parameters', async () => {
    const r = await api('/api/dependencies?endTs=abc');
    expect(r.status).toBe(400);
    expect(r.body.errors[0].msg).toContain("'endTs'");
    const ok = await api(`/api/dependencies?endTs=${Date.now()}&lookback=3600000`);
    expect(ok.body).toEqual({ data: [], total: 0, limit: 0, offset: 0, errors: null });
  });
});

describe('api_v3', () => {
  it('services and operations', async () => {
    expect((await api('/api/v3/services')).body).toEqual({ services: ['legacy', 'my service/α'] });
    const ops = await api('/api/v3/operations?service=legacy');
    expect(ops.body).toEqual({ operations: [{ name: 'poll', spanKind: 'producer' }] });
  });

  it('trace by id as OTLP JSON, unknown id → 404 error shape', async () => {
    const r = await api(`/api/v3/traces/${TRACE}`);
    expect(r.body.result.resourceSpans).toHaveLength(1);
    expect(r.body.result.resourceSpans[0].resource.attributes).toEqual([{ key: 'service.name', value: { stringValue: 'my service/α' } }]);
    const spans = r.body.result.resourceSpans[0].scopeSpans[0].spans;
    expect(spans.find((s: any) => s.spanId === 'b7ad6b7169203331').attributes).toEqual([{ key: 'big', value: { intValue: '9007199254740993' } }]);
    const missing = await api('/api/v3/traces/0123456789abcdef0123456789abcdef');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { httpCode: 404, message: 'trace not found' } });
  });

  it('find traces requires the time window and accepts snake_case and camelCase', async () => {
    const missing = await api('/api/v3/traces?query.service_name=legacy');
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain('query.start_time_min');
    const min = new Date(Date.now() - 3_600_000).toISOString();
    const max = new Date(Date.now() + 60_000).toISOString();
    const r = await api(`/api/v3/traces?query.serviceName=legacy&query.start_time_min=${min}&query.startTimeMax=${max}`);
    expect(r.status).toBe(200);
    const spans = r.body.result.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans));
    expect(spans.map((s: any) => s.spanId)).toEqual(['2222222222222222']);
  });
});

describe('health', () => {
  it('/health and /ready', async () => {
    expect((await api('/health')).body).toEqual({ status: 'ok' });
    await eventually(async () => (await api('/ready')).status === 200);
  });
});
