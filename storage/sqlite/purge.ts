/**
 * Retention for the SQLite backend: delete spans that started before a cutoff, in bounded chunks.
 *
 * Each chunk is one transaction touching about `chunkSpans` spans; between chunks the caller
 * yields to the event loop so ingest and queries interleave. What stays consistent:
 * - `traces`: a trace entirely before the cutoff loses its summary; one that straddles it keeps
 *   its newer spans and gets its summary recomputed.
 * - `dependencies`: hour buckets wholly before the cutoff are dropped; in the hour that holds the
 *   cutoff each deleted child span's edge is decremented (parent looked up in the same trace).
 * - `postings`, `postings_single`: hour buckets wholly before the cutoff are dropped (in chunks);
 *   in the cutoff's hour, blocks and single entries whose spans all started before the cutoff go
 *   too (without that, a size cap inside one hour could never be met: the hour's index stayed
 *   whole however many spans were deleted, and the size loop went on until no span was left).
 *   Mixed blocks may point at deleted spans; searches confirm every candidate against the spans,
 *   so those never surface.
 * - `pending_edges`: rows of deleted children go with them.
 * - `span_metrics`: figures still in `span_metrics_recent` are merged first, then minutes wholly
 *   before the cutoff are dropped; the one holding the cutoff keeps the figures of its deleted spans.
 * - services/operations: hidden from listings once last seen before the watermark (catalog.ts).
 */
import { StatusCode } from '../../model/span.js';
import type { Catalog } from './catalog.js';
import type { OldTraceRow, SpanRow, Statements } from './queries.js';
import { hourOf, HOUR_US } from './schema.js';
import { mergeRecentMetrics, metricsBucketOf } from './span-metrics.js';
import { spanIdOfKey } from './writer.js';

export interface PurgeChunkResult { removedSpans: number; done: boolean }

/** Deletes up to about `chunkSpans` old spans (whole traces, so a large trace may exceed it). */
export function purgeSpansChunk(st: Statements, catalog: Catalog, cutoffUs: number, chunkSpans: number): PurgeChunkResult {
  const boundaryHourStart = hourOf(cutoffUs) * HOUR_US;
  const traces = st.oldTraces.all(cutoffUs, 256) as OldTraceRow[];
  let removed = 0;
  const deps = new Map<string, [number, number, number, number, number]>();
  let processed = 0;
  for (const t of traces) {
    if (removed >= chunkSpans) break;
    processed++;
    // Exact dependency decrements are needed only for spans in the cutoff's hour: older hours
    // are dropped wholesale below.
    if (t.end_us >= boundaryHourStart) {
      const rows = st.traceSpans.all(t.id) as SpanRow[];
      const svcOf = new Map<string, number>();
      // Keyed by the 8-byte id; for a shared client/server id the server half wins, as on write.
      const byLength = [...rows].sort((a, b) => a.span_id.length - b.span_id.length);
      for (const r of byLength) svcOf.set(spanIdOfKey(r.span_id).toString('latin1'), catalog.operationById(r.op_id)!.serviceId);
      for (const r of rows) {
        if (r.start_us >= cutoffUs || r.start_us < boundaryHourStart || !r.parent_id) continue;
        const parentSvc = svcOf.get(r.parent_id.toString('latin1'));
        const childSvc = catalog.operationById(r.op_id)!.serviceId;
        if (parentSvc === undefined || parentSvc === childSvc) continue;
        const bucket = hourOf(r.start_us);
        const key = `${bucket}:${parentSvc}:${childSvc}`;
        const err = r.status === StatusCode.ERROR ? 1 : 0;
        const d = deps.get(key);
        if (d) { d[3]--; d[4] -= err; } else deps.set(key, [bucket, parentSvc, childSvc, -1, -err]);
      }
    }
    if (t.end_us < cutoffUs) {
      removed += st.deleteTraceSpans.run(t.id).changes;
      st.deleteSummary.run(t.id);
      st.deleteMoved.run(t.id);
    } else {
      removed += st.deleteOldSpans.run(t.id, cutoffUs).changes;
      // Every span may have been older even though the trace ended later (a long span).
      if ((st.countTraceSpans.get(t.id) as number) === 0) {
        st.deleteSummary.run(t.id);
        st.deleteMoved.run(t.id);
      } else st.recomputeSummary.run(t.id, t.id);
    }
    st.deleteOldPending.run(t.id, cutoffUs);
  }
  for (const [bucket, p, c, calls, errors] of deps.values()) {
    st.addDependency.run(bucket, p, c, calls, errors);
    st.deleteEmptyDependency.run(bucket, p, c);
  }
  return { removedSpans: removed, done: processed === traces.length && traces.length < 256 };
}

/** Drops index rows of hours wholly before the cutoff; true when nothing is left to drop. */
export function purgeIndexChunk(st: Statements, catalog: Catalog, cutoffUs: number, chunkRows: number): boolean {
  mergeRecentMetrics(st.spanMetrics, (opId) => catalog.operationById(opId)?.serviceId);
  const bucket = hourOf(cutoffUs);
  st.deleteDependenciesBefore.run(bucket);
  st.spanMetrics.deleteBefore.run(metricsBucketOf(cutoffUs));
  st.deleteOldRecent.run(bucket);
  if (st.deletePostingsChunk.run(bucket, chunkRows).changes >= chunkRows) return false;
  if (st.deleteSinglesChunk.run(bucket, chunkRows).changes >= chunkRows) return false;
  // One statement each, over the cutoff hour's rows only (a scan of that hour's index).
  const offset = cutoffUs - bucket * HOUR_US;
  st.deleteOldBlocksOfHour.run(bucket, offset);
  st.deleteOldSinglesOfHour.run(bucket, offset);
  return true;
}
