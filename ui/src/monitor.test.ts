import { describe, expect, it } from 'vitest';
import type { MetricFamily } from './api.js';
import { metricsQuery, monitorWindow, operationRows, toSeries } from './monitor.js';

const family = (series: [string, number[]][], grouped = true): MetricFamily => ({
  name: 'x', type: 'GAUGE', help: '',
  metrics: series.map(([op, values]) => ({
    labels: grouped ? [{ name: 'operation', value: op }, { name: 'service_name', value: 'svc' }] : [{ name: 'service_name', value: 'svc' }],
    metricPoints: values.map((v, i) => ({ gaugeValue: { doubleValue: v }, timestamp: new Date(Date.UTC(2026, 10, 25, 12, i)).toISOString() })),
  })),
});

describe('monitor page data', () => {
  it('asks for a point per minute over an hour with Jaeger UI’s 10-minute rate window, coarser for longer ranges', () => {
    expect(monitorWindow(3_600_000)).toEqual({ stepMs: 60_000, ratePerMs: 600_000 });
    expect(monitorWindow(900_000)).toEqual({ stepMs: 60_000, ratePerMs: 180_000 });
    expect(monitorWindow(6 * 3_600_000)).toEqual({ stepMs: 360_000, ratePerMs: 600_000 });
    expect(new URLSearchParams(metricsQuery({ service: 'a b', spanKind: 'server', endMs: 5, lookbackMs: 3_600_000, groupByOperation: true, quantile: 0.95 })).toString())
      .toBe('service=a+b&spanKind=server&endTs=5&lookback=3600000&step=60000&ratePer=600000&groupByOperation=true&quantile=0.95');
  });

  it('turns families into chart series and a busiest-first operations table of the newest values', () => {
    expect(toSeries(family([['', [1, 2]]], false), 'service_name', 100, 'errors')[0]).toEqual({
      label: 'errors', points: [{ t: Date.UTC(2026, 10, 25, 12, 0), v: 100 }, { t: Date.UTC(2026, 10, 25, 12, 1), v: 200 }],
    });
    const rows = operationRows(
      family([['GET /a', [5, 7]], ['GET /b', [50]]]),
      family([['GET /a', [1, 2]], ['GET /b', [9]]]),
      family([['GET /a', [0, 0.5]]]),
    );
    expect(rows).toEqual([
      { operation: 'GET /b', p95Ms: 50, perSecond: 9, errorRate: undefined },
      { operation: 'GET /a', p95Ms: 7, perSecond: 2, errorRate: 0.5 },
    ]);
  });
});
