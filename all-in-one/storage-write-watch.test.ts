/**
 * StorageWriteWatch over a real SQLite file made full by `maxPageCount`, with its clock in the
 * test's hands so that log intervals pass without waiting.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageRefusedError } from '../collector/index.js';
import { makeCallTrace, nowUs, str } from '../storage/testdata/fixtures.js';
import { openSqliteStorage } from '../storage/sqlite/index.js';
import { type StorageRefusal, StorageWriteWatch } from './storage-write-watch.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const bigTrace = () => {
  const spans = makeCallTrace({ startTimeUs: nowUs() });
  for (const s of spans) s.attributes.push(str('payload', randomBytes(1000).toString('hex')));
  return spans;
};
/**
 * Far more than the room left in part-filled pages once the limit is hit: a write of one trace
 * may still fit there now and then (as on a nearly full disk); one of these cannot.
 */
const tooBig = () => Array.from({ length: 50 }, bigTrace).flat();

describe('StorageWriteWatch', () => {
  it('logs a refusal once per interval with the count since the last line, reports start and end, and passes other errors through', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshtrace-write-watch-'));
    const storage = openSqliteStorage({ path: join(dir, 'db.sqlite'), maxPageCount: 200 });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => storage.close());
    let t = 1_000_000;
    const logs: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
    const changes: Array<StorageRefusal | undefined> = [];
    const watch = new StorageWriteWatch({
      writer: storage.writer,
      checkpointWal: () => storage.checkpointWal(),
      onChange: (r) => changes.push(r),
      logger: {
        warn: (obj, msg) => logs.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
        info: (obj, msg) => logs.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
      },
      logIntervalMs: 10_000,
      nowMs: () => t,
    });

    let first: unknown;
    for (let i = 0; i < 1000 && first === undefined; i++) first = await watch.writeSpans(bigTrace()).then(() => undefined, (e: unknown) => e);
    expect(first).toBeInstanceOf(StorageRefusedError);
    expect(watch.current()).toMatchObject({ reason: expect.stringMatching(/^SQLITE_FULL/), sinceMs: t, refusedWrites: 1 });
    for (let i = 0; i < 9; i++) await expect(watch.writeSpans(tooBig())).rejects.toBeInstanceOf(StorageRefusedError);
    t += 10_000; // one interval later: the next refusal logs the count since the first line
    await expect(watch.writeSpans(tooBig())).rejects.toBeInstanceOf(StorageRefusedError);
    expect(logs.map((l) => [l.level, l.obj.refusedWrites])).toEqual([['warn', 1], ['warn', 10]]);
    expect(logs.every((l) => !('err' in l.obj))).toBe(true); // no stack traces
    expect(changes.map((c) => c?.refusedWrites)).toEqual([1, 11]);

    // An error that is not the storage refusing writes is not the watch's business.
    await expect(watch.writeSpans([{ ...bigTrace()[0], startTimeUs: Number.NaN }])).rejects.not.toBeInstanceOf(StorageRefusedError);

    storage.setMaxPageCount(1_000_000);
    await watch.writeSpans(bigTrace());
    expect(watch.current()).toBeUndefined();
    expect(changes.at(-1)).toBeUndefined();
    expect(logs.at(-1)).toMatchObject({ level: 'info', msg: 'storage accepts writes again', obj: { refusedWrites: 11 } });
  }, 30_000);
});
