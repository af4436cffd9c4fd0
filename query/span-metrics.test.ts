import { describe, expect, it } from 'vitest';
import { latencyBin } from '../model/latency-histogram.js';
import { SpanKind } from '../model/span.js';
import type { SpanMetricsBucket } from '../storage/api.js';
import { computeMetricFamily, type MetricsParams, pointTimes, rfc3339 } from './span-metrics.js';
import { parseMetricsParams } from './routes/metrics.js';

const END_MS = Date.UTC(2026, 10, 25, 12, 0, 0);

/** A bucket starting `agoS` seconds before END with `calls` spans of `ms` each, `errors` of them failed. */
function bucket(agoS: number, calls: number, ms: number, o: { errors?: number; op?: string; service?: string } = {}): SpanMetricsBucket {
  return {
    serviceName: o.service ?? 'svc', operationName: o.op ?? 'GET /', spanKind: SpanKind.SERVER,
    startUs: END_MS * 1000 - agoS * 1_000_000, calls, errors: o.errors ?? 0,
    latency: new Map([[latencyBin(ms * 1000), calls]]),
  };
}
const params = (p: Partial<MetricsParams> = {}): MetricsParams => ({
  serviceNames: ['svc'], groupByOperation: false, spanKinds: [SpanKind.SERVER],
  endMs: END_MS, lookbackMs: 120_000, stepMs: 60_000, ratePerMs: 60_000, ...p,
});

describe('RED metrics from span-metric buckets', () => {
  it('puts a point every step from endTs − lookback to endTs, in protobuf-JSON timestamps', () => {
    expect(pointTimes(params())).toEqual([END_MS - 120_000, END_MS - 60_000, END_MS]);
    expect(rfc3339(END_MS)).toBe('2026-11-25T12:00:00Z');
    expect(rfc3339(END_MS + 250)).toBe('2026-11-25T12:00:00.250Z');
  });

  it('calls: spans per second over the ratePer window ending at each point; 0 where the series has none', () => {
    // 120 spans in the minute before END, 30 in the minute before that.
    const buckets = [bucket(100, 30, 5), bucket(50, 60, 5), bucket(20, 60, 5)];
    const f = computeMetricFamily('calls', buckets, params());
    expect(f).toMatchObject({ name: 'service_call_rate', type: 'GAUGE', help: 'calls/sec, grouped by service' });
    expect(f.metrics).toHaveLength(1);
    expect(f.metrics[0].labels).toEqual([{ name: 'service_name', value: 'svc' }]);
    expect(f.metrics[0].metricPoints.map((p) => p.gaugeValue.doubleValue)).toEqual([0, 0.5, 2]);
    // A wider window averages over more time.
    expect(computeMetricFamily('calls', buckets, params({ ratePerMs: 120_000 })).metrics[0].metricPoints.at(-1)!.gaugeValue.doubleValue).toBe(150 / 120);
  });

  it('errors: the fraction of calls that failed, no point for a window without calls', () => {
    const f = computeMetricFamily('errors', [bucket(50, 10, 5, { errors: 1 }), bucket(20, 10, 5, { errors: 4 })], params());
    expect(f.name).toBe('service_error_rate');
    expect(f.metrics[0].metricPoints).toEqual([{ gaugeValue: { doubleValue: 0.25 }, timestamp: '2026-11-25T12:00:00Z' }]);
  });

  it('latencies: the quantile of the window’s durations in ms, within a histogram bin (≤ 9 %)', () => {
    const buckets = [bucket(55, 90, 10), bucket(30, 9, 100), bucket(10, 1, 2000)];
    const at = (q: number) => computeMetricFamily('latencies', buckets, params({ quantile: q })).metrics[0].metricPoints.at(-1)!.gaugeValue.doubleValue;
    expect(computeMetricFamily('latencies', buckets, params({ quantile: 0.95 })).help).toBe('0.95th quantile latency, grouped by service');
    for (const [q, ms] of [[0.5, 10], [0.95, 100], [1, 2000]] as const) {
      expect(at(q)).toBeGreaterThan(ms / 1.1);
      expect(at(q)).toBeLessThan(ms * 1.1);
    }
  });

  it('groupByOperation: one series per service and operation, labels sorted by name', () => {
    const f = computeMetricFamily('calls', [bucket(5, 6, 1, { op: 'GET /a' }), bucket(5, 12, 1, { op: 'GET /b' }), bucket(5, 60, 1, { service: 'web', op: 'GET /a' })], params({ groupByOperation: true, serviceNames: ['svc', 'web'] }));
    expect({ name: f.name, help: f.help }).toEqual({ name: 'service_operation_call_rate', help: 'calls/sec, grouped by service & operation' });
    expect(f.metrics.map((m) => [m.labels, m.metricPoints.at(-1)!.gaugeValue.doubleValue])).toEqual([
      [[{ name: 'operation', value: 'GET /a' }, { name: 'service_name', value: 'svc' }], 0.1],
      [[{ name: 'operation', value: 'GET /b' }, { name: 'service_name', value: 'svc' }], 0.2],
      [[{ name: 'operation', value: 'GET /a' }, { name: 'service_name', value: 'web' }], 1],
    ]);
    // Not grouped: the service's operations are summed.
    expect(computeMetricFamily('calls', [bucket(5, 6, 1, { op: 'GET /a' }), bucket(5, 12, 1, { op: 'GET /b' })], params()).metrics[0].metricPoints.at(-1)!.gaugeValue.doubleValue).toBeCloseTo(0.3);
  });

  it('parses jaeger-query’s parameters with its defaults and error wording', () => {
    const now = END_MS;
    expect(parseMetricsParams({ service: ['a', 'b'], quantile: '0.95' }, 'latencies', now)).toEqual({
      serviceNames: ['a', 'b'], groupByOperation: false, spanKinds: [SpanKind.SERVER], endMs: now,
      lookbackMs: 3_600_000, stepMs: 5_000, ratePerMs: 600_000, quantile: 0.95,
    });
    expect(parseMetricsParams({ service: 'a', spanKind: ['client', 'SPAN_KIND_SERVER'], groupByOperation: 'T', endTs: '1000', lookback: '500', step: '100', ratePer: '200' }, 'calls', now))
      .toMatchObject({ spanKinds: [SpanKind.CLIENT, SpanKind.SERVER], groupByOperation: true, endMs: 1000, lookbackMs: 500, stepMs: 100, ratePerMs: 200 });
    const bad: [Record<string, string>, 'latencies' | 'calls', RegExp][] = [
      [{}, 'calls', /unable to parse param 'service': please provide at least one service name/],
      [{ service: 'a' }, 'latencies', /unable to parse param 'quantile': strconv.ParseFloat: parsing "": invalid syntax/],
      [{ service: 'a', quantile: '1.5' }, 'latencies', /'quantile'/],
      [{ service: 'a', spanKind: 'sideways' }, 'calls', /unable to parse param 'spanKind': unsupported span kind: 'sideways'/],
      [{ service: 'a', groupByOperation: 'yes' }, 'calls', /unable to parse param 'groupByOperation': strconv.ParseBool/],
      [{ service: 'a', step: '0' }, 'calls', /'step'/],
      [{ service: 'a', endTs: 'soon' }, 'calls', /unable to parse param 'endTs'/],
      [{ service: 'a', lookback: '86400000', step: '1' }, 'calls', /exceeded maximum resolution of 11000 points/],
    ];
    for (const [q, type, message] of bad) expect(() => parseMetricsParams(q, type, now), JSON.stringify(q)).toThrow(message);
  });
});
