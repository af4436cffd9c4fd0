/**
 * A reading connection sees what another connection to the same file writes: the all-in-one
 * server writes from its ingest worker thread and reads on the main thread, each with its own
 * connection. Without the data_version sync the reader would answer from its stale in-memory
 * catalog and search bounds (unknown services, searches that stop before the newest hour).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SpanKind } from '../../model/span.js';
import { HOUR_US, makeCallTrace, makeSpan, newTraceId, nowUs, str } from '../testdata/fixtures.js';
import { openSqliteStorage, type SqliteStorage } from './sqlite-storage.js';

const opened: SqliteStorage[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function pair(): { writer: SqliteStorage; reader: SqliteStorage } {
  const dir = mkdtempSync(join(tmpdir(), 'meshtrace-2conn-'));
  dirs.push(dir);
  const path = join(dir, 'db.sqlite');
  const writer = openSqliteStorage({ path });
  const reader = openSqliteStorage({ path });
  opened.push(reader, writer);
  return { writer, reader };
}

describe('a second connection to the same SQLite file', () => {
  it('reads traces, services, operations, tag searches and dependencies written by the other one after it opened', async () => {
    const { writer, reader } = pair();
    const t = nowUs() - 60_000_000;
    // The reader has seen the empty store (and cached that) before anything is written.
    expect(await reader.reader.getServices()).toEqual([]);
    expect(await reader.reader.findTraceIds({ startTimeMinUs: t - HOUR_US, startTimeMaxUs: t + HOUR_US, limit: 10 })).toEqual([]);

    const call = makeCallTrace({ startTimeUs: t, frontend: 'web', backend: 'billing' });
    const tagged = makeSpan({
      traceId: newTraceId(), service: 'search', name: 'query', kind: SpanKind.SERVER, startTimeUs: t + 5000,
      attributes: [str('request.id', 'req-42')], resourceAttributes: [str('host.name', 'h-1')],
    });
    await writer.writer.writeSpans([...call, tagged]);

    expect(await reader.reader.getServices()).toEqual(['billing', 'search', 'web']);
    expect(await reader.reader.getOperations({ serviceName: 'web' })).toEqual([
      { name: 'GET /', spanKind: 'server' },
      { name: 'call backend', spanKind: 'client' },
    ]);
    const [trace] = await reader.reader.getTraces({ traceIds: [call[0].traceId] });
    expect(trace.spans.map((s) => s.resource.serviceName).sort()).toEqual(['billing', 'web', 'web']);
    const window = { startTimeMinUs: t - HOUR_US, startTimeMaxUs: t + HOUR_US, limit: 10 };
    expect(await reader.reader.findTraceIds({ ...window, serviceName: 'billing' })).toEqual([call[0].traceId]);
    expect(await reader.reader.findTraceIds({ ...window, tags: { 'request.id': 'req-42', 'host.name': 'h-1' } })).toEqual([tagged.traceId]);
    expect(await reader.dependencies.getDependencies({ startUs: t - HOUR_US, endUs: t + HOUR_US })).toEqual([
      { parent: 'web', child: 'billing', callCount: 1, errorCount: 0 },
    ]);
    const red = await reader.spanMetrics.getSpanMetrics({ serviceNames: ['search'], spanKinds: [SpanKind.SERVER], startUs: t - HOUR_US, endUs: t + HOUR_US });
    expect(red.map((b) => [b.serviceName, b.operationName, b.calls])).toEqual([['search', 'query', 1]]);

    // A later trace in a later hour: the reader's search bound (latest start) must move too.
    const later = makeCallTrace({ startTimeUs: t + 2 * HOUR_US, frontend: 'web', backend: 'billing' });
    await writer.writer.writeSpans(later);
    expect(await reader.reader.findTraceIds({ startTimeMinUs: t + HOUR_US, startTimeMaxUs: t + 3 * HOUR_US, limit: 10, serviceName: 'web' }))
      .toEqual([later[0].traceId]);
  });

  it('hides what the other connection purged, services included, once the watermark passes them', async () => {
    const { writer, reader } = pair();
    const old = nowUs() - 10 * HOUR_US;
    const recent = nowUs() - 60_000_000;
    await writer.writer.writeSpans([...makeCallTrace({ startTimeUs: old, frontend: 'legacy', backend: 'gone' }), ...makeCallTrace({ startTimeUs: recent })]);
    expect(await reader.reader.getServices()).toEqual(['backend', 'frontend', 'gone', 'legacy']);
    await writer.purgeOlderThan(recent - HOUR_US);
    expect(await reader.reader.getServices()).toEqual(['backend', 'frontend']);
    expect(await reader.reader.findTraceIds({ startTimeMinUs: old - HOUR_US, startTimeMaxUs: recent + HOUR_US, limit: 10, serviceName: 'legacy' })).toEqual([]);
  });

  it('keeps trace numbers unique when both connections write in turn', async () => {
    const { writer, reader } = pair();
    const t = nowUs() - 60_000_000;
    const a = makeCallTrace({ startTimeUs: t });
    const b = makeCallTrace({ startTimeUs: t + 1000 });
    await writer.writer.writeSpans(a);
    await reader.writer.writeSpans(b); // the "reader" writes after an external commit
    const c = makeCallTrace({ startTimeUs: t + 2000 });
    await writer.writer.writeSpans(c);
    for (const s of [writer, reader]) {
      const traces = await s.reader.getTraces({ traceIds: [a[0].traceId, b[0].traceId, c[0].traceId] });
      expect(traces.map((x) => x.spans.length)).toEqual([3, 3, 3]);
      expect(traces.map((x) => x.traceId)).toEqual([a[0].traceId, b[0].traceId, c[0].traceId]);
    }
  });
});
