/**
 * The Monitor page's data plumbing, pure: which step and rate window to ask for, and the
 * MetricFamily → series / table conversions (Jaeger UI's Monitor tab reads the same API).
 */
import type { MetricFamily } from './api.js';

export interface Series { label: string; points: { t: number; v: number }[] }

/**
 * A point per minute for an hour, coarser for longer ranges (≈ 60 points); each point covers
 * the `ratePer` window before it: ten minutes as Jaeger UI asks, less for short ranges so a
 * 15-minute view is not one flat average.
 */
export function monitorWindow(lookbackMs: number): { stepMs: number; ratePerMs: number } {
  const stepMs = Math.max(60_000, Math.round(lookbackMs / 60 / 60_000) * 60_000);
  const ratePerMs = Math.min(600_000, Math.max(stepMs, Math.round(lookbackMs / 6 / 60_000) * 60_000));
  return { stepMs, ratePerMs };
}

export function metricsQuery(o: { service: string; spanKind: string; endMs: number; lookbackMs: number; groupByOperation?: boolean; quantile?: number }): string {
  const { stepMs, ratePerMs } = monitorWindow(o.lookbackMs);
  const p = new URLSearchParams({
    service: o.service, spanKind: o.spanKind, endTs: String(o.endMs), lookback: String(o.lookbackMs),
    step: String(stepMs), ratePer: String(ratePerMs),
  });
  if (o.groupByOperation) p.set('groupByOperation', 'true');
  if (o.quantile !== undefined) p.set('quantile', String(o.quantile));
  return p.toString();
}

const label = (m: MetricFamily['metrics'][number], name: string) => m.labels.find((l) => l.name === name)?.value ?? '';

/** One series per metric of the family (by `labelName`), values scaled by `scale`. */
export function toSeries(f: MetricFamily, labelName: string, scale = 1, prefix = ''): Series[] {
  return f.metrics.map((m) => ({
    label: prefix || label(m, labelName),
    points: m.metricPoints.map((p) => ({ t: Date.parse(p.timestamp), v: p.gaugeValue.doubleValue * scale })),
  }));
}

/** The newest value of each operation's series. */
export function latestByOperation(f: MetricFamily): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of f.metrics) {
    const last = m.metricPoints.at(-1);
    if (last) out.set(label(m, 'operation'), last.gaugeValue.doubleValue);
  }
  return out;
}

export interface OperationRow { operation: string; p95Ms?: number; perSecond?: number; errorRate?: number }

/** The operations table: newest p95, request rate and error rate per operation, busiest first. */
export function operationRows(latency: MetricFamily, calls: MetricFamily, errors: MetricFamily): OperationRow[] {
  const p95 = latestByOperation(latency);
  const rate = latestByOperation(calls);
  const err = latestByOperation(errors);
  const names = new Set([...p95.keys(), ...rate.keys(), ...err.keys()]);
  return [...names]
    .map((operation) => ({ operation, p95Ms: p95.get(operation), perSecond: rate.get(operation), errorRate: err.get(operation) }))
    .sort((a, b) => (b.perSecond ?? 0) - (a.perSecond ?? 0) || a.operation.localeCompare(b.operation));
}
