/**
 * `/monitor`: a service's RED metrics over time, as Jaeger UI's Monitor tab shows them — latency
 * (p50/p95/p99), error rate and request rate charts, and its operations with their newest p95,
 * request rate and error rate. Data: Jaeger's `/api/metrics/*`, which meshtrace answers from
 * metrics kept at ingest (no Prometheus); a server with metrics disabled (501) says so.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, type MetricFamily } from '../api.js';
import { serviceColor } from '../colors.js';
import { metricsQuery, operationRows, toSeries, type OperationRow, type Series } from '../monitor.js';
import { navigate } from '../router.js';
import { lookbackMs } from '../search-query.js';

const LOOKBACKS: [string, string][] = [['15m', 'Last 15 minutes'], ['1h', 'Last hour'], ['6h', 'Last 6 hours'], ['24h', 'Last 24 hours']];
const KINDS = ['server', 'client', 'producer', 'consumer', 'internal'];

interface Loaded { latency: Series[]; errors: Series[]; calls: Series[]; operations: OperationRow[] }
type Load = { state: 'loading' } | { state: 'error'; message: string } | { state: 'done'; data: Loaded };

async function load(service: string, spanKind: string, lbMs: number, signal: AbortSignal): Promise<Loaded> {
  const endMs = Date.now();
  const q = (o: { groupByOperation?: boolean; quantile?: number } = {}) => metricsQuery({ service, spanKind, endMs, lookbackMs: lbMs, ...o });
  const [p50, p95, p99, errors, calls, opLatency, opCalls, opErrors] = await Promise.all([
    api.metrics('latencies', q({ quantile: 0.5 }), signal),
    api.metrics('latencies', q({ quantile: 0.95 }), signal),
    api.metrics('latencies', q({ quantile: 0.99 }), signal),
    api.metrics('errors', q(), signal),
    api.metrics('calls', q(), signal),
    api.metrics('latencies', q({ groupByOperation: true, quantile: 0.95 }), signal),
    api.metrics('calls', q({ groupByOperation: true }), signal),
    api.metrics('errors', q({ groupByOperation: true }), signal),
  ]);
  const one = (f: MetricFamily, label: string, scale = 1) => toSeries(f, 'service_name', scale, label);
  return {
    latency: [...one(p50, 'p50'), ...one(p95, 'p95'), ...one(p99, 'p99')],
    errors: one(errors, 'errors', 100),
    calls: one(calls, 'requests'),
    operations: operationRows(opLatency, opCalls, opErrors),
  };
}

const fmt = (v: number | undefined, digits = 2) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits));

/** A small line chart: one polyline per series on a shared y scale from 0. */
function Chart({ title, unit, series, startMs, endMs }: { title: string; unit: string; series: Series[]; startMs: number; endMs: number }) {
  const W = 360;
  const H = 120;
  const max = Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.v)));
  const top = max > 0 ? max * 1.1 : 1;
  const x = (t: number) => ((t - startMs) / Math.max(1, endMs - startMs)) * W;
  const y = (v: number) => H - (v / top) * H;
  const colors = ['#2f6fdb', '#d9822b', '#c0392b'];
  const latest = series.map((s) => s.points.at(-1)?.v);
  return (
    <figure class="monitor-chart" data-chart={title}>
      <figcaption>
        <strong>{title}</strong>
        {series.map((s, i) => <span key={s.label} class="legend" style={{ color: colors[i % colors.length] }}> {s.label} {fmt(latest[i])} {unit}</span>)}
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" height={H} preserveAspectRatio="none" role="img" aria-label={title}>
        <line x1={0} y1={H - 0.5} x2={W} y2={H - 0.5} class="axis" />
        {series.map((s, i) => (
          <polyline key={s.label} fill="none" stroke={colors[i % colors.length]} stroke-width={1.5} vector-effect="non-scaling-stroke"
            points={s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ')} />
        ))}
      </svg>
      <small class="muted">max {fmt(max)} {unit}</small>
    </figure>
  );
}

export function MonitorPage({ query }: { query: string }) {
  const params = new URLSearchParams(query);
  const lookback = params.get('lookback') ?? '1h';
  const spanKind = params.get('spanKind') ?? 'server';
  const [services, setServices] = useState<string[] | undefined>();
  const service = params.get('service') ?? services?.[0] ?? '';
  const [data, setData] = useState<Load>({ state: 'loading' });
  const go = (o: { service?: string; lookback?: string; spanKind?: string }) => {
    const p = new URLSearchParams({ service: o.service ?? service, lookback: o.lookback ?? lookback, spanKind: o.spanKind ?? spanKind });
    navigate(`monitor?${p}`, true);
  };

  useEffect(() => {
    const ac = new AbortController();
    api.services(ac.signal).then(setServices, (e: Error) => { if (e.name !== 'AbortError') setData({ state: 'error', message: e.message }); });
    return () => ac.abort();
  }, []);

  useEffect(() => {
    if (!service) return;
    const ac = new AbortController();
    setData({ state: 'loading' });
    load(service, spanKind, lookbackMs(lookback) || 3_600_000, ac.signal).then(
      (d) => setData({ state: 'done', data: d }),
      (e: Error) => { if (e.name !== 'AbortError') setData({ state: 'error', message: e.message }); },
    );
    return () => ac.abort();
  }, [service, spanKind, lookback]);

  const endMs = Date.now();
  const startMs = endMs - (lookbackMs(lookback) || 3_600_000);
  const empty = data.state === 'done' && data.data.calls.every((s) => s.points.every((p) => p.v === 0)) && data.data.operations.length === 0;
  return (
    <div class="monitor-page">
      <div class="toolbar">
        <label>Service{' '}
          <select value={service} onChange={(e) => go({ service: e.currentTarget.value })} aria-label="Service">
            {(services ?? []).map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label>Span kind{' '}
          <select value={spanKind} onChange={(e) => go({ spanKind: e.currentTarget.value })} aria-label="Span kind">
            {KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
          </select>
        </label>
        <select value={lookback} onChange={(e) => go({ lookback: e.currentTarget.value })} aria-label="Time range">
          {LOOKBACKS.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
        </select>
        {service && <span class="swatch" style={{ background: serviceColor(service) }} />}
      </div>
      {services && services.length === 0 && <div class="state">No services yet: send some spans first.</div>}
      {data.state === 'loading' && service && <div class="state">Loading metrics…</div>}
      {data.state === 'error' && <div class="state error" role="alert">Could not load metrics: {data.message}</div>}
      {empty && <div class="state">No {spanKind} spans of {service} in this time range.</div>}
      {data.state === 'done' && !empty && (
        <>
          <div class="monitor-charts">
            <Chart title="Latency" unit="ms" series={data.data.latency} startMs={startMs} endMs={endMs} />
            <Chart title="Error rate" unit="%" series={data.data.errors} startMs={startMs} endMs={endMs} />
            <Chart title="Request rate" unit="req/s" series={data.data.calls} startMs={startMs} endMs={endMs} />
          </div>
          <table class="stats monitor-ops">
            <thead><tr><th>Operation</th><th>P95 latency</th><th>Request rate</th><th>Error rate</th></tr></thead>
            <tbody>
              {data.data.operations.map((r) => (
                <tr key={r.operation} data-operation={r.operation}>
                  <td>
                    <a href={`search?service=${encodeURIComponent(service)}&operation=${encodeURIComponent(r.operation)}&lookback=${lookback}`}
                      onClick={(e) => { e.preventDefault(); navigate(`search?service=${encodeURIComponent(service)}&operation=${encodeURIComponent(r.operation)}&lookback=${lookback}&limit=20`); }}>
                      {r.operation}
                    </a>
                  </td>
                  <td>{fmt(r.p95Ms)} ms</td>
                  <td>{fmt(r.perSecond, 3)} req/s</td>
                  <td class={r.errorRate ? 'has-errors' : ''}>{r.errorRate === undefined ? '–' : `${(r.errorRate * 100).toFixed(1)} %`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
