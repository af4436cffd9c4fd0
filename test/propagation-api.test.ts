/**
 * `/api/ext/propagation`: the services whose apps drop trace context, from the CLIENT spans the
 * sidecar's propagation doctor marked, worst first, with the doctor's reason and fix.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
const traces: string[] = [];

function clientSpan(service: string, mark: 'broken' | 'ok') {
  const traceId = randomBytes(16).toString('hex');
  traces.push(traceId);
  const start = BigInt(Date.now()) * 1_000_000n;
  const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
  return {
    resource: { attributes: [str('service.name', service)] },
    scopeSpans: [{ spans: [{
      traceId, spanId: randomBytes(8).toString('hex'), name: 'GET', kind: 3,
      startTimeUnixNano: String(start), endTimeUnixNano: String(start + 1_000_000n),
      attributes: [str('meshtrace.propagation', mark), ...(mark === 'broken' ? [str('meshtrace.propagation.reason', 'no trace context on the outbound call'), str('meshtrace.propagation.fix', 'forward traceparent')] : [])],
    }] }],
  };
}

beforeAll(async () => {
  server = await startTestServer();
  const resourceSpans = [clientSpan('frontend', 'broken'), clientSpan('frontend', 'broken'), clientSpan('cart', 'broken'), clientSpan('backend', 'ok')];
  const res = await fetch(`${server.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ resourceSpans }) });
  expect(res.status).toBe(200);
});
afterAll(async () => server?.stop());

describe('/api/ext/propagation', () => {
  it('names the services that drop context, worst first, with reason, fix and example traces', async () => {
    const { status, body } = await getJson(`${server.queryUrl}/api/ext/propagation`);
    expect(status).toBe(200);
    expect(body.data).toEqual([
      { service: 'frontend', brokenCalls: 2, traces: 2, reasons: ['no trace context on the outbound call'], fix: 'forward traceparent', exampleTraceIDs: expect.arrayContaining([traces[0], traces[1]]) },
      { service: 'cart', brokenCalls: 1, traces: 1, reasons: ['no trace context on the outbound call'], fix: 'forward traceparent', exampleTraceIDs: [traces[2]] },
    ]);
  });

  it('validates its parameters', async () => {
    const r = await getJson(`${server.queryUrl}/api/ext/propagation?limit=0`);
    expect(r.status).toBe(400);
    expect(r.body.errors[0].msg).toContain("'limit'");
  });
});
