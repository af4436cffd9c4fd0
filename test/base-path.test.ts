/**
 * `--ui-base-path /jaeger`: like jaeger-query's base path, the API is served under the prefix (the
 * UI calls it there), and the root `/api` keeps answering for clients configured without it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ uiBasePath: '/jaeger' });
});
afterAll(async () => server?.stop());

describe('UI base path', () => {
  it('serves the Jaeger API, api_v3 and extensions under the prefix and at the root', async () => {
    for (const prefix of ['/jaeger', '']) {
      expect((await getJson(`${server.queryUrl}${prefix}/api/services`)).body).toEqual({ data: [], total: 0, limit: 0, offset: 0, errors: null });
      expect((await getJson(`${server.queryUrl}${prefix}/api/v3/services`)).body).toEqual({ services: [] });
      const missing = await getJson(`${server.queryUrl}${prefix}/api/v3/traces/0123456789abcdef0123456789abcdef`);
      expect(missing).toEqual({ status: 404, body: { error: { httpCode: 404, message: 'trace not found' } } });
      expect((await getJson(`${server.queryUrl}${prefix}/api/ext/propagation`)).status).toBe(200);
    }
  });

  it('serves the UI under the prefix with its API base pointing there', async () => {
    const res = await fetch(`${server.queryUrl}/jaeger/search`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<base href="/jaeger/"');
    expect(html).toMatch(/meshtrace-api-base"[^>]*content="\/jaeger\/"/);
  });
});
