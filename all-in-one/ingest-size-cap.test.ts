/**
 * `--max-size` end to end in the ingest worker: sustained ingest far past a small cap, with the
 * server's one-minute retention interval, so only the checks the worker makes on write volume
 * can hold the cap. Sizes are the files on disk (database + WAL), as an operator sees them.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeOtlpProtobuf } from '../bench/data/otlp.js';
import type { Span } from '../model/span.js';
import { HOUR_US, makeCallTrace, nowUs, str } from '../storage/testdata/fixtures.js';
import { openSqliteStorage } from '../storage/sqlite/index.js';
import { IngestThread } from './ingest-thread.js';

const MiB = 1024 * 1024;
/** The tolerance README.md documents for `--max-size`: 10 % of the cap plus 1 MiB. */
const allowedBytes = (cap: number) => cap * 1.1 + MiB;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

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

describe('ingest worker with a size cap', () => {
  it('keeps the database + WAL on disk within the cap’s tolerance under sustained ingest, and keeps the newest traces', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshtrace-size-cap-'));
    const path = join(dir, 'db.sqlite');
    const cap = 2 * MiB;
    const reader = openSqliteStorage({ path });
    const thread = new IngestThread({
      storage: { path, synchronous: 'normal' },
      batch: { maxQueueSpans: 10_000 },
      // The data is all newer than the age limit: only the size cap deletes anything.
      retention: { maxAgeUs: 72 * HOUR_US, maxSizeBytes: cap, intervalMs: 60_000 },
      logger: pino({ level: 'silent' }),
    });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => reader.close(), () => thread.shutdown());
    await thread.start();

    let written = 0;
    let largest = 0;
    let last: string[] = [];
    for (let r = 0; r < 160; r++) {
      const { spans, traceIds } = request(100);
      const body = encodeOtlpProtobuf(spans);
      written += body.byteLength; // before handing it over: the worker takes the buffer
      await thread.consumePayload('otlp-protobuf', body);
      largest = Math.max(largest, fileBytes(path) + fileBytes(`${path}-wal`));
      last = traceIds;
    }
    expect(written).toBeGreaterThan(8 * cap); // sustained: many times the cap went in
    expect(largest).toBeLessThanOrEqual(allowedBytes(cap));
    const newest = await reader.reader.getTraces({ traceIds: last });
    expect(newest).toHaveLength(last.length);
  }, 60_000);
});
