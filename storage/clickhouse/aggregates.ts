/**
 * Dependencies and RED span metrics on ClickHouse.
 *
 * Dependencies are computed at query time: the window's child spans joined with their parents
 * (same trace, parent span id). Why not a materialized view: an MV sees only the inserted block,
 * so a parent and child written in different batches (the common case: services export
 * independently; the contract writes the child first) would never meet; an incremental edge
 * table maintained by the writer races between collectors. The join reads the window's spans
 * and their traces' parents; for windows too large for that, a periodic job writing hourly
 * edges (Jaeger's spark-dependencies model) is the next step (README).
 *
 * Span metrics are read from `span_metrics` (a SummingMergeTree fed by a materialized view on
 * first writes), summed per bin at read time since parts merge only eventually.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { DependencyReader, SpanMetricsBucket, SpanMetricsQuery, SpanMetricsReader } from '../api.js';
import type { DependencyLink, SpanKind } from '../../model/span.js';
import type { Schema } from './schema.js';
import { num, rows } from './sql.js';

export const SPAN_METRICS_BUCKET_US = 60_000_000;

export class ClickHouseDependencyReader implements DependencyReader {
  constructor(private readonly client: ClickHouseClient, private readonly schema: Schema) {}

  async getDependencies(q: { startUs: number; endUs: number }): Promise<DependencyLink[]> {
    const spans = this.schema.table('spans');
    const found = await rows<{ parent: string; child: string; calls: unknown; errors: unknown }>(this.client, `
      WITH children AS (
        SELECT trace_id, parent_span_id, service, status_code FROM ${spans}
        WHERE start_us BETWEEN {start:Int64} AND {end:Int64} AND parent_span_id != ''
        ORDER BY version DESC
        LIMIT 1 BY trace_id, span_id, kind)
      SELECT p.service AS parent, c.service AS child, count() AS calls, countIf(c.status_code = 2) AS errors
      FROM children AS c
      INNER JOIN (
        SELECT DISTINCT trace_id, span_id, service FROM ${spans}
        WHERE trace_id IN (SELECT trace_id FROM children)
          -- Parents lie within their traces' time range: prunes partitions (and the key) to
          -- about the window instead of every stored day.
          AND start_us BETWEEN (SELECT min(start_min) FROM ${this.schema.table('trace_index')} WHERE trace_id IN (SELECT trace_id FROM children))
                           AND (SELECT max(start_max) FROM ${this.schema.table('trace_index')} WHERE trace_id IN (SELECT trace_id FROM children))) AS p
      ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
      WHERE p.service != c.service
      GROUP BY parent, child
      ORDER BY parent, child`, { start: q.startUs, end: q.endUs });
    return found.map((r) => ({ parent: r.parent, child: r.child, callCount: num(r.calls), errorCount: num(r.errors) }));
  }
}

export class ClickHouseSpanMetricsReader implements SpanMetricsReader {
  readonly resolutionUs = SPAN_METRICS_BUCKET_US;
  constructor(private readonly client: ClickHouseClient, private readonly schema: Schema) {}

  async getSpanMetrics(q: SpanMetricsQuery): Promise<SpanMetricsBucket[]> {
    if (q.serviceNames.length === 0) return [];
    const params: Record<string, unknown> = {
      services: q.serviceNames,
      first: Math.floor(q.startUs / SPAN_METRICS_BUCKET_US),
      last: Math.floor(q.endUs / SPAN_METRICS_BUCKET_US),
    };
    let kinds = '';
    if (q.spanKinds.length) {
      kinds = 'AND kind IN {kinds:Array(UInt8)}';
      params.kinds = q.spanKinds;
    }
    const found = await rows<{ service: string; name: string; kind: unknown; minute: unknown; bin: unknown; calls: unknown; errors: unknown }>(this.client, `
      SELECT service, name, kind, minute, bin, sum(calls) AS calls, sum(errors) AS errors
      FROM ${this.schema.table('span_metrics')}
      WHERE service IN {services:Array(String)} ${kinds} AND minute BETWEEN {first:Int64} AND {last:Int64}
      GROUP BY service, name, kind, minute, bin
      ORDER BY service, name, kind, minute, bin`, params);
    const out: SpanMetricsBucket[] = [];
    let cur: SpanMetricsBucket | undefined;
    for (const r of found) {
      const kind = num(r.kind) as SpanKind;
      const startUs = num(r.minute) * SPAN_METRICS_BUCKET_US;
      if (!cur || cur.serviceName !== r.service || cur.operationName !== r.name || cur.spanKind !== kind || cur.startUs !== startUs) {
        cur = { serviceName: r.service, operationName: r.name, spanKind: kind, startUs, calls: 0, errors: 0, latency: new Map() };
        out.push(cur);
      }
      const calls = num(r.calls);
      cur.calls += calls;
      cur.errors += num(r.errors);
      cur.latency.set(num(r.bin), calls);
    }
    // ClickHouse orders strings by UTF-8 bytes (code points); JS by UTF-16 units: they differ only
    // between characters above U+FFFF and U+E000–U+FFFF.
    return out;
  }
}
