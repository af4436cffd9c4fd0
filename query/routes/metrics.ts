/**
 * `/api/metrics/{latencies,calls,errors}` and `/api/metrics/minstep`: jaeger-query's metrics API
 * (Jaeger UI's Monitor tab, Grafana's Jaeger data source), answered from the store's span metrics
 * with jaeger-query's parameters, defaults and error wording. Without a span-metrics reader the
 * routes answer 501, as jaeger-query does with its metrics store disabled.
 */
import type { FastifyPluginAsync } from 'fastify';
import { SpanKind, spanKindFromName } from '../../model/span.js';
import type { SpanMetricsReader } from '../../storage/api.js';
import { envelope } from '../envelope.js';
import { BadRequestError, NotImplementedError } from '../errors.js';
import { checkCount, durationMsParam, timeMsParam } from '../limits.js';
import { all, one, type QueryString } from '../query-params.js';
import { computeMetricFamily, MAX_POINTS_PER_SERIES, type MetricsParams, type MetricType } from '../span-metrics.js';

/** jaeger-query's defaults (cmd/query/app/default_params.go). */
const DEFAULT_LOOKBACK_MS = 3_600_000;
const DEFAULT_STEP_MS = 5_000;
const DEFAULT_RATE_PER_MS = 600_000;
const MAX_SERVICES = 100;


const parseError = (name: string, why: string) => new BadRequestError(`unable to parse param '${name}': ${why}`);

/** Go's strconv.ParseBool. */
function goBool(q: QueryString, name: string): boolean {
  const raw = one(q, name);
  if (raw === undefined) return false;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
  throw parseError(name, `strconv.ParseBool: parsing "${raw}": invalid syntax`);
}

/** `lookback`, `step`, `ratePer`: 1 ms to 100 years (query/limits.ts). */
function positiveMs(q: QueryString, name: string, fallback: number): number {
  return durationMsParam(q, name, 1) ?? fallback;
}

/** `spanKind` accepts Jaeger UI's `server` and the API's `SPAN_KIND_SERVER`, repeatable; default server. */
function spanKinds(q: QueryString): SpanKind[] {
  const raw = all(q, 'spanKind');
  if (raw.length === 0) return [SpanKind.SERVER];
  return raw.map((k) => {
    const kind = spanKindFromName(k.replace(/^SPAN_KIND_/i, ''));
    if (kind === undefined || k === '') throw parseError('spanKind', `unsupported span kind: '${k}'`);
    return kind;
  });
}

export function parseMetricsParams(q: QueryString, type: MetricType, nowMs = Date.now()): MetricsParams {
  const serviceNames = all(q, 'service').filter((s) => s !== '');
  if (serviceNames.length === 0) throw parseError('service', 'please provide at least one service name');
  // Each service is one more range of the metrics table to read; Jaeger UI asks for one.
  checkCount('service', serviceNames.length, MAX_SERVICES);
  let quantile: number | undefined;
  if (type === 'latencies') {
    const raw = one(q, 'quantile') ?? '';
    quantile = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
    if (Number.isNaN(quantile)) throw parseError('quantile', `strconv.ParseFloat: parsing "${raw}": invalid syntax`);
    if (!(quantile > 0 && quantile <= 1)) throw parseError('quantile', `must be in (0, 1], got ${raw}`);
  }
  const p: MetricsParams = {
    serviceNames,
    groupByOperation: goBool(q, 'groupByOperation'),
    spanKinds: spanKinds(q),
    endMs: timeMsParam(q, 'endTs') ?? nowMs,
    lookbackMs: positiveMs(q, 'lookback', DEFAULT_LOOKBACK_MS),
    stepMs: positiveMs(q, 'step', DEFAULT_STEP_MS),
    ratePerMs: positiveMs(q, 'ratePer', DEFAULT_RATE_PER_MS),
    quantile,
  };
  if (p.lookbackMs / p.stepMs + 1 > MAX_POINTS_PER_SERIES) {
    throw new BadRequestError(`exceeded maximum resolution of ${MAX_POINTS_PER_SERIES} points per timeseries. Try decreasing the query resolution (?step=XX)`);
  }
  return p;
}

export const metricsRoutes: FastifyPluginAsync<{ spanMetrics?: SpanMetricsReader }> = async (app, { spanMetrics }) => {
  for (const type of ['latencies', 'calls', 'errors'] as const) {
    app.get<{ Querystring: QueryString }>(`/api/metrics/${type}`, async (req) => {
      if (!spanMetrics) throw new NotImplementedError('metrics querying is currently disabled');
      const p = parseMetricsParams(req.query, type);
      const buckets = await spanMetrics.getSpanMetrics({
        serviceNames: p.serviceNames,
        spanKinds: p.spanKinds,
        startUs: (p.endMs - p.lookbackMs - p.ratePerMs) * 1000,
        endUs: p.endMs * 1000,
      });
      return computeMetricFamily(type, buckets, p);
    });
  }
  app.get('/api/metrics/minstep', async () => {
    if (!spanMetrics) throw new NotImplementedError('metrics querying is currently disabled');
    return envelope(Math.round(spanMetrics.resolutionUs / 1000));
  });
};
