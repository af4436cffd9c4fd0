/**
 * Bad input through the whole server: each bad request gets its status and leaves nothing in the
 * store, while the good requests sent around it are stored and queryable.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ maxBodySize: '64KiB' });
});
afterAll(async () => server?.stop());

function body(service: string, traceId = randomBytes(16).toString('hex'), spanId = randomBytes(8).toString('hex')) {
  const start = BigInt(Date.now()) * 1_000_000n;
  return {
    traceId,
    json: JSON.stringify({
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{ spans: [{ traceId, spanId, name: 'op', kind: 2, startTimeUnixNano: String(start), endTimeUnixNano: String(start + 1_000_000n) }] }],
      }],
    }),
  };
}

const post = (payload: string | Buffer, headers: Record<string, string>) =>
  fetch(`${server.otlpHttpUrl}/v1/traces`, { method: 'POST', headers, body: payload });

describe('bad input never lands, good input around it does', () => {
  it('answers each bad request with its status and stores only the good ones', async () => {
    const good: string[] = [];
    const sendGood = async () => {
      const b = body('good');
      const res = await post(b.json, { 'content-type': 'application/json' });
      expect(res.status).toBe(200);
      good.push(b.traceId);
    };
    const json = { 'content-type': 'application/json' };
    const cases: [string, () => Promise<Response>, number][] = [
      ['truncated protobuf', () => post(Buffer.from([0x0a, 0x50, 0x0a]), { 'content-type': 'application/x-protobuf' }), 400],
      // Fixed bytes, not random ones: about 1 in 700 random 64-byte strings is a valid (empty)
      // request made of unknown fields, which protobuf rightly accepts.
      ['garbage protobuf', () => post(Buffer.from('plain text, not protobuf at all'), { 'content-type': 'application/x-protobuf' }), 400],
      ['invalid JSON', () => post('{"resourceSpans": [', json), 400],
      ['wrong content type', () => post(body('bad').json, { 'content-type': 'text/plain' }), 415],
      ['oversized body', () => post(JSON.stringify({ resourceSpans: [], pad: 'x'.repeat(100_000) }), json), 413],
      ['gzip bomb', () => post(gzipSync(Buffer.alloc(50 * 1024 * 1024)), { ...json, 'content-encoding': 'gzip' }), 413],
    ];
    await sendGood();
    for (const [name, send, status] of cases) {
      const res = await send();
      expect(res.status, name).toBe(status);
      const text = Buffer.from(await res.arrayBuffer()).toString('latin1');
      // 400s carry a google.rpc.Status in the request's encoding (protobuf or JSON) with a message.
      if (status === 400) expect(text, name).toMatch(/invalid|truncated|index out of range|unexpected/i);
      await sendGood();
    }
    // A request with one bad span (zero span id) and one good: partial success, good span kept.
    const mixedTrace = randomBytes(16).toString('hex');
    const ok = JSON.parse(body('mixed', mixedTrace).json);
    ok.resourceSpans[0].scopeSpans[0].spans.push({ ...ok.resourceSpans[0].scopeSpans[0].spans[0], spanId: '0000000000000000', name: 'bad' });
    const partial = await post(JSON.stringify(ok), json);
    expect(partial.status).toBe(200);
    const pr = (await partial.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    expect(pr.partialSuccess.rejectedSpans).toBe('1');
    expect(pr.partialSuccess.errorMessage).toMatch(/span/i);

    const services = await getJson(`${server.queryUrl}/api/services`);
    expect(services.body.data).toEqual(['good', 'mixed']);
    const found = await getJson(`${server.queryUrl}/api/traces?service=good&limit=100`);
    expect(found.body.data.map((t: any) => t.traceID).sort()).toEqual([...good].sort());
    const mixed = await getJson(`${server.queryUrl}/api/traces/${mixedTrace}`);
    expect(mixed.body.data[0].spans.map((s: any) => s.operationName)).toEqual(['op']);
  });

  it('stores a NUL-laden or 10k–40k-character service or span name cleaned and cut, and says so', async () => {
    const start = BigInt(Date.now()) * 1_000_000n;
    const traceId = randomBytes(16).toString('hex');
    const req = {
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'evil\u0000svc' } }] },
        scopeSpans: [{ spans: [
          { traceId, spanId: randomBytes(8).toString('hex'), name: 'n'.repeat(40_000), kind: 2, startTimeUnixNano: String(start), endTimeUnixNano: String(start + 1_000_000n) },
          { traceId, spanId: randomBytes(8).toString('hex'), name: 'line\nbreak', kind: 1, startTimeUnixNano: String(start), endTimeUnixNano: String(start + 1_000_000n) },
        ] }],
      }, {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'L'.repeat(10_000) } }] },
        scopeSpans: [{ spans: [{ traceId, spanId: randomBytes(8).toString('hex'), name: 'op', kind: 1, startTimeUnixNano: String(start), endTimeUnixNano: String(start + 1_000_000n) }] }],
      }],
    };
    const res = await post(JSON.stringify(req), { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    // Accepted in full, with OTLP's partial-success warning (rejectedSpans 0, a message).
    const answer = (await res.json()) as { partialSuccess: { rejectedSpans?: string; errorMessage: string } };
    expect(answer.partialSuccess.rejectedSpans ?? '0').toBe('0');
    expect(answer.partialSuccess.errorMessage).toMatch(/^4 service\/span name\(s\) were stored cleaned/);

    const services: string[] = (await getJson(`${server.queryUrl}/api/services`)).body.data;
    expect(services).toContain('evil\uFFFDsvc');
    expect(services.some((s) => s.includes('\u0000'))).toBe(false);
    expect(services).toContain(`${'L'.repeat(255)}…`);
    const ops: string[] = (await getJson(`${server.queryUrl}/api/services/${encodeURIComponent('evil\uFFFDsvc')}/operations`)).body.data;
    expect(ops.sort()).toEqual(['line break', `${'n'.repeat(1023)}…`]);
    const trace = (await getJson(`${server.queryUrl}/api/traces/${traceId}`)).body.data[0];
    expect(trace.spans).toHaveLength(3);
  });
});

