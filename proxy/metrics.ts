import { createRequire } from 'node:module';
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';

/**
 * Istio's standard metrics, names, labels and buckets as Istio's stats filter emits them, so
 * Istio's Grafana dashboards work unchanged; plus the proxy's own `meshtrace_*` metrics.
 * One Registry per sidecar (several sidecars may share a process in tests and `inject`).
 */

/** istio_request_duration_milliseconds buckets (Istio's stats filter defaults). */
export const ISTIO_DURATION_BUCKETS_MS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
/** istio_request_bytes / istio_response_bytes buckets: Istio's exponential 1…10^8 (factor 10). */
export const ISTIO_BYTES_BUCKETS = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000];

export const ISTIO_LABELS = [
  'reporter', 'source_workload', 'source_version', 'destination_service', 'destination_workload',
  'destination_version', 'request_protocol', 'response_code', 'response_flags', 'connection_security_policy',
] as const;
export type IstioLabels = Record<(typeof ISTIO_LABELS)[number], string>;

export interface RequestObservation {
  labels: IstioLabels;
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
}

/** One Istio label set's request count and its three histograms (per-bucket counts, not cumulative). */
interface Series {
  labels: IstioLabels;
  count: number;
  duration: Float64Array;
  durationSum: number;
  requestBytes: Float64Array;
  requestBytesSum: number;
  responseBytes: Float64Array;
  responseBytesSum: number;
}

/** Index of the first bucket whose upper bound is ≥ v; `bounds.length` for +Inf only. */
function bucketOf(bounds: readonly number[], v: number): number {
  let i = 0;
  while (i < bounds.length && v > bounds[i]) i++;
  return i;
}

type ValuePair = { labels: Record<string, string | number>; sharedLabels?: IstioLabels; value: number; metricName?: string };

/**
 * The four Istio request metrics, kept in plain arrays keyed by label set and handed to the
 * prom-client Registry as prom-client's own metric shape, so `/metrics` prints exactly what
 * prom-client Counter/Histogram objects printed. prom-client hashes and validates the label
 * object on every observe (four times per request, ~8 % of the sidecar's CPU at saturation); here
 * a request costs one Map lookup and three bucket searches. Unknown label values are kept, as
 * prom-client did: cardinality is bounded by the label values themselves.
 */
class IstioRequestMetrics {
  private readonly series = new Map<string, Series>();

  observe(o: RequestObservation): void {
    const l = o.labels;
    const key = `${l.reporter}\u0001${l.source_workload}\u0001${l.source_version}\u0001${l.destination_service}\u0001${l.destination_workload}\u0001${l.destination_version}\u0001${l.request_protocol}\u0001${l.response_code}\u0001${l.response_flags}\u0001${l.connection_security_policy}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        labels: { ...l }, count: 0,
        duration: new Float64Array(ISTIO_DURATION_BUCKETS_MS.length + 1), durationSum: 0,
        requestBytes: new Float64Array(ISTIO_BYTES_BUCKETS.length + 1), requestBytesSum: 0,
        responseBytes: new Float64Array(ISTIO_BYTES_BUCKETS.length + 1), responseBytesSum: 0,
      };
      this.series.set(key, s);
    }
    s.count++;
    s.duration[bucketOf(ISTIO_DURATION_BUCKETS_MS, o.durationMs)]++;
    s.durationSum += o.durationMs;
    s.requestBytes[bucketOf(ISTIO_BYTES_BUCKETS, o.requestBytes)]++;
    s.requestBytesSum += o.requestBytes;
    s.responseBytes[bucketOf(ISTIO_BYTES_BUCKETS, o.responseBytes)]++;
    s.responseBytesSum += o.responseBytes;
  }

  /** Registers the four metrics on `registry`, in prom-client's export shape. */
  register(registry: Registry): void {
    const counter = (name: string, help: string) => this.metric(name, help, 'counter', () =>
      [...this.series.values()].map((s) => ({ labels: s.labels, value: s.count })));
    const histogram = (name: string, help: string, bounds: readonly number[], pick: (s: Series) => [Float64Array, number]) =>
      this.metric(name, help, 'histogram', () => {
        const out: ValuePair[] = [];
        for (const s of this.series.values()) {
          const [buckets, sum] = pick(s);
          let acc = 0;
          for (let i = 0; i < bounds.length; i++) {
            acc += buckets[i];
            out.push({ labels: { le: bounds[i] }, sharedLabels: s.labels, value: acc, metricName: `${name}_bucket` });
          }
          out.push(
            { labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: `${name}_bucket` },
            { labels: {}, sharedLabels: s.labels, value: sum, metricName: `${name}_sum` },
            { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${name}_count` },
          );
        }
        return out;
      });
    for (const m of [
      counter('istio_requests_total', 'Requests seen by the proxy.'),
      histogram('istio_request_duration_milliseconds', 'Request duration, ms.', ISTIO_DURATION_BUCKETS_MS, (s) => [s.duration, s.durationSum]),
      histogram('istio_request_bytes', 'Request body size, bytes.', ISTIO_BYTES_BUCKETS, (s) => [s.requestBytes, s.requestBytesSum]),
      histogram('istio_response_bytes', 'Response body size, bytes.', ISTIO_BYTES_BUCKETS, (s) => [s.responseBytes, s.responseBytesSum]),
    ]) registry.registerMetric(m);
  }

  private metric(name: string, help: string, type: 'counter' | 'histogram', values: () => ValuePair[]): Metric {
    const get = async () => ({ name, help, type, values: values(), aggregator: 'sum' });
    // getMetricsAsJSON (get) wants the series labels merged in; the text exposition (getForPromString) keeps them apart.
    return {
      name, help, type, aggregator: 'sum', getForPromString: get,
      get: async () => {
        const r = await get();
        return { ...r, values: r.values.map((v) => ({ value: v.value, metricName: v.metricName, labels: { ...v.sharedLabels, ...v.labels } })) };
      },
    } as unknown as Metric;
  }
}

/** A gauge per listener kept as plain numbers; prom-client reads them when scraped. */
/**
 * prom-client's default collectors except two that cost a sidecar on every request path:
 * `gc` (a PerformanceObserver called after every garbage collection — with the sidecar's small
 * young generation that is hundreds of scavenges a second under load, ~3 % of its CPU at
 * saturation in a profile, half of it in a deprecation wrapper) and `eventLoopLag` (a 10 ms timer
 * that wakes an idle sidecar 100 times a second). Both are read only when scraped otherwise, like
 * the rest. prom-client exports no way to pick collectors, so they are loaded by path; if its
 * layout changes, all defaults are registered (proxy/resources.test.ts then fails on purpose).
 */
const PROCESS_COLLECTORS = [
  'processCpuTotal', 'processStartTime', 'osMemoryHeap', 'processOpenFileDescriptors', 'processMaxFileDescriptors',
  'processResources', 'processHandles', 'processRequests', 'heapSizeAndUsed', 'heapSpacesSizeAndUsed', 'version',
];

function registerProcessMetrics(registry: Registry): void {
  const load = createRequire(import.meta.url);
  let collectors: ((r: Registry, config: object) => void)[];
  try {
    collectors = PROCESS_COLLECTORS.map((name) => load(`prom-client/lib/metrics/${name}.js`) as (r: Registry, config: object) => void);
  } catch {
    collectDefaultMetrics({ register: registry });
    return;
  }
  for (const collect of collectors) collect(registry, {});
}

export interface ListenerGauge { inc(): void; dec(): void }

/** A counter by upstream name kept as plain numbers on the request path; prom-client reads them when scraped. */
function upstreamCounter(name: string, help: string, registers: Registry[]): Map<string, number> {
  const values = new Map<string, number>();
  new Counter({
    name, help, labelNames: ['upstream'], registers,
    collect() {
      this.reset();
      for (const [upstream, n] of values) this.inc({ upstream }, n);
    },
  });
  return values;
}

/** Implements TrafficEvents (proxy/traffic/state.ts). */
export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly overflows: Map<string, number>;
  private readonly ejections: Map<string, number>;
  private readonly retries: Map<string, number>;
  private readonly handOffs: Counter<string>;
  private readonly istio = new IstioRequestMetrics();
  private readonly active = { connections: { inbound: 0, outbound: 0 }, requests: { inbound: 0, outbound: 0 } };
  private readonly spansDropped: Counter<string>;
  private readonly spansExported: Counter<string>;
  private readonly propagationBroken: Counter<string>;
  private readonly invalidContext: Counter<string>;
  private readonly configReloads: Counter<string>;
  private readonly configVersion: Gauge<string>;
  private readonly adminAuthFailures: Counter<string>;

  constructor(private readonly service: string) {
    const registers = [this.registry];
    this.istio.register(this.registry);
    const active = this.active;
    new Gauge({
      name: 'meshtrace_proxy_active_connections', help: 'Open downstream connections.', labelNames: ['listener'], registers,
      collect() { for (const [listener, n] of Object.entries(active.connections)) this.set({ listener }, n); },
    });
    new Gauge({
      name: 'meshtrace_proxy_active_requests', help: 'Requests in flight.', labelNames: ['listener'], registers,
      collect() { for (const [listener, n] of Object.entries(active.requests)) this.set({ listener }, n); },
    });
    this.spansDropped = new Counter({ name: 'meshtrace_proxy_spans_dropped_total', help: 'Spans not delivered to the collector.', labelNames: ['reason'], registers });
    this.spansExported = new Counter({ name: 'meshtrace_proxy_spans_exported_total', help: 'Spans accepted by the collector.', registers });
    this.propagationBroken = new Counter({ name: 'meshtrace_propagation_broken_total', help: 'Outbound calls made without the trace context of an in-flight inbound request.', labelNames: ['service'], registers });
    this.invalidContext = new Counter({ name: 'meshtrace_proxy_invalid_trace_context_total', help: 'Requests whose trace headers were malformed (a new trace was started).', labelNames: ['listener', 'format'], registers });
    this.configReloads = new Counter({ name: 'meshtrace_proxy_config_reloads_total', help: 'Configuration reload attempts by result (applied, rejected, unchanged).', labelNames: ['result'], registers });
    this.configVersion = new Gauge({ name: 'meshtrace_proxy_config_version', help: 'Version of the configuration serving: 1 at start, +1 per applied reload.', registers });
    this.configVersion.set(1);
    this.adminAuthFailures = new Counter({ name: 'meshtrace_proxy_admin_auth_failures_total', help: 'Admin requests to mutating endpoints refused: missing or invalid token, or refused (admin beyond loopback without --admin-token-file).', labelNames: ['reason'], registers });
    this.overflows = upstreamCounter('meshtrace_proxy_upstream_overflow_total', 'Requests refused with 503 UO by an upstream\'s maxRequests/maxPendingRequests (circuit breaking).', registers);
    this.ejections = upstreamCounter('meshtrace_proxy_outlier_ejections_total', 'Endpoints ejected by outlier detection.', registers);
    this.handOffs = new Counter({ name: 'meshtrace_proxy_fast_path_handoffs_total', help: 'Downstream connections handed from the fast path to Node\'s HTTP server, by the first request the fast path did not take (HTTP/1.0, Transfer-Encoding, Expect, Upgrade, …).', labelNames: ['listener', 'reason'], registers });
    this.retries = upstreamCounter('meshtrace_proxy_upstream_retries_total', 'Retries sent by route retry policies.', registers);
    // process_resident_memory_bytes, process_cpu_seconds_total, nodejs_heap_*: the sidecar's own cost.
    registerProcessMetrics(this.registry);
    // Present from the start so dashboards and alerts see 0 rather than no series.
    this.propagationBroken.inc({ service }, 0);
    this.spansDropped.inc({ reason: 'queue_full' }, 0);
    this.spansDropped.inc({ reason: 'export_failed' }, 0);
    for (const result of ['applied', 'rejected', 'unchanged']) this.configReloads.inc({ result }, 0);
    for (const reason of ['missing', 'invalid', 'refused']) this.adminAuthFailures.inc({ reason }, 0);
  }

  /** meshtrace_proxy_active_connections{listener}: a plain number per request path, read when scraped. */
  activeConnections(listener: 'inbound' | 'outbound'): ListenerGauge {
    const c = this.active.connections;
    return { inc: () => { c[listener]++; }, dec: () => { c[listener]--; } };
  }

  /** meshtrace_proxy_active_requests{listener}. */
  activeRequests(listener: 'inbound' | 'outbound'): ListenerGauge {
    const r = this.active.requests;
    return { inc: () => { r[listener]++; }, dec: () => { r[listener]--; } };
  }

  observe(o: RequestObservation): void { this.istio.observe(o); }
  upstreamOverflow(upstream: string): void { this.overflows.set(upstream, (this.overflows.get(upstream) ?? 0) + 1); }
  outlierEjection(upstream: string): void { this.ejections.set(upstream, (this.ejections.get(upstream) ?? 0) + 1); }
  upstreamRetry(upstream: string): void { this.retries.set(upstream, (this.retries.get(upstream) ?? 0) + 1); }
  spanDropped(n: number, reason: 'queue_full' | 'export_failed'): void { this.spansDropped.inc({ reason }, n); }
  spanExported(n: number): void { this.spansExported.inc(n); }
  brokenPropagation(): void { this.propagationBroken.inc({ service: this.service }); }
  invalidTraceContext(listener: string, format: string): void { this.invalidContext.inc({ listener, format }); }
  /** One reload attempt; `version` is the configuration version serving afterwards. */
  configReloaded(result: 'applied' | 'rejected' | 'unchanged', version: number): void {
    this.configReloads.inc({ result });
    this.configVersion.set(version);
  }

  adminAuthFailed(reason: 'missing' | 'invalid' | 'refused'): void { this.adminAuthFailures.inc({ reason }); }
  /** A downstream connection moved from the fast path to Node's HTTP server (proxy/listeners/h1-fast-path.ts). */
  fastPathHandOff(listener: 'inbound' | 'outbound', reason: string): void { this.handOffs.inc({ listener, reason }); }
  text(): Promise<string> { return this.registry.metrics(); }
  get contentType(): string { return this.registry.contentType; }
}
