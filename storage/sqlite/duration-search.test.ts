/**
 * Duration searches over enough traces that the planner walks traces by start time
 * (search.ts, START_SCAN_MIN) rather than collecting the duration range: the result must be the
 * same as a brute-force filter — newest first, limit respected, window and service honoured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind } from '../../model/span.js';
import { makeSpan, newTraceId, nowUs } from '../testdata/fixtures.js';
import type { Span } from '../../model/span.js';
import { openSqliteStorage, type SqliteStorage } from './sqlite-storage.js';

const TRACES = 6000;
let dir: string;
let storage: SqliteStorage;
const roots: Span[] = [];
const t0 = nowUs() - 3_600_000_000;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtrace-duration-'));
  storage = openSqliteStorage({ path: join(dir, 'db.sqlite') });
  let batch: Span[] = [];
  for (let i = 0; i < TRACES; i++) {
    // Durations 1–100 ms in a fixed pattern; 90 % of the traces in service a, the rest in b; 0.5 s apart.
    const durationUs = ((i * 37) % 100 + 1) * 1000;
    const root = makeSpan({ traceId: newTraceId(), service: i % 10 === 0 ? 'b' : 'a', name: 'op', kind: SpanKind.SERVER, startTimeUs: t0 + i * 500_000, durationUs });
    roots.push(root);
    batch.push(root);
    if (batch.length === 1000) {
      await storage.writer.writeSpans(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await storage.writer.writeSpans(batch);
});
afterAll(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

function expected(q: { service?: string; min: number; max: number; from: number; to: number; limit: number }): string[] {
  return roots
    .filter((s) => (q.service === undefined || s.resource.serviceName === q.service)
      && s.durationUs >= q.min && s.durationUs <= q.max
      && s.startTimeUs <= q.to && s.startTimeUs + s.durationUs >= q.from)
    .sort((x, y) => y.startTimeUs - x.startTimeUs)
    .slice(0, q.limit)
    .map((s) => s.traceId);
}

describe('duration search over a common duration range', () => {
  const all = { from: t0 - 1, to: t0 + TRACES * 500_000 };
  // The first three have a duration range of ≥ 2,000 traces that is more selective than the term:
  // the start-time walk. The others take the other plans and must agree too.
  const cases = [
    { name: 'no service, 40–80 ms, whole time', service: undefined, min: 40_000, max: 80_000, ...all, limit: 20 },
    { name: 'service a + 40–80 ms, whole time', service: 'a', min: 40_000, max: 80_000, ...all, limit: 20 },
    { name: 'no service, ≥ 30 ms, limit 100', service: undefined, min: 30_000, max: Number.MAX_SAFE_INTEGER, ...all, limit: 100 },
    { name: 'service b + 10–90 ms, a window in the middle', service: 'b', min: 10_000, max: 90_000, from: t0 + 1000 * 500_000, to: t0 + 1200 * 500_000, limit: 50 },
    { name: 'service a + 40–60 ms (a rarer range)', service: 'a', min: 40_000, max: 60_000, ...all, limit: 20 },
    { name: 'a window before every trace', service: 'a', min: 1000, max: 100_000, from: t0 - 10_000_000, to: t0 - 5_000_000, limit: 20 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const ids = await storage.reader.findTraceIds({
        serviceName: c.service, durationMinUs: c.min, durationMaxUs: c.max === Number.MAX_SAFE_INTEGER ? undefined : c.max,
        startTimeMinUs: c.from, startTimeMaxUs: c.to, limit: c.limit,
      });
      expect(ids).toEqual(expected(c));
    });
    // Unconfirmed (TraceQL's candidates), the term drives unless the range is far smaller (search.ts,
    // CONFIRM_WEIGHT); one span per trace, so the candidates are exact here too.
    it(`${c.name}: unconfirmed candidates, service as a tag`, async () => {
      const ids = await storage.reader.findCandidateTraceIds!({
        tags: c.service === undefined ? undefined : { 'service.name': c.service }, durationMinUs: c.min,
        durationMaxUs: c.max === Number.MAX_SAFE_INTEGER ? undefined : c.max, startTimeMinUs: c.from, startTimeMaxUs: c.to, limit: c.limit,
      });
      expect(ids).toEqual(expected(c));
    });
  }
});
