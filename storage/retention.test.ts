/**
 * The size cap of retention against the real SQLite backend: what it counts (the files on disk,
 * WAL included) and what it must never do (empty a store of data newer than the age limit).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Span } from '../model/span.js';
import { startRetention } from './retention.js';
import { openSqliteStorage, type SqliteStorage } from './sqlite/index.js';
import { HOUR_US, makeCallTrace, nowUs, str } from './testdata/fixtures.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function open(): SqliteStorage {
  const dir = mkdtempSync(join(tmpdir(), 'meshtrace-retention-'));
  const storage = openSqliteStorage({ path: join(dir, 'traces.db') });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => storage.close());
  return storage;
}

/**
 * `batches` × `perBatch` call traces, all within one minute ending `endedAgoUs` ago (a burst, as
 * under load: the cutoff falls inside one hour); trace ids in write order.
 */
async function burst(storage: SqliteStorage, batches: number, perBatch: number, endedAgoUs = 0): Promise<string[]> {
  const ids: string[] = [];
  const start = nowUs() - endedAgoUs - 60_000_000;
  const step = 60_000_000 / (batches * perBatch);
  for (let b = 0; b < batches; b++) {
    const batch: Span[] = [];
    for (let i = 0; i < perBatch; i++) {
      const t = makeCallTrace({ startTimeUs: Math.floor(start + (b * perBatch + i) * step) });
      for (const s of t) s.attributes.push(str('payload', 'x'.repeat(100)), str('i', String(i)));
      ids.push(t[0].traceId);
      batch.push(...t);
    }
    await storage.writer.writeSpans(batch);
  }
  return ids;
}

const stored = async (storage: SqliteStorage, ids: string[]) => (await storage.reader.getTraces({ traceIds: ids })).length;

describe('retention size cap (SQLite)', () => {
  it('never empties a store whose data is all newer than the age limit, even 17× over the cap, and keeps the newest traces', async () => {
    const storage = open();
    const ids = await burst(storage, 20, 500); // 30,000 spans
    const cap = Math.floor(storage.diskBytes() / 17);
    const handle = startRetention({ storage, maxAgeUs: 72 * HOUR_US, maxSizeBytes: cap, intervalMs: 60_000 });
    cleanups.push(() => handle.stop());
    // Repeated runs (as the write-volume checks make them) with the store still over the cap.
    for (let run = 0; run < 5; run++) await handle.runNow();
    expect(storage.storedTraces()).toBeGreaterThan(0);
    const newest = ids.slice(-20);
    expect(await stored(storage, newest)).toBe(newest.length);
    // Oldest first: the first traces written went.
    expect(await stored(storage, ids.slice(0, 100))).toBe(0);
  }, 30_000);

  it('deletes down to the cap less its margin in one run, oldest first, from a burst that ended a while ago', async () => {
    const storage = open();
    // The time since the burst is no measure of its data: a cut proportional to (now − oldest)
    // fell past the newest span and deleted everything.
    const ids = await burst(storage, 20, 500, 30 * 60_000_000);
    await storage.reclaimSpace(); // only data on disk, no WAL: the cut is measured against the data
    const before = storage.storedTraces();
    const cap = Math.floor(storage.diskBytes() / 2);
    const handle = startRetention({ storage, maxAgeUs: 72 * HOUR_US, maxSizeBytes: cap, intervalMs: 60_000 });
    cleanups.push(() => handle.stop());
    await handle.runNow();
    expect(storage.diskBytes()).toBeLessThanOrEqual(cap);
    // Just enough: what is left is most of what fits (the data less the index of the last batches,
    // which no cut inside this minute frees, is ~15 % of the file here; about 22 % of the traces stay) ...
    expect(storage.storedTraces()).toBeGreaterThan(before / 5);
    // ... and it is the newest part, unbroken.
    const kept = (await storage.reader.getTraces({ traceIds: ids })).map((t) => ids.indexOf(t.traceId)).sort((a, b) => a - b);
    expect(kept.at(-1)).toBe(ids.length - 1);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => ids.length - kept.length + i));
  }, 30_000);

  it('counts the WAL: a store over the cap only on disk (data still in its WAL) is brought under it', async () => {
    const storage = open();
    await burst(storage, 10, 500); // stays in the WAL: its auto-checkpoint is far off
    const disk = storage.diskBytes();
    expect(disk).toBeGreaterThan(storage.sizeBytes()); // the WAL is where the data is
    const cap = Math.floor((disk + storage.sizeBytes()) / 2);
    const handle = startRetention({ storage, maxAgeUs: 0, maxSizeBytes: cap, intervalMs: 60_000 });
    cleanups.push(() => handle.stop());
    await handle.runNow();
    expect(storage.diskBytes()).toBeLessThanOrEqual(cap);
  }, 30_000);
});
