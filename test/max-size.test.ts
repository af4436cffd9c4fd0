/**
 * `--max-size` end to end: sustained OTLP/HTTP ingest far past a small cap. The server checks
 * retention once a minute, so only the checks its ingest worker makes after writes can hold the
 * cap. Sizes are the files on disk (database + WAL), as an operator's `du` sees them.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startAllInOne } from '../all-in-one/server.js';
import { encodeOtlpProtobuf } from '../bench/data/otlp.js';
import type { Span } from '../model/span.js';
import { makeCallTrace, nowUs, str } from '../storage/testdata/fixtures.js';
import { getJson } from './helpers/server.js';

const MiB = 1024 * 1024;
/** The tolerance README.md documents for `--max-size`: 10 % of the cap plus 1 MiB. */
const allowedBytes = (cap: number) => cap * 1.1 + MiB;

const dataDir = mkdtempSync(join(tmpdir(), 'meshtrace-max-size-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const fileBytes = (p: string) => (existsSync(p) ? statSync(p).size : 0);

/** `traces` call traces starting now, each span padded so the cap is crossed in few requests. */
function request(traces: number): { spans: Span[]; traceIds: string[] } {
  const spans: Span[] = [];
  const traceIds: string[] = [];
  for (let i = 0; i < traces; i++) {
    const t = makeCallTrace({ startTimeUs: nowUs() - 1000 + i });
    for (const s of t) s.attributes.push(str('payload', 'x'.repeat(200)), str('i', String(i)));
    traceIds.push(t[0].traceId);
    spans.push(...t);
  }
  return { spans, traceIds };
}

describe('--max-size', () => {
  it('keeps the database + WAL on disk within the documented tolerance under sustained ingest, and keeps the newest traces', async () => {
    const cap = 2 * MiB;
    // The data is all newer than --retention: only the size cap deletes anything.
    const server = await startAllInOne({
      dataDir, host: '127.0.0.1', otlpHttpPort: 0, otlpGrpcPort: 'off', zipkinPort: 'off', queryPort: 0, logLevel: 'silent',
      retention: '72h', maxSize: cap,
    });
    const db = join(dataDir, 'meshtrace.db');
    try {
      let written = 0;
      let largest = 0;
      let last: string[] = [];
      for (let r = 0; r < 160; r++) {
        const { spans, traceIds } = request(100);
        const body = encodeOtlpProtobuf(spans);
        written += body.byteLength;
        const res = await fetch(`${server.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
        expect(res.status).toBe(200);
        largest = Math.max(largest, fileBytes(db) + fileBytes(`${db}-wal`));
        last = traceIds;
      }
      expect(written).toBeGreaterThan(8 * cap); // sustained: many times the cap went in
      expect(largest).toBeLessThanOrEqual(allowedBytes(cap));
      for (const id of last) expect((await getJson(`${server.queryUrl}/api/traces/${id}`)).status).toBe(200);
    } finally {
      await server.close();
    }
  }, 60_000);
});
