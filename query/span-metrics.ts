/**
 * Jaeger's RED metrics (`/api/metrics/{latencies,calls,errors}`, the Monitor tab) computed from
 * the store's per-bucket span metrics, with the semantics of jaeger-query's Prometheus reader:
 * one series per service (and operation with `groupByOperation`), a point every `step` from
 * `endTs − lookback` to `endTs`, each point summarising the spans of the `ratePer` window ending
 * at it:
 * - calls: calls per second over the window (`rate(calls[ratePer])`);
 * - errors: errors / calls over the window (a fraction; no point when the window has no calls);
 * - latencies: the `quantile` of the window's span durations, ms (no point without calls).
 * Pure: no I/O, so the windowing is tested on its own.
 */
import { histogramQuantile, type LatencyHistogram, mergeHistogram } from '../model/latency-histogram.js';
import type { SpanKind } from '../model/span.js';
import type { SpanMetricsBucket } from '../storage/api.js';

export type MetricType = 'latencies' | 'calls' | 'errors';

export interface MetricsParams {
  serviceNames: string[];
  groupByOperation: boolean;
  spanKinds: SpanKind[];
  endMs: number;
  lookbackMs: number;
  stepMs: number;
  ratePerMs: number;
  /** Required for latencies, (0, 1]. */
  quantile?: number;
}

/** OpenMetrics' MetricFamily as jaeger-query serialises it (protobuf JSON: camelCase, RFC 3339 timestamps). */
export interface MetricFamily {
  name: string;
  type: 'GAUGE';
  help: string;
  metrics: {
    labels: { name: string; value: string }[];
    metricPoints: { gaugeValue: { doubleValue: number }; timestamp: string }[];
  }[];
}

/** Prometheus refuses range queries with more points per series than this; so do we. */
export const MAX_POINTS_PER_SERIES = 11_000;

/** The `start … end` evaluation times of a range query (Prometheus' `query_range` grid). */
export function pointTimes(p: Pick<MetricsParams, 'endMs' | 'lookbackMs' | 'stepMs'>): number[] {
  const out: number[] = [];
  for (let t = p.endMs - p.lookbackMs; t <= p.endMs; t += p.stepMs) out.push(t);
  return out;
}

/** protobuf JSON's Timestamp: RFC 3339 in UTC, fractional seconds only when present. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/**
 * jaeger-query's family names and help (its Prometheus reader): with `groupByOperation` it renames
 * `service_…` to `service_operation_…` and appends " & operation" to the help. Jaeger UI keys its
 * operations table by these names, so a grouped answer under the service name shows "No Data".
 */
export function describeFamily(type: MetricType, quantile: number | undefined, groupByOperation: boolean): { name: string; help: string } {
  let d: { name: string; help: string };
  switch (type) {
    case 'latencies': d = { name: 'service_latencies', help: `${(quantile ?? 0).toFixed(2)}th quantile latency, grouped by service` }; break;
    case 'calls': d = { name: 'service_call_rate', help: 'calls/sec, grouped by service' }; break;
    case 'errors': d = { name: 'service_error_rate', help: 'error rate, computed as a fraction of errors/sec over calls/sec, grouped by service' }; break;
  }
  if (!groupByOperation) return d;
  return { name: d.name.replace('service', 'service_operation'), help: `${d.help} & operation` };
}

interface Series { labels: { name: string; value: string }[]; buckets: SpanMetricsBucket[] }

/** Buckets → one series per service (and operation), buckets in time order. */
function groupSeries(buckets: readonly SpanMetricsBucket[], byOperation: boolean): Series[] {
  const series = new Map<string, Series>();
  for (const b of buckets) {
    const key = byOperation ? `${b.serviceName}\u0000${b.operationName}` : b.serviceName;
    let s = series.get(key);
    if (!s) {
      const labels = [{ name: 'service_name', value: b.serviceName }];
      if (byOperation) labels.unshift({ name: 'operation', value: b.operationName }); // sorted by name, as Prometheus returns them
      series.set(key, (s = { labels, buckets: [] }));
    }
    s.buckets.push(b);
  }
  for (const s of series.values()) s.buckets.sort((a, b) => a.startUs - b.startUs);
  return [...series.values()];
}

export function computeMetricFamily(type: MetricType, buckets: readonly SpanMetricsBucket[], p: MetricsParams): MetricFamily {
  const times = pointTimes(p);
  const metrics: MetricFamily['metrics'] = [];
  for (const s of groupSeries(buckets, p.groupByOperation)) {
    const points: MetricFamily['metrics'][number]['metricPoints'] = [];
    // Two cursors over the time-ordered buckets: the window (t − ratePer, t] slides forward.
    let lo = 0;
    let hi = 0;
    for (const t of times) {
      const fromUs = (t - p.ratePerMs) * 1000;
      const toUs = t * 1000;
      while (hi < s.buckets.length && s.buckets[hi].startUs <= toUs) hi++;
      while (lo < hi && s.buckets[lo].startUs <= fromUs) lo++;
      let calls = 0;
      let errors = 0;
      const latency: LatencyHistogram = new Map();
      for (let i = lo; i < hi; i++) {
        const b = s.buckets[i];
        calls += b.calls;
        errors += b.errors;
        if (type === 'latencies') mergeHistogram(latency, b.latency);
      }
      let value: number;
      if (type === 'calls') value = calls / (p.ratePerMs / 1000);
      else if (calls === 0) continue;
      else if (type === 'errors') value = errors / calls;
      else value = histogramQuantile(latency, p.quantile ?? 0.95) / 1000;
      points.push({ gaugeValue: { doubleValue: value }, timestamp: rfc3339(t) });
    }
    metrics.push({ labels: s.labels, metricPoints: points });
  }
  const { name, help } = describeFamily(type, p.quantile, p.groupByOperation);
  return { name, type: 'GAUGE', help, metrics };
}
