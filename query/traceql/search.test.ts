/**
 * searchTraceQL against the real SQLite store: candidates from its indexes, exact evaluation,
 * newest first, the growing candidate rounds and both bounds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Span, SpanKind, StatusCode } from '../../model/span.js';
import { openSqliteStorage, type SqliteStorage } from '../../storage/sqlite/index.js';
import { makeSpan, MINUTE_US, newTraceId, nowUs, str } from '../../storage/testdata/fixtures.js';
import { parseTraceQL } from './parser.js';
import { nextRoundSize, searchTraceQL, type TraceQLSearchOptions } from './search.js';

const dir = mkdtempSync(join(tmpdir(), 'meshtrace-traceql-'));
let storage: SqliteStorage;
const now = nowUs();
/** Trace ids by role, newest last. */
const plainIds: string[] = [];
const matchingIds: string[] = [];

/** A web → api trace; `match` puts `flag=yes` and ERROR status on the SAME api span, otherwise on two different spans. */
function trace(startUs: number, match: boolean): Span[] {
  const traceId = newTraceId();
  (match ? matchingIds : plainIds).push(traceId);
  const root = makeSpan({ traceId, spanId: '1000000000000001', service: 'web', name: 'GET /', kind: SpanKind.SERVER, startTimeUs: startUs, durationUs: 50_000,
    attributes: [str('req', `r${plainIds.length + matchingIds.length}`)] });
  const a = makeSpan({ traceId, spanId: '1000000000000002', parentSpanId: root.spanId, service: 'api', name: 'load', kind: SpanKind.CLIENT,
    startTimeUs: startUs + 1000, durationUs: 10_000, attributes: [str('flag', 'yes')], status: match ? { code: StatusCode.ERROR, message: '' } : undefined });
  const b = makeSpan({ traceId, spanId: '1000000000000003', parentSpanId: root.spanId, service: 'api', name: 'save', kind: SpanKind.CLIENT,
    startTimeUs: startUs + 2000, durationUs: 10_000, status: match ? undefined : { code: StatusCode.ERROR, message: '' } });
  return [root, a, b];
}

beforeAll(async () => {
  storage = openSqliteStorage({ path: join(dir, 'traces.db') });
  // 3 matching traces among 60 that carry both terms (flag=yes, error) on different spans; the
  // matches are the OLDEST, so the first candidate round (2 × limit) cannot find them all.
  const spans: Span[] = [];
  for (let i = 0; i < 63; i++) spans.push(...trace(now - 30 * MINUTE_US + i * 1000, i < 3));
  await storage.writer.writeSpans(spans);
});
afterAll(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

const opts = (o: Partial<TraceQLSearchOptions> = {}): TraceQLSearchOptions => ({
  startUs: now - 3600 * 1_000_000, endUs: now, limit: 20, maxScanSpans: 1_000_000, maxCandidates: 10_000, ...o,
});

describe('searchTraceQL on SQLite', () => {
  it('finds exactly the traces whose one span has both conditions, newest first, in several candidate rounds', async () => {
    const r = await searchTraceQL(storage.reader, parseTraceQL('{ .flag = "yes" && status = error }'), opts({ limit: 5 }));
    expect(r.matches.map((m) => m.index.trace.traceId)).toEqual([...matchingIds].reverse());
    expect(r.matches.every((m) => m.spans.length === 1 && m.spans[0].name === 'load')).toBe(true);
    // Candidates: traces carrying both terms anywhere (all 63): more than the first round's 10.
    expect(r.inspectedTraces).toBe(63);
    expect(r.narrowedBy).toEqual(['tag flag=yes', 'tag error=true']);
    expect(r.stoppedEarly).toBeUndefined();
  });

  it('stops at limit with the most recent matches', async () => {
    const r = await searchTraceQL(storage.reader, parseTraceQL('{ resource.service.name = "api" && name = "save" && status = error }'), opts({ limit: 4 }));
    expect(r.matches.map((m) => m.index.trace.traceId)).toEqual(plainIds.slice(-4).reverse());
    expect(r.narrowedBy).toEqual(['service+operation api/save', 'tag error=true']);
  });

  it('answers structural queries over the whole trace', async () => {
    const r = await searchTraceQL(storage.reader, parseTraceQL('{ kind = server } > { status = error && name = "load" }'), opts());
    expect(r.matches.map((m) => m.index.trace.traceId).sort()).toEqual([...matchingIds].sort());
  });

  it('rules candidates out on their span skeletons before reading them whole, with the same answer as without', async () => {
    const q = parseTraceQL('{ kind = server } > { status = error && name = "load" }');
    const r = await searchTraceQL(storage.reader, q, opts());
    // The 60 plain traces have their error on `save`: their skeletons rule them out.
    expect(r.skeletonRejected).toBe(60);
    expect(r.inspectedTraces).toBe(63);
    expect(r.inspectedSpans).toBe(9); // only the 3 matches were read whole
    const { getTraceSkeletons: _, ...withoutSkeletons } = storage.reader;
    const plain = await searchTraceQL(withoutSkeletons, q, opts());
    expect(plain.skeletonRejected).toBe(0);
    expect(plain.inspectedSpans).toBe(63 * 3);
    expect(r.matches.map((m) => m.index.trace.traceId)).toEqual(plain.matches.map((m) => m.index.trace.traceId));
    expect(r.matches.map((m) => m.index.trace.traceId).sort()).toEqual([...matchingIds].sort());
  });

  it('answers a spanset || from the union of both sides\' index candidates, newest first', async () => {
    const r = await searchTraceQL(storage.reader, parseTraceQL('{ .req = "r5" } || { .req = "r40" && kind = server }'), opts());
    // Trace i carries req=r(i+1): r5 is trace 4 (the 2nd plain one), r40 trace 39; trace 39 is newer.
    expect(r.matches.map((m) => m.index.trace.traceId)).toEqual([plainIds[36], plainIds[1]]);
    expect(r.inspectedTraces).toBe(2);
    expect(r.narrowedBy).toEqual(['tag req=r5 | tag req=r40, tag span.kind=server']);
  });

  it('keeps the newest matches across a union whose candidates need several rounds', async () => {
    // Both sides match many traces; with limit 2 and 10 per round the union is cut by the threshold.
    const r = await searchTraceQL(storage.reader, parseTraceQL('{ .flag = "yes" && status = error } || { name = "save" && status = error }'), opts({ limit: 2 }));
    expect(r.matches.map((m) => m.index.trace.traceId)).toEqual(plainIds.slice(-2).reverse());
  });

  it('says when the candidate bound ended the search', async () => {
    const r = await searchTraceQL(storage.reader, parseTraceQL('{ .flag = "yes" && status = error }'), opts({ limit: 5, maxCandidates: 30 }));
    expect(r.matches).toHaveLength(0); // the 3 matches are the 3 oldest of 63 candidates
    expect(r.inspectedTraces).toBe(30);
    expect(r.stoppedEarly).toMatch(/search stopped after 30 candidate traces/);
  });

  it('says when the scanned-span bound ended the search', async () => {
    const r = await searchTraceQL(storage.reader, parseTraceQL('{ .flag = "yes" && status = error }'), opts({ limit: 5, maxScanSpans: 90 }));
    expect(r.inspectedSpans).toBe(90);
    expect(r.matches).toHaveLength(0);
    expect(r.stoppedEarly).toMatch(/search stopped after reading 90 spans/);
  });
});

describe('SQLite findCandidateTraceIds (unconfirmed candidates)', () => {
  it('returns a superset of findTraceIds, newest first, with the prefix property', async () => {
    // flag=yes is on an api span, never on a web span: the exact search finds nothing.
    const q = { serviceName: 'web', tags: { flag: 'yes' }, startTimeMinUs: now - 3600 * 1_000_000, startTimeMaxUs: now, limit: 20 };
    expect(await storage.reader.findTraceIds(q)).toEqual([]);
    const all = [...plainIds, ...matchingIds];
    const newest = [...plainIds].reverse().slice(0, 20); // plain traces are the newest 60
    const candidates = await storage.reader.findCandidateTraceIds!(q);
    expect(candidates).toEqual(newest);
    expect(await storage.reader.findCandidateTraceIds!({ ...q, limit: 10 })).toEqual(newest.slice(0, 10));
    expect(all).toEqual(expect.arrayContaining(candidates));
  });
});

describe('SQLite getTraceSkeletons', () => {
  it('returns each span\'s columns as getTraces has them, in the same order, without unknown ids', async () => {
    const ids = [matchingIds[0], '0'.repeat(32), plainIds[5]];
    const [whole, skeletons] = [await storage.reader.getTraces({ traceIds: ids }), await storage.reader.getTraceSkeletons!({ traceIds: ids })];
    expect(skeletons.map((t) => t.traceId)).toEqual([matchingIds[0], plainIds[5]]);
    expect(skeletons).toEqual(whole.map((t) => ({
      traceId: t.traceId,
      spans: t.spans.map((sp) => ({
        spanId: sp.spanId, parentSpanId: sp.parentSpanId, name: sp.name, kind: sp.kind, statusCode: sp.status.code, startTimeUs: sp.startTimeUs,
        durationUs: sp.durationUs, serviceName: sp.resource.serviceName, serviceAttribute: sp.resource.attributes.find((a) => a.key === 'service.name'),
      })),
    })));
    expect(skeletons[0].spans[1]).toMatchObject({ name: 'load', kind: SpanKind.CLIENT, statusCode: StatusCode.ERROR, serviceAttribute: { key: 'service.name', value: 'api' } });
    // Traces larger than maxSpansPerTrace (each has 3 spans) are left out.
    expect(await storage.reader.getTraceSkeletons!({ traceIds: ids, maxSpansPerTrace: 2 })).toEqual([]);
    expect(await storage.reader.getTraceSkeletons!({ traceIds: ids, maxSpansPerTrace: 3 })).toEqual(skeletons);
  });

  it('reads whole, under the scan bound, a candidate too large for what is left of it', async () => {
    // 6 spans left after the first two traces: the third (3 spans) gets a skeleton, and so on;
    // with 2 left the next one has none and is read whole, cut by the budget: the search stops.
    const r = await searchTraceQL(storage.reader, parseTraceQL('{ kind = server } > { status = error && name = "load" }'), opts({ maxScanSpans: 8 }));
    expect(r.inspectedSpans).toBe(6);
    expect(r.matches).toHaveLength(2);
    expect(r.stoppedEarly).toMatch(/search stopped after reading 8 spans/);
  });
});

describe('nextRoundSize', () => {
  it('sizes the next round from the match rate, within ×2…×16, ×8 with no match', () => {
    expect(nextRoundSize(40, 40, 0, 20)).toBe(320);
    expect(nextRoundSize(40, 40, 2, 20)).toBe(40 + 540); // 18 more at 1 in 20, 50 % to spare
    expect(nextRoundSize(40, 40, 19, 20)).toBe(80); // nearly there: at least ×2
    expect(nextRoundSize(40, 40, 1, 100)).toBe(640); // at most ×16
  });
});
