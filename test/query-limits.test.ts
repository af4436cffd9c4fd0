/**
 * Issue 10 (point 2): query sizes are bounded. Every route's parameters answer 400 naming the
 * parameter when out of range (they answered 500, or read without bound), `limit` is capped by
 * `--query-max-limit`, and each response carries at most `--query-max-spans` spans, saying what
 * it left out. A real all-in-one server with small limits; spans go in through OTLP/HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, getJson, startTestServer, type TestServer } from './helpers/server.js';

const MAX_LIMIT = 20;
const MAX_SPANS = 10;
let server: TestServer;
const nowUs = Date.now() * 1000;
const nanos = (us: number) => String(BigInt(us) * 1000n);
const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');

// Five 4-span traces of service `small`, one a minute apart (trace 1 the most recent), and one
// 15-span trace of service `huge`.
const smallTrace = (i: number) => hex(0xa000 + i, 32);
const HUGE = hex(0xb000, 32);

function spans(traceId: string, n: number, startUs: number) {
  return Array.from({ length: n }, (_, k) => ({
    traceId,
    spanId: hex(Number.parseInt(traceId.slice(-4), 16) * 100 + k + 1, 16),
    ...(k > 0 ? { parentSpanId: hex(Number.parseInt(traceId.slice(-4), 16) * 100 + 1, 16) } : {}),
    name: k === 0 ? 'root' : `child-${k}`,
    kind: k === 0 ? 2 : 1,
    // Children start in reverse order of k: the cut keeps the earliest, not the first written.
    startTimeUnixNano: nanos(startUs + (k === 0 ? 0 : (n - k) * 1000)),
    endTimeUnixNano: nanos(startUs + 500_000),
  }));
}

const resource = (service: string, s: unknown[]) => ({
  resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
  scopeSpans: [{ scope: { name: 't' }, spans: s }],
});

beforeAll(async () => {
  server = await startTestServer({ queryMaxLimit: MAX_LIMIT, queryMaxSpans: MAX_SPANS });
  const payload = {
    resourceSpans: [
      resource('small', [1, 2, 3, 4, 5].flatMap((i) => spans(smallTrace(i), 4, nowUs - i * 60_000_000))),
      resource('huge', spans(HUGE, 15, nowUs - 30 * 60_000_000)),
    ],
  };
  const res = await fetch(`${server.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  expect(res.status).toBe(200);
  await eventually(async () => (await getJson(`${server.queryUrl}/api/services`)).body.data.length === 2);
});
afterAll(async () => server?.stop());

const api = (path: string) => getJson(`${server.queryUrl}${path}`);

/** Each URL answers 400 with a message naming `param`; `shape` picks the error message out of the body. */
async function expectBadParams(cases: [string, string][], shape: (body: any) => string = (b) => b.errors?.[0]?.msg) {
  for (const [url, param] of cases) {
    const r = await api(url);
    expect({ url, status: r.status }).toEqual({ url, status: 400 });
    expect(shape(r.body), url).toContain(`'${param}'`);
  }
}

describe('limit and --query-max-limit', () => {
  it('a search limit above the server maximum is a 400 naming the bound, not a read of every trace', async () => {
    const r = await api('/api/traces?service=small&limit=1000000000');
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual([{ code: 400, msg: `unable to parse param 'limit': must not exceed ${MAX_LIMIT} (the server's --query-max-limit), got 1000000000` }]);
    expect((await api(`/api/traces?service=small&limit=${MAX_LIMIT}`)).status).toBe(200);
    const v3 = await api(`/api/v3/traces?query.service_name=small&query.start_time_min=2000-01-01T00:00:00Z&query.start_time_max=2100-01-01T00:00:00Z&query.num_traces=${MAX_LIMIT + 1}`);
    expect(v3.status).toBe(400);
    expect(v3.body.error.message).toContain(`'query.num_traces': must not exceed ${MAX_LIMIT} (the server's --query-max-limit)`);
    const ids = Array.from({ length: MAX_LIMIT + 1 }, (_, i) => `traceID=${hex(i + 1, 32)}`).join('&');
    expect((await api(`/api/traces?${ids}`)).body.errors[0].msg).toContain(`'traceID': at most ${MAX_LIMIT} values`);
  });
});

describe('every parameter out of range → 400 naming it', () => {
  it('/api/traces and /api/traces/:id', async () => {
    await expectBadParams([
      ['/api/traces?service=small&minDuration=-5s', 'minDuration'],
      ['/api/traces?service=small&maxDuration=99999999999999h', 'maxDuration'],
      ['/api/traces?service=small&start=-1', 'start'],
      ['/api/traces?service=small&end=99999999999999999', 'end'],
      ['/api/traces?service=small&lookback=forever', 'lookback'],
      ['/api/traces?service=small&lookback=9999999h', 'lookback'],
      [`/api/traces?service=small&tags=${encodeURIComponent(JSON.stringify(Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']))))}`, 'tags'],
      [`/api/traces?service=small&${Array.from({ length: 51 }, (_, i) => `tag=k${i}:v`).join('&')}`, 'tag'],
      [`/api/traces/${HUGE}?start=-5`, 'start'],
    ]);
    // What clients send stays accepted.
    for (const ok of ['lookback=1h', 'lookback=2d', 'lookback=custom', 'minDuration=1ms&maxDuration=2s', 'limit=0']) {
      expect((await api(`/api/traces?service=small&${ok}`)).status, ok).toBe(200);
    }
  });

  it('/api/v3/traces and /api/v3/traces/:id', async () => {
    const window = 'query.start_time_min=2000-01-01T00:00:00Z&query.start_time_max=2100-01-01T00:00:00Z';
    await expectBadParams([
      [`/api/v3/traces?query.service_name=small&${window}&query.duration_min=-5s`, 'query.duration_min'],
      [`/api/v3/traces?query.service_name=small&${window}&query.durationMax=99999999999999h`, 'query.durationMax'],
      ['/api/v3/traces?query.service_name=small&query.start_time_min=1969-01-01T00:00:00Z&query.start_time_max=2100-01-01T00:00:00Z', 'query.start_time_min'],
      ['/api/v3/traces?query.service_name=small&query.start_time_min=2000-01-01T00:00:00Z&query.start_time_max=9999-01-01T00:00:00Z', 'query.start_time_max'],
      ['/api/v3/traces?query.service_name=small&query.start_time_min=2100-01-01T00:00:00Z&query.start_time_max=2000-01-01T00:00:00Z', 'query.start_time_min'],
      [`/api/v3/traces?query.service_name=small&${window}&query.search_depth=99999999999999999999`, 'query.search_depth'],
      [`/api/v3/traces/${HUGE}?start_time=0001-01-01T00:00:00Z`, 'start_time'],
    ], (b) => b.error?.message);
  });

  it('/api/dependencies, /api/metrics/* and /api/ext/*', async () => {
    await expectBadParams([
      ['/api/dependencies?endTs=-1', 'endTs'],
      ['/api/dependencies?endTs=99999999999999999', 'endTs'],
      ['/api/dependencies?lookback=99999999999999999', 'lookback'],
      ['/api/metrics/calls?service=small&endTs=99999999999999999', 'endTs'],
      ['/api/metrics/calls?service=small&lookback=99999999999999999&step=99999999999999999', 'lookback'],
      ['/api/metrics/calls?service=small&step=99999999999999999', 'step'],
      ['/api/metrics/calls?service=small&ratePer=99999999999999999', 'ratePer'],
      ['/api/metrics/latencies?service=small&quantile=2', 'quantile'],
      [`/api/metrics/calls?${Array.from({ length: 101 }, (_, i) => `service=s${i}`).join('&')}`, 'service'],
      ['/api/ext/service-graph?endTs=99999999999999999', 'endTs'],
      ['/api/ext/service-graph?lookback=99999999999999999', 'lookback'],
      ['/api/ext/propagation?endTs=-1', 'endTs'],
      ['/api/ext/propagation?lookback=99999999999999999', 'lookback'],
      [`/api/ext/traces/${HUGE}/find?q=${'x'.repeat(1001)}`, 'q'],
    ]);
  });
});

describe('span budget (--query-max-spans)', () => {
  it('a search stops loading at the budget and says so in errors', async () => {
    const r = await api('/api/traces?service=small&limit=5');
    expect(r.status).toBe(200);
    // 4 + 4 spans fit in 10; the third trace would not: it and the two after it are left out.
    expect(r.body.data.map((t: any) => [t.traceID, t.spans.length])).toEqual([[smallTrace(1).replace(/^0+/, '').padStart(16, '0'), 4], [smallTrace(2).replace(/^0+/, '').padStart(16, '0'), 4]]);
    expect(r.body.errors).toEqual([{ msg: `search results cut to 2 traces: 3 more matched but would exceed the server's ${MAX_SPANS} spans per response (--query-max-spans); narrow the search or lower 'limit'` }]);
    // Within the budget: no errors.
    expect((await api('/api/traces?service=small&limit=2')).body.errors).toBeNull();

    const v3 = await api('/api/v3/traces?query.service_name=small&query.start_time_min=2000-01-01T00:00:00Z&query.start_time_max=2100-01-01T00:00:00Z&query.num_traces=5');
    expect(v3.status).toBe(200);
    expect(v3.body.result.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans))).toHaveLength(8);
    expect(v3.body.warnings).toEqual([expect.stringContaining("search results cut to 2 traces: 3 more matched")]);

    // The service graph's trace sample is held to the same budget (the huge trace is older than all five).
    const graph = await api('/api/ext/service-graph?sampleTraces=10');
    expect(graph.status).toBe(200);
    expect(graph.body.data.tracesScanned).toBe(2);
    expect(graph.body.errors).toEqual([{ msg: `search results cut to 2 traces: 4 more matched but would exceed the server's ${MAX_SPANS} spans per response (--query-max-spans); narrow the search or lower 'sampleTraces'` }]);
  });

  it('a trace larger than the budget comes back cut to its earliest spans, with a trace warning', async () => {
    const warning = `trace cut to its ${MAX_SPANS} earliest spans of 15: the server sends at most ${MAX_SPANS} spans per response (--query-max-spans)`;
    const r = await api(`/api/traces/${HUGE}`);
    expect(r.status).toBe(200);
    const [trace] = r.body.data;
    expect(trace.spans).toHaveLength(MAX_SPANS);
    expect(trace.warnings).toEqual([warning]);
    // The root and the children that start first (child-14 … child-6), not the first ids written.
    expect(trace.spans.map((s: any) => s.operationName).sort()).toEqual(['root', ...[14, 13, 12, 11, 10, 9, 8, 7, 6].map((k) => `child-${k}`)].sort());

    const v3 = await api(`/api/v3/traces/${HUGE}`);
    expect(v3.body.result.resourceSpans[0].scopeSpans[0].spans).toHaveLength(MAX_SPANS);
    expect(v3.body.warnings).toEqual([warning]);

    const compact = await api(`/api/ext/traces/${HUGE}/compact`);
    expect(compact.body.data.spans.spanID).toHaveLength(MAX_SPANS);
    expect(compact.body.data.warnings).toEqual([warning]);
  });

  it('traces asked for by id past the budget are named in errors, not reported missing', async () => {
    const missing = hex(0xdead, 32);
    const r = await api(`/api/traces?traceID=${smallTrace(1)}&traceID=${HUGE}&traceID=${missing}`);
    expect(r.status).toBe(200);
    expect(r.body.data.map((t: any) => t.spans.length)).toEqual([4]);
    expect(r.body.errors).toEqual([
      { msg: `trace left out: the response reached the server's ${MAX_SPANS} spans per response (--query-max-spans); ask for it on its own`, traceID: HUGE },
      { msg: 'trace not found', traceID: missing },
    ]);
  });
});
