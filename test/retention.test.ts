/**
 * `--retention` end to end: spans older than the retention window are deleted in the background
 * (the first run happens at start-up), newer ones stay and remain searchable.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startAllInOne } from '../all-in-one/server.js';
import { eventually, getJson } from './helpers/server.js';

const dataDir = mkdtempSync(join(tmpdir(), 'meshtrace-retention-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const config = { dataDir, host: '127.0.0.1', otlpHttpPort: 0, otlpGrpcPort: 'off', zipkinPort: 'off', queryPort: 0, logLevel: 'silent', retention: '1h' };

function request(traceId: string, ageMs: number) {
  const start = BigInt(Date.now() - ageMs) * 1_000_000n;
  return JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'ret' } }] },
      scopeSpans: [{ spans: [{ traceId, spanId: '0102030405060708', name: 'op', kind: 1, startTimeUnixNano: String(start), endTimeUnixNano: String(start + 1_000_000n) }] }],
    }],
  });
}

describe('retention', () => {
  it('deletes spans older than --retention and keeps the rest', async () => {
    const OLD = 'aa'.repeat(16);
    const NEW = 'bb'.repeat(16);
    const first = await startAllInOne(config);
    for (const [id, age] of [[OLD, 2 * 3600_000], [NEW, 60_000]] as const) {
      const res = await fetch(`${first.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: request(id, age) });
      expect(res.status).toBe(200);
    }
    expect((await getJson(`${first.queryUrl}/api/traces/${OLD}`)).status).toBe(200);
    await first.close();

    const second = await startAllInOne(config);
    try {
      await eventually(async () => (await getJson(`${second.queryUrl}/api/traces/${OLD}`)).status === 404);
      expect((await getJson(`${second.queryUrl}/api/traces/${NEW}`)).status).toBe(200);
      const search = await getJson(`${second.queryUrl}/api/traces?service=ret&start=${(Date.now() - 3 * 3600_000) * 1000}`);
      expect(search.body.data.map((t: any) => t.traceID)).toEqual([NEW]);
    } finally {
      await second.close();
    }
  });
});
