import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SpanKind, type Span } from '../../model/span.js';
import { runStorageContract } from '../contract.js';
import { startRetention } from '../retention.js';
import { bySpanId, DAY_US, HOUR_US, MINUTE_US, makeCallTrace, makeRichSpan, makeSpan, newTraceId, nowUs, str } from '../testdata/fixtures.js';
import { openSqliteStorage, type SqliteStorage } from './index.js';
import { Catalog } from './catalog.js';
import { mergeLimits } from './writer.js';

const defaultMergeRows = mergeLimits.rows;

const root = mkdtempSync(join(tmpdir(), 'meshtrace-sqlite-'));
let n = 0;
const freshPath = () => join(root, `db-${++n}`, 'traces.db'); // nested: parent dirs are created
afterAll(() => rmSync(root, { recursive: true, force: true }));

const withMergeEvery = (rows: number) => async () => {
  mergeLimits.rows = rows;
  return openSqliteStorage({ path: freshPath() });
};
// Recent postings merged at the default size (small tests: never), after every batch, and after
// every second batch (searches then read both the recent rows and the posting tables).
runStorageContract('sqlite', withMergeEvery(defaultMergeRows));
runStorageContract('sqlite, recent postings merged after every batch', withMergeEvery(1));
runStorageContract('sqlite, recent postings merged after every second batch', withMergeEvery(2));
afterAll(() => { mergeLimits.rows = defaultMergeRows; });

describe('sqlite storage', () => {
  let storage: SqliteStorage;
  let path: string;
  let now: number;
  beforeEach(() => {
    mergeLimits.rows = defaultMergeRows;
    path = freshPath();
    storage = openSqliteStorage({ path });
    now = nowUs();
  });
  afterEach(async () => {
    await storage.close();
  });
  const window = { startTimeMinUs: 0, startTimeMaxUs: 0, limit: 100 };
  const lastHours = (h: number) => ({ ...window, startTimeMinUs: now - h * HOUR_US, startTimeMaxUs: now + MINUTE_US });

  it('keeps data across close and reopen, including names and pending edges', async () => {
    const rich = makeRichSpan(newTraceId(), now - MINUTE_US);
    const [root1, client, server] = makeCallTrace({ startTimeUs: now - MINUTE_US });
    await storage.writer.writeSpans([rich, server]); // server's parent arrives after reopen
    await storage.close();
    storage = openSqliteStorage({ path, synchronous: 'full' });
    await storage.writer.writeSpans([root1, client]);
    const [t] = await storage.reader.getTraces({ traceIds: [rich.traceId] });
    expect(t.spans).toEqual([rich]);
    expect(await storage.reader.getServices()).toEqual(['backend', 'frontend', 'rich-service']);
    expect(await storage.dependencies.getDependencies({ startUs: now - HOUR_US, endUs: now })).toEqual([
      { parent: 'frontend', child: 'backend', callCount: 1, errorCount: 0 },
    ]);
  });

  it('refuses a file with a pre-release schema version, saying what to do', async () => {
    await storage.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path);
    db.pragma('user_version = 2');
    db.close();
    expect(() => openSqliteStorage({ path })).toThrow(/pre-release build; delete the database file/);
    storage = openSqliteStorage({ path: freshPath() });
  });

  it('upgrades a version-3 file in place: its traces stay, RED metrics start being kept', async () => {
    const old = makeCallTrace({ startTimeUs: now - 1000 });
    await storage.writer.writeSpans(old);
    await storage.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path);
    db.exec('DROP TABLE span_metrics; DROP TABLE span_metrics_recent');
    db.pragma('user_version = 3');
    db.close();
    storage = openSqliteStorage({ path });
    expect(await storage.reader.getTraces({ traceIds: [old[0].traceId] })).toHaveLength(1);
    await storage.writer.writeSpans(makeCallTrace({ startTimeUs: now }));
    const red = await storage.spanMetrics.getSpanMetrics({ serviceNames: ['backend'], spanKinds: [], startUs: now - HOUR_US, endUs: now + HOUR_US });
    expect(red.reduce((n, b) => n + b.calls, 0)).toBe(1);
  });

  it('rejects invalid spans naming the field, and writes nothing of that batch', async () => {
    const good = makeSpan({ traceId: newTraceId(), service: 'good', startTimeUs: now });
    const bad = { ...makeSpan({ traceId: newTraceId(), service: 'bad', startTimeUs: now }), spanId: 'XYZ' };
    await expect(storage.writer.writeSpans([good, bad])).rejects.toThrow(/span\[1\]\.spanId/);
    expect(await storage.reader.getServices()).toEqual([]);
    await storage.writer.writeSpans([good]);
    expect(await storage.reader.getServices()).toEqual(['good']);
  });

  it('rejects bad queries naming the parameter', async () => {
    await expect(storage.reader.findTraceIds({ ...lastHours(1), limit: 0 })).rejects.toThrow(/limit/);
    await expect(storage.reader.getTraces({ traceIds: ['nothex'] })).rejects.toThrow(/traceIds/);
    expect(() => openSqliteStorage({ path: '' })).toThrow(/'path'/);
  });

  it('matches the Jaeger-derived tags span.kind, error and otel.status_code', async () => {
    const [r, c, s] = makeCallTrace({ startTimeUs: now - MINUTE_US, childError: true });
    const ok = makeCallTrace({ startTimeUs: now - MINUTE_US });
    await storage.writer.writeSpans([r, c, s, ...ok]);
    expect(await storage.reader.findTraceIds({ ...lastHours(1), tags: { error: 'true' } })).toEqual([r.traceId]);
    expect(await storage.reader.findTraceIds({ ...lastHours(1), serviceName: 'backend', tags: { 'otel.status_code': 'ERROR' } })).toEqual([r.traceId]);
    expect((await storage.reader.findTraceIds({ ...lastHours(1), serviceName: 'frontend', tags: { 'span.kind': 'client' } })).length).toBe(2);
    expect(await storage.reader.findTraceIds({ ...lastHours(1), serviceName: 'frontend', tags: { error: 'true' } })).toEqual([]);
  });

  it('finds a trace through a span in the window even when the trace starts before it', async () => {
    const t = newTraceId();
    const early = makeSpan({ traceId: t, service: 'long', name: 'batch', startTimeUs: now - 5 * HOUR_US, durationUs: 5 * HOUR_US });
    const late = makeSpan({ traceId: t, service: 'long', name: 'step', parentSpanId: early.spanId, startTimeUs: now - 10 * MINUTE_US, attributes: [str('step', 'last')] });
    await storage.writer.writeSpans([early]);
    await storage.writer.writeSpans([late]);
    expect(await storage.reader.findTraceIds({ ...lastHours(1), serviceName: 'long' })).toEqual([t]);
    expect(await storage.reader.findTraceIds({ ...lastHours(1), tags: { step: 'last' } })).toEqual([t]);
    expect(await storage.reader.findTraceIds({ ...lastHours(1), serviceName: 'long', operationName: 'batch' })).toEqual([]);
    expect(await storage.reader.findTraceIds({ ...lastHours(1), durationMinUs: 4 * HOUR_US })).toEqual([t]);
  });

  it('orders by trace start even when a matching span starts late in its trace', async () => {
    const a = newTraceId();
    const b = newTraceId();
    const spans: Span[] = [
      makeSpan({ traceId: a, service: 'ord', startTimeUs: now - 50 * MINUTE_US }),
      makeSpan({ traceId: a, service: 'ord', startTimeUs: now - 1 * MINUTE_US, attributes: [str('x', '1')] }),
      makeSpan({ traceId: b, service: 'ord', startTimeUs: now - 20 * MINUTE_US, attributes: [str('x', '1')] }),
    ];
    await storage.writer.writeSpans(spans);
    expect(await storage.reader.findTraceIds({ ...lastHours(1), tags: { x: '1' }, limit: 1 })).toEqual([b]);
    expect(await storage.reader.findTraceIds({ ...lastHours(1), tags: { x: '1' } })).toEqual([b, a]);
  });

  it('returns the newest traces first when the duration range drives the search, stopping at the limit', async () => {
    // 46 traces of one service, 6 of them long: the duration range is the smaller source, so it
    // drives the search, which reads its candidates newest first and stops after `limit`. Their
    // durations do not follow their start times, so an early stop in any other order loses some.
    const spans: Span[] = [];
    const long: string[] = [];
    for (let i = 0; i < 46; i++) {
      const traceId = newTraceId();
      const isLong = i % 8 === 3;
      if (isLong) long.push(traceId);
      spans.push(makeSpan({ traceId, service: 'dur', startTimeUs: now - 50 * MINUTE_US + i * MINUTE_US, durationUs: isLong ? 2_000_000 - ((i * 5) % 6) * 100_000 : 1000 }));
    }
    await storage.writer.writeSpans(spans);
    const ids = await storage.reader.findTraceIds({ ...lastHours(1), serviceName: 'dur', durationMinUs: 1_000_000, limit: 3 });
    expect(ids).toEqual(long.slice(-3).reverse());
  });

  it('purges only the old spans of a trace that straddles the cutoff', async () => {
    const t = newTraceId();
    const old = makeSpan({ traceId: t, service: 'straddle', startTimeUs: now - 2 * DAY_US, durationUs: 2 * DAY_US });
    const recent = makeSpan({ traceId: t, service: 'straddle', parentSpanId: old.spanId, startTimeUs: now - MINUTE_US });
    await storage.writer.writeSpans([old, recent]);
    expect(await storage.purgeOlderThan(now - DAY_US)).toBe(1);
    const [trace] = await storage.reader.getTraces({ traceIds: [t] });
    expect(trace.spans).toEqual([recent]);
    expect(await storage.reader.findTraceIds({ ...lastHours(1), durationMaxUs: 1000 })).toEqual([t]);
  });

  it('purges in many small chunks and stays consistent', async () => {
    await storage.close();
    storage = openSqliteStorage({ path, purgeChunkSpans: 2 });
    const old: Span[] = [];
    for (let i = 0; i < 40; i++) old.push(...makeCallTrace({ startTimeUs: now - 2 * DAY_US - i * HOUR_US, childError: i % 4 === 0 }));
    const fresh = makeCallTrace({ startTimeUs: now - MINUTE_US });
    await storage.writer.writeSpans([...old, ...fresh]);
    // A write between chunks must not be lost or block the purge.
    const purging = storage.purgeOlderThan(now - DAY_US);
    const during = makeCallTrace({ startTimeUs: now - 2 * MINUTE_US });
    await storage.writer.writeSpans(during);
    expect(await purging).toBe(120);
    const all = { ...window, startTimeMinUs: now - 5 * DAY_US, startTimeMaxUs: now + MINUTE_US };
    expect((await storage.reader.findTraceIds({ ...all, serviceName: 'backend' })).sort()).toEqual([fresh[0].traceId, during[0].traceId].sort());
    expect(await storage.dependencies.getDependencies({ startUs: now - 5 * DAY_US, endUs: now + MINUTE_US })).toEqual([
      { parent: 'frontend', child: 'backend', callCount: 2, errorCount: 0 },
    ]);
    expect(storage.oldestStartUs()).toBe(during[0].startTimeUs);
  });

  it.each([1, 2, defaultMergeRows])('finds every trace by a value unique to one span (single-entry postings), in and out of the window; merged every %i batches', async (every) => {
    mergeLimits.rows = every;
    // Per-span unique values (ports, request ids) are one-trace terms in their batch: they are
    // stored as narrow single-entry rows, and must stay searchable exactly like the rest.
    const h0 = (Math.floor(now / HOUR_US) - 1) * HOUR_US; // the last full hour
    const traces: { id: string; spans: Span[] }[] = [];
    for (let b = 0; b < 5; b++) {
      const batch: Span[] = [];
      for (let t = 0; t < 4; t++) {
        const id = newTraceId();
        const spans = [0, 1, 2].map((i) => makeSpan({
          traceId: id, service: `uniq-${t}`, startTimeUs: h0 + (b * 10 + t * 2 + i) * 20_000_000,
          attributes: [str('request.id', `${b}-${t}-${i}`), { key: 'network.peer.port', type: 'int64', value: 40_000 + b * 100 + t * 10 + i }],
        }));
        traces.push({ id, spans });
        batch.push(...spans);
      }
      await storage.writer.writeSpans(batch);
    }
    const hour = { ...window, startTimeMinUs: h0, startTimeMaxUs: h0 + HOUR_US - 1 };
    for (const { id, spans } of traces) {
      for (const s of spans) {
        expect(await storage.reader.findTraceIds({ ...hour, tags: { 'request.id': (s.attributes[0].value as string) } })).toEqual([id]);
        expect(await storage.reader.findTraceIds({ ...hour, tags: { 'network.peer.port': String(s.attributes[1].value) } })).toEqual([id]);
      }
    }
    // One value on two spans of a trace 45 minutes apart (one posting, earliest start + spread):
    // found through either span's time, not between them.
    const id = newTraceId();
    const first = makeSpan({ traceId: id, service: 'spread', startTimeUs: h0 + 5 * MINUTE_US, attributes: [str('order.id', 'o-77')] });
    const second = makeSpan({ traceId: id, service: 'spread', startTimeUs: h0 + 50 * MINUTE_US, attributes: [str('order.id', 'o-77')] });
    await storage.writer.writeSpans([first, second]);
    const at = (fromMin: number, toMin: number) => storage.reader.findTraceIds({
      ...window, startTimeMinUs: h0 + fromMin * MINUTE_US, startTimeMaxUs: h0 + toMin * MINUTE_US, tags: { 'order.id': 'o-77' },
    });
    expect(await at(45, 55)).toEqual([id]);
    expect(await at(0, 10)).toEqual([id]);
    expect(await at(10, 40)).toEqual([]);
    // The same span written again (a retry) keeps its single posting searchable.
    await storage.writer.writeSpans([second]);
    expect(await at(45, 55)).toEqual([id]);
    // The same, with the two spans in consecutive batches (entries collapse when merged together).
    const split = newTraceId();
    await storage.writer.writeSpans([{ ...first, traceId: split, attributes: [str('order.id', 'o-88')] }]);
    await storage.writer.writeSpans([{ ...second, traceId: split, attributes: [str('order.id', 'o-88')] }]);
    const at88 = (fromMin: number, toMin: number) => storage.reader.findTraceIds({
      ...window, startTimeMinUs: h0 + fromMin * MINUTE_US, startTimeMaxUs: h0 + toMin * MINUTE_US, tags: { 'order.id': 'o-88' },
    });
    expect(await at88(45, 55)).toEqual([split]);
    expect(await at88(0, 10)).toEqual([split]);
    expect(await at88(10, 40)).toEqual([]);
  });

  it.each([1, 3, defaultMergeRows])('returns the newest traces first when single-entry postings drive the search, stopping at the limit; merged every %i batches', async (every) => {
    mergeLimits.rows = every;
    // One trace per batch: every term of it is a single-entry posting.
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const traceId = newTraceId();
      ids.push(traceId);
      await storage.writer.writeSpans([makeSpan({ traceId, service: 'one-per-batch', startTimeUs: now - 50 * MINUTE_US + ((i * 7) % 30) * MINUTE_US })]);
    }
    const newestFirst = ids.map((id, i) => ({ id, t: (i * 7) % 30 })).sort((a, b) => b.t - a.t).map((x) => x.id);
    expect(await storage.reader.findTraceIds({ ...lastHours(1), serviceName: 'one-per-batch', limit: 5 })).toEqual(newestFirst.slice(0, 5));
    expect(await storage.reader.findTraceIds({ ...lastHours(1), limit: 5 })).toEqual(newestFirst.slice(0, 5));
    expect(await storage.reader.findTraceIds({ ...lastHours(1), serviceName: 'one-per-batch' })).toEqual(newestFirst);
  });

  it('after a batch fails midway, reuses no number interned in it (operations, attribute keys and values)', async () => {
    // The batch interns a service, an operation, a key and a value, then fails: SQLite rolls
    // them back and the next batch's new names get the same numbers. Nothing remembered from
    // the failed batch may point at them.
    const fresh = makeSpan({ traceId: newTraceId(), service: 'fresh-svc', name: 'fresh-op', startTimeUs: now, attributes: [str('fresh.key', 'fresh-value')] });
    const boom = makeSpan({ traceId: newTraceId(), service: 'boom', startTimeUs: now });
    const original = Catalog.prototype.resourceOf;
    const spy = vi.spyOn(Catalog.prototype, 'resourceOf').mockImplementation(function (this: Catalog, ...args: Parameters<Catalog['resourceOf']>) {
      if (args[0].startsWith('["boom"')) throw new Error('injected failure');
      return original.apply(this, args);
    });
    try {
      await expect(storage.writer.writeSpans([fresh, boom])).rejects.toThrow(/injected failure/);
    } finally {
      spy.mockRestore();
    }
    // Same numbers as the failed batch's service and key; same operation name and value.
    const other = makeSpan({ traceId: newTraceId(), service: 'other-svc', name: 'fresh-op', startTimeUs: now, attributes: [str('other.key', 'fresh-value')] });
    await storage.writer.writeSpans([other]);
    await storage.writer.writeSpans([fresh]);
    const back = await storage.reader.getTraces({ traceIds: [fresh.traceId, other.traceId] });
    expect(back.map((t) => t.spans)).toEqual([[fresh], [other]]);
    expect(await storage.reader.findTraceIds({ ...lastHours(1), serviceName: 'fresh-svc', operationName: 'fresh-op', tags: { 'fresh.key': 'fresh-value' } })).toEqual([fresh.traceId]);
  });

  it('purges recent and single-entry postings with their hour', async () => {
    mergeLimits.rows = 1; // into postings_single at once
    await storage.writer.writeSpans([makeSpan({ traceId: newTraceId(), service: 'old', startTimeUs: now - 2 * DAY_US, attributes: [str('request.id', 'r-old')] })]);
    mergeLimits.rows = defaultMergeRows; // these stay in postings_recent
    await storage.writer.writeSpans([makeSpan({ traceId: newTraceId(), service: 'old', startTimeUs: now - 2 * DAY_US, attributes: [str('request.id', 'r-old-2')] })]);
    await storage.writer.writeSpans([makeSpan({ traceId: newTraceId(), service: 'new', startTimeUs: now - MINUTE_US, attributes: [str('request.id', 'r-new')] })]);
    await storage.purgeOlderThan(now - DAY_US);
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path, { readonly: true });
    try {
      const recent = db.prepare('SELECT min(max_bucket) AS lo, count(*) AS n FROM postings_recent').get() as { lo: number; n: number };
      expect(recent.n).toBe(1);
      expect(recent.lo).toBeGreaterThanOrEqual(Math.floor((now - DAY_US) / HOUR_US));
      expect(db.prepare('SELECT count(*) FROM postings_single').pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });

  it('does not find a trace by an operation a rewrite took away', async () => {
    const s1 = makeSpan({ traceId: newTraceId(), service: 'rw', name: 'before', startTimeUs: now - MINUTE_US });
    await storage.writer.writeSpans([s1]);
    await storage.writer.writeSpans([{ ...s1, name: 'after' }]);
    expect(await storage.reader.findTraceIds({ ...lastHours(1), serviceName: 'rw', operationName: 'before' })).toEqual([]);
    expect(await storage.reader.findTraceIds({ ...lastHours(1), serviceName: 'rw', operationName: 'after' })).toEqual([s1.traceId]);
  });

  it('does not find a straddling trace by a service whose spans were purged', async () => {
    const t = newTraceId();
    const cutoff = now - 30 * MINUTE_US;
    // Same hour bucket on both sides of the cutoff where possible: the postings stay behind.
    const old = makeSpan({ traceId: t, service: 'purged-svc', startTimeUs: cutoff - 1000 });
    const kept = makeSpan({ traceId: t, service: 'kept-svc', parentSpanId: old.spanId, startTimeUs: cutoff + 1000 });
    await storage.writer.writeSpans([old, kept]);
    await storage.purgeOlderThan(cutoff);
    expect(await storage.reader.findTraceIds({ ...lastHours(2), serviceName: 'purged-svc' })).toEqual([]);
    expect(await storage.reader.findTraceIds({ ...lastHours(2), serviceName: 'kept-svc' })).toEqual([t]);
  });

  it('hides services and operations seen only before the purge cutoff', async () => {
    await storage.writer.writeSpans(makeCallTrace({ startTimeUs: now - 3 * DAY_US, frontend: 'gone-front', backend: 'gone-back' }));
    await storage.writer.writeSpans([makeSpan({ traceId: newTraceId(), service: 'alive', name: 'live-op', kind: SpanKind.SERVER, startTimeUs: now })]);
    await storage.purgeOlderThan(now - DAY_US);
    expect(await storage.reader.getServices()).toEqual(['alive']);
    expect(await storage.reader.getOperations({ serviceName: 'gone-front' })).toEqual([]);
    await storage.writer.writeSpans(makeCallTrace({ startTimeUs: now, frontend: 'gone-front', backend: 'gone-back' }));
    expect(await storage.reader.getServices()).toEqual(['alive', 'gone-back', 'gone-front']);
  });

  it('re-attributes a rewritten child edge when its status changes', async () => {
    const [r, c, s] = makeCallTrace({ startTimeUs: now - MINUTE_US });
    await storage.writer.writeSpans([r, c, s]);
    await storage.writer.writeSpans([{ ...s, status: { code: 2, message: 'late failure' } }]);
    expect(await storage.dependencies.getDependencies({ startUs: now - HOUR_US, endUs: now })).toEqual([
      { parent: 'frontend', child: 'backend', callCount: 1, errorCount: 1 },
    ]);
    const [t] = await storage.reader.getTraces({ traceIds: [r.traceId] });
    expect(bySpanId(t.spans).map((x) => x.status.message).sort()).toEqual(['', '', 'late failure']);
  });

  describe('retention scheduler', () => {
    const fill = async (hours: number, tracesPerHour: number) => {
      for (let h = 0; h < hours; h++) {
        const batch: Span[] = [];
        for (let i = 0; i < tracesPerHour; i++) {
          const spans = makeCallTrace({ startTimeUs: now - (hours - h) * HOUR_US + i * 1000 });
          for (const s of spans) s.attributes.push(str('payload', 'x'.repeat(200)), str('i', String(i)));
          batch.push(...spans);
        }
        await storage.writer.writeSpans(batch);
      }
    };

    it('deletes by age in the background', async () => {
      const old = makeCallTrace({ startTimeUs: now - 3 * DAY_US });
      const fresh = makeCallTrace({ startTimeUs: now - MINUTE_US });
      await storage.writer.writeSpans([...old, ...fresh]);
      const handle = startRetention({ storage, maxAgeUs: DAY_US, intervalMs: 20 });
      try {
        await vi.waitFor(async () => {
          expect(await storage.reader.getTraces({ traceIds: [old[0].traceId] })).toEqual([]);
        });
        expect(await storage.reader.getTraces({ traceIds: [fresh[0].traceId] })).toHaveLength(1);
      } finally {
        handle.stop();
        await handle.runNow().catch(() => undefined);
      }
    });

    it('deletes the oldest data until under the size cap, and gives the pages back', async () => {
      expect(storage.oldestStartUs()).toBeUndefined();
      await fill(24, 300);
      await storage.reclaimSpace(); // checkpoints the WAL into the file
      const fileBefore = statSync(path).size;
      const before = storage.sizeBytes();
      const oldestBefore = storage.oldestStartUs()!;
      const cap = Math.floor(before / 2);
      const handle = startRetention({ storage, maxAgeUs: 0, maxSizeBytes: cap, intervalMs: 60_000 });
      try {
        const result = await handle.runNow();
        expect(result.removedBySize).toBeGreaterThan(0);
        expect(storage.diskBytes()).toBeLessThanOrEqual(cap); // database + WAL on disk
        expect(storage.oldestStartUs()!).toBeGreaterThan(oldestBefore);
        expect(statSync(path).size).toBeLessThan(fileBefore);
        // The newest hour survives.
        const recent = await storage.reader.findTraceIds({ ...lastHours(1), serviceName: 'backend' });
        expect(recent.length).toBe(100);
      } finally {
        handle.stop();
      }
    });

    it('validates its options naming the field', () => {
      expect(() => startRetention({ storage, maxAgeUs: DAY_US, intervalMs: 0 })).toThrow(/'intervalMs'/);
      expect(() => startRetention({ storage, maxAgeUs: -1, intervalMs: 10 })).toThrow(/'maxAgeUs'/);
    });
  });
});
