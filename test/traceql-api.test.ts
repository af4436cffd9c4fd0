/**
 * TraceQL end to end: spans in through the real OTLP/HTTP receiver (OTLP JSON, fixed ids), out
 * through Tempo's API under /tempo (the shapes Grafana's Tempo data source reads) and
 * /api/ext/search (the UI's), on the real all-in-one server and SQLite file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otlpTypes } from '../collector/otlp/schema.js';
import { eventually, getJson, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
const nowUs = Date.now() * 1000;
const nanos = (us: number) => String(BigInt(us) * 1000n);
const CHECKOUT = '11111111111111111111111111111111';
const BROWSE = '22222222222222222222222222222222';

const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
const int = (key: string, v: number) => ({ key, value: { intValue: String(v) } });
function span(traceId: string, spanId: string, parent: string, name: string, kind: number, start: number, durUs: number, attrs: unknown[] = [], error = false) {
  return {
    traceId, spanId, ...(parent ? { parentSpanId: parent } : {}), name, kind,
    startTimeUnixNano: nanos(start), endTimeUnixNano: nanos(start + durUs), attributes: attrs,
    ...(error ? { status: { code: 2, message: 'boom' } } : {}),
  };
}
const resource = (service: string, spans: unknown[]) => ({
  resource: { attributes: [str('service.name', service), str('deployment.environment', 'prod')] },
  scopeSpans: [{ scope: { name: 'test' }, spans }],
});

// checkout: web GET /checkout (server) → payments charge (client, 500, error) → db SELECT
// browse:   web GET /browse (server) → db SELECT (a child of the web span)
const t1 = nowUs - 60_000_000;
const t2 = nowUs - 30_000_000;
const payload = {
  resourceSpans: [
    resource('web', [
      span(CHECKOUT, 'a000000000000001', '', 'GET /checkout', 2, t1, 400_000, [str('http.route', '/checkout')]),
      span(BROWSE, 'b000000000000001', '', 'GET /browse', 2, t2, 50_000, [str('http.route', '/browse')]),
    ]),
    resource('payments', [span(CHECKOUT, 'a000000000000002', 'a000000000000001', 'charge', 3, t1 + 1000, 300_000, [int('http.status_code', 500), str('http.method', 'POST')], true)]),
    resource('db', [
      span(CHECKOUT, 'a000000000000003', 'a000000000000002', 'SELECT', 3, t1 + 2000, 20_000, [str('db.system', 'postgres')]),
      span(BROWSE, 'b000000000000002', 'b000000000000001', 'SELECT', 3, t2 + 1000, 10_000, [str('db.system', 'postgres')]),
    ]),
  ],
};

beforeAll(async () => {
  server = await startTestServer();
  const res = await fetch(`${server.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  expect(res.status).toBe(200);
  await eventually(async () => (await getJson(`${server.queryUrl}/api/services`)).body.data?.length === 3);
});
afterAll(async () => {
  await server?.stop();
});

const tempo = (path: string) => getJson(`${server.queryUrl}/tempo${path}`);
const search = (q: string, extra = '') => tempo(`/api/search?q=${encodeURIComponent(q)}${extra}`);
const ids = (body: { traces: { traceID: string }[] }) => body.traces.map((t) => t.traceID);

describe('Tempo search API (/tempo/api/search)', () => {
  it('answers with Tempo\'s TraceSearchMetadata and matched spans', async () => {
    const { status, body } = await search('{ resource.service.name = "payments" && span.http.status_code >= 500 } | select(span.http.method)');
    expect(status).toBe(200);
    expect(body.traces).toEqual([{
      traceID: CHECKOUT,
      rootServiceName: 'web',
      rootTraceName: 'GET /checkout',
      startTimeUnixNano: nanos(t1),
      durationMs: 400,
      spanSet: { matched: 1, spans: [{ spanID: 'a000000000000002', name: 'charge', startTimeUnixNano: nanos(t1 + 1000), durationNanos: '300000000',
        attributes: [{ key: 'service.name', value: { stringValue: 'payments' } }, { key: 'http.status_code', value: { intValue: '500' } }, { key: 'http.method', value: { stringValue: 'POST' } }] }] },
      spanSets: [expect.objectContaining({ matched: 1 })],
    }]);
    expect(body.metrics).toMatchObject({ inspectedTraces: 1 });
  });

  it('runs structural, regex, existence, spanset || and count() queries', async () => {
    expect(ids((await search('{ kind = server } > { name = "SELECT" }')).body)).toEqual([BROWSE]);
    expect(ids((await search('{ kind = server } >> { name = "SELECT" }')).body)).toEqual([BROWSE, CHECKOUT]);
    expect(ids((await search('{ span.http.route =~ "/check.*" }')).body)).toEqual([CHECKOUT]);
    expect(ids((await search('{ span.http.status_code != nil }')).body)).toEqual([CHECKOUT]);
    expect(ids((await search('{ status = error } || { span.http.route = "/browse" }')).body)).toEqual([BROWSE, CHECKOUT]);
    expect(ids((await search('{ resource.deployment.environment = "prod" } | count() > 2')).body)).toEqual([CHECKOUT]);
    expect(ids((await search('{ traceDuration > 100ms && rootServiceName = "web" }')).body)).toEqual([CHECKOUT]);
    expect(ids((await search('{ name = "nothing" }')).body)).toEqual([]);
  });

  it('holds to limit and spss, newest first', async () => {
    const { body } = await search('{ name = "SELECT" }', '&limit=1');
    expect(ids(body)).toEqual([BROWSE]);
    const all = (await search('{ }', '&spss=2')).body;
    expect(all.traces.find((t: { traceID: string }) => t.traceID === CHECKOUT).spanSet).toMatchObject({ matched: 3, spans: [{ spanID: 'a000000000000001' }, { spanID: 'a000000000000002' }] });
  });

  it('searches the window given in Unix seconds', async () => {
    const end = Math.floor((t2 - 5_000_000) / 1e6);
    expect(ids((await search('{ name = "SELECT" }', `&start=${end - 600}&end=${end}`)).body)).toEqual([CHECKOUT]);
  });

  it('answers a syntax error with 400 and the position as plain text', async () => {
    const res = await fetch(`${server.queryUrl}/tempo/api/search?q=${encodeURIComponent('{ .a = }')}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe("invalid TraceQL query: 1:8: expected a value (a string in quotes, a number, a duration, true, false or nil) after .a =, found '}'");
  });

  it('bounds every parameter (400 naming it)', async () => {
    for (const [param, message] of [
      ['limit=100000', "unable to parse param 'limit'"],
      ['spss=0', "unable to parse param 'spss'"],
      ['start=-1', "unable to parse param 'start'"],
      ['end=99999999999', "unable to parse param 'end'"],
      [`q=${'x'.repeat(10_001)}`, "unable to parse param 'q'"],
    ]) {
      const res = await fetch(`${server.queryUrl}/tempo/api/search?${param}`);
      expect(res.status, param).toBe(400);
      expect(await res.text(), param).toContain(message);
    }
  });
});

describe('Tempo trace, tag and status routes', () => {
  it('serves a trace as OTLP JSON: v1 batches and v2 trace.resourceSpans', async () => {
    const v1 = await tempo(`/api/traces/${CHECKOUT}`);
    expect(v1.status).toBe(200);
    const spanIds = v1.body.batches.flatMap((b: any) => b.scopeSpans.flatMap((s: any) => s.spans.map((x: any) => x.spanId))).sort();
    expect(spanIds).toEqual(['a000000000000001', 'a000000000000002', 'a000000000000003']);
    const v2 = await tempo(`/api/v2/traces/${CHECKOUT}`);
    expect(v2.body.trace.resourceSpans).toHaveLength(3);
    const missing = await fetch(`${server.queryUrl}/tempo/api/traces/${'9'.repeat(32)}`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('trace not found');
  });

  it('serves a trace as OTLP protobuf when asked, as Grafana\'s Tempo data source does', async () => {
    const spanIdsOf = (body: Buffer) => {
      const decoded = otlpTypes.TracesData.decode(body) as unknown as { resourceSpans: { scopeSpans: { spans: { spanId: Uint8Array; traceId: Uint8Array; startTimeUnixNano: { toString(): string } }[] }[] }[] };
      return decoded.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)).map((sp) => {
        expect(Buffer.from(sp.traceId).toString('hex')).toBe(CHECKOUT);
        return `${Buffer.from(sp.spanId).toString('hex')}@${sp.startTimeUnixNano.toString()}`;
      }).sort();
    };
    const expected = [`a000000000000001@${nanos(t1)}`, `a000000000000002@${nanos(t1 + 1000)}`, `a000000000000003@${nanos(t1 + 2000)}`];
    const v1 = await fetch(`${server.queryUrl}/tempo/api/traces/${CHECKOUT}?start=0&end=${Math.ceil(nowUs / 1e6)}`, { headers: { accept: 'application/protobuf' } });
    expect(v1.status).toBe(200);
    expect(v1.headers.get('content-type')).toBe('application/protobuf');
    expect(spanIdsOf(Buffer.from(await v1.arrayBuffer()))).toEqual(expected);
    const v2 = await fetch(`${server.queryUrl}/tempo/api/v2/traces/${CHECKOUT}`, { headers: { accept: 'application/protobuf' } });
    const body = Buffer.from(await v2.arrayBuffer());
    // TraceByIDResponse: field 1 (the trace), length-delimited, and nothing else.
    expect(body[0]).toBe(0x0a);
    let len = 0;
    let i = 1;
    for (let shift = 0; ; shift += 7) {
      const b = body[i++];
      len += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
    }
    expect(i + len).toBe(body.length);
    expect(spanIdsOf(body.subarray(i))).toEqual(expected);
  });

  it('lists tag names (v1 and v2 scopes) and values', async () => {
    const v1 = await tempo('/api/search/tags');
    expect(v1.body.tagNames).toEqual(expect.arrayContaining(['http.route', 'http.status_code', 'db.system', 'deployment.environment', 'service.name']));
    const v2 = await tempo('/api/v2/search/tags');
    const scopes = Object.fromEntries(v2.body.scopes.map((s: { name: string; tags: string[] }) => [s.name, s.tags]));
    expect(scopes.span).toEqual(expect.arrayContaining(['http.route', 'db.system']));
    expect(scopes.resource).toEqual(['deployment.environment', 'service.name']);
    expect(scopes.intrinsic).toContain('rootServiceName');
    expect((await tempo('/api/v2/search/tags?scope=resource')).body.scopes).toEqual([{ name: 'resource', tags: ['deployment.environment', 'service.name'] }]);
    const bogus = await fetch(`${server.queryUrl}/tempo/api/v2/search/tags?scope=bogus`);
    expect(bogus.status).toBe(400);
    expect(await bogus.text()).toContain("unable to parse param 'scope'");
    expect((await tempo('/api/v2/search/tag/span.http.route/values')).body).toEqual({ tagValues: [{ type: 'string', value: '/browse' }, { type: 'string', value: '/checkout' }] });
    expect((await tempo('/api/v2/search/tag/resource.service.name/values')).body.tagValues.map((v: { value: string }) => v.value)).toEqual(['db', 'payments', 'web']);
    expect((await tempo('/api/v2/search/tag/status/values')).body.tagValues).toContainEqual({ type: 'keyword', value: 'error' });
    expect((await tempo('/api/v2/search/tag/name/values')).body.tagValues.map((v: { value: string }) => v.value)).toEqual(['GET /browse', 'GET /checkout', 'SELECT', 'charge']);
    expect((await tempo('/api/search/tag/db.system/values')).body).toEqual({ tagValues: ['postgres'] });
  });

  it('answers echo and buildinfo', async () => {
    const echo = await fetch(`${server.queryUrl}/tempo/api/echo`);
    expect(await echo.text()).toBe('echo');
    const info = await tempo('/api/status/buildinfo');
    expect(info.body).toMatchObject({ version: '2.4.0', revision: expect.stringMatching(/^meshtrace-\d+\.\d+\.\d+/) });
  });
});

describe('/api/ext/search (Jaeger envelope for the UI)', () => {
  it('returns whole Jaeger traces with the matched span ids', async () => {
    const { status, body } = await getJson(`${server.queryUrl}/api/ext/search?q=${encodeURIComponent('{ name = "SELECT" }')}`);
    expect(status).toBe(200);
    expect(body.errors).toBeNull();
    expect(body.data.map((t: { traceID: string }) => t.traceID)).toEqual([BROWSE, CHECKOUT]);
    expect(body.data[1].spans).toHaveLength(3);
    expect(body.data[1].matchedSpanIDs).toEqual(['a000000000000003']);
  });

  it('answers errors in the Jaeger envelope and serves autocomplete', async () => {
    const bad = await getJson(`${server.queryUrl}/api/ext/search?q=${encodeURIComponent('{ status = "error" }')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].msg).toBe('invalid TraceQL query: 1:12: expected error, ok or unset after status =, found string "error"');
    const tags = await getJson(`${server.queryUrl}/api/ext/search/tags`);
    expect(tags.body.data.span).toContain('http.method');
    const values = await getJson(`${server.queryUrl}/api/ext/search/tag-values?tag=${encodeURIComponent('.http.method')}`);
    expect(values.body.data).toEqual([{ type: 'string', value: 'POST' }]);
    expect((await getJson(`${server.queryUrl}/api/ext/search/tag-values`)).status).toBe(400);
  });
});
