/**
 * A full disk, for real: the ingest worker's SQLite connection may not grow its file past
 * `maxPageCount` pages (`PRAGMA max_page_count`), so writes fail with SQLITE_FULL as on a full
 * disk; raising the limit is the space coming back. Checked from outside, as an operator sees
 * it: answers to senders, `/ready` on a real query server, the log lines, the WAL on disk.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeOtlpProtobuf } from '../bench/data/otlp.js';
import { StorageRefusedError } from '../collector/index.js';
import { buildQueryApp } from '../query/app.js';
import { makeCallTrace, nowUs, str } from '../storage/testdata/fixtures.js';
import { openSqliteStorage } from '../storage/sqlite/index.js';
import { IngestThread } from './ingest-thread.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * `traces` traces whose spans carry enough bytes (distinct: repeated values are stored once) that
 * a few hundred fill a small page limit.
 */
function payload(traces = 1): Uint8Array {
  const spans = Array.from({ length: traces }, () => makeCallTrace({ startTimeUs: nowUs() - 1000 })).flat();
  for (const s of spans) s.attributes.push(str('payload', randomBytes(1000).toString('hex')));
  return encodeOtlpProtobuf(spans);
}

describe('ingest worker on a full disk', () => {
  it('answers 503 without a log line per request, turns /ready 503 with the reason, keeps the WAL small, and recovers by itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshtrace-disk-full-'));
    const path = join(dir, 'db.sqlite');
    const reader = openSqliteStorage({ path });
    const lines: Array<{ level: number; msg: string; err?: unknown; refusedWrites?: number }> = [];
    const sink = new Writable({ write(chunk, _enc, done) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); done(); } });
    const thread = new IngestThread({
      // Room for the schema and a few hundred of these traces.
      storage: { path, synchronous: 'normal', maxPageCount: 400 },
      batch: { maxQueueSpans: 10_000 },
      retention: { maxAgeUs: 0, maxSizeBytes: 0, intervalMs: 60_000 },
      logger: pino({ level: 'info' }, sink),
    });
    const query = await buildQueryApp({
      reader: reader.reader,
      dependencies: reader.dependencies,
      adjusters: [],
      isReady: () => thread.isRunning(),
      unreadyReason: () => thread.storageRefusalReason(),
    });
    await query.listen({ host: '127.0.0.1', port: 0 });
    const address = query.server.address();
    const readyUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/ready`;
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => reader.close(), () => thread.shutdown(), () => query.close());
    await thread.start();
    expect((await fetch(readyUrl)).status).toBe(200);

    // Fill it: sequential requests until one is refused, then 49 more refused ones — bigger, so
    // that none fits in what part-filled pages have left (on a nearly full disk a small write
    // may still pass now and then).
    const refusals: unknown[] = [];
    for (let i = 0; i < 2000 && refusals.length < 50; i++) {
      const r = await thread.consumePayload('otlp-protobuf', payload(refusals.length === 0 ? 1 : 20)).catch((e: unknown) => e);
      if (r instanceof Error) refusals.push(r);
    }
    expect(refusals).toHaveLength(50);
    for (const r of refusals) expect(r).toBeInstanceOf(StorageRefusedError);

    const notReady = await fetch(readyUrl);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/storage refuses writes.*SQLITE_FULL/) });
    // One warning for the 50 refusals (they all fell in one log interval), no stack traces.
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings.map((l) => l.msg)).toEqual(['storage refuses writes; requests are answered 503 and /ready is 503 until a write commits']);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    // The WAL was checkpointed and truncated when the refusals began: it does not hold the disk.
    const walBytes = existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0;
    expect(walBytes).toBeLessThan(statSync(path).size / 4);

    // Space comes back: the next write commits, /ready is 200 again, and the log says so.
    thread.setMaxPageCount(1_000_000);
    await expect(thread.consumePayload('otlp-protobuf', payload())).resolves.toMatchObject({ acceptedSpans: 3 });
    expect((await fetch(readyUrl)).status).toBe(200);
    expect(lines.at(-1)).toMatchObject({ msg: 'storage accepts writes again', refusedWrites: 50 });
  }, 60_000);
});
