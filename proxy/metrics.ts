import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

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

export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<string>;
  private readonly duration: Histogram<string>;
  private readonly reqBytes: Histogram<string>;
  private readonly resBytes: Histogram<string>;
  readonly activeConnections: Gauge<string>;
  readonly activeRequests: Gauge<string>;
  private readonly spansDropped: Counter<string>;
  private readonly spansExported: Counter<string>;
  private readonly propagationBroken: Counter<string>;
  private readonly invalidContext: Counter<string>;

  constructor(private readonly service: string) {
    const registers = [this.registry];
    const labelNames = [...ISTIO_LABELS];
    this.requests = new Counter({ name: 'istio_requests_total', help: 'Requests seen by the proxy.', labelNames, registers });
    this.duration = new Histogram({ name: 'istio_request_duration_milliseconds', help: 'Request duration, ms.', labelNames, buckets: ISTIO_DURATION_BUCKETS_MS, registers });
    this.reqBytes = new Histogram({ name: 'istio_request_bytes', help: 'Request body size, bytes.', labelNames, buckets: ISTIO_BYTES_BUCKETS, registers });
    this.resBytes = new Histogram({ name: 'istio_response_bytes', help: 'Response body size, bytes.', labelNames, buckets: ISTIO_BYTES_BUCKETS, registers });
    this.activeConnections = new Gauge({ name: 'meshtrace_proxy_active_connections', help: 'Open downstream connections.', labelNames: ['listener'], registers });
    this.activeRequests = new Gauge({ name: 'meshtrace_proxy_active_requests', help: 'Requests in flight.', labelNames: ['listener'], registers });
    this.spansDropped = new Counter({ name: 'meshtrace_proxy_spans_dropped_total', help: 'Spans not delivered to the collector.', labelNames: ['reason'], registers });
    this.spansExported = new Counter({ name: 'meshtrace_proxy_spans_exported_total', help: 'Spans accepted by the collector.', registers });
    this.propagationBroken = new Counter({ name: 'meshtrace_propagation_broken_total', help: 'Outbound calls made without the trace context of an in-flight inbound request.', labelNames: ['service'], registers });
    this.invalidContext = new Counter({ name: 'meshtrace_proxy_invalid_trace_context_total', help: 'Requests whose trace headers were malformed (a new trace was started).', labelNames: ['listener', 'format'], registers });
    // process_resident_memory_bytes, process_cpu_seconds_total, nodejs_heap_*: the sidecar's own cost.
    collectDefaultMetrics({ register: this.registry });
    // Present from the start so dashboards and alerts see 0 rather than no series.
    this.propagationBroken.inc({ service }, 0);
    this.spansDropped.inc({ reason: 'queue_full' }, 0);
    this.spansDropped.inc({ reason: 'export_failed' }, 0);
  }

  /**
   * Label-bound children by label values: prom-client hashes the label object on every call
   * otherwise, four times per request. Bounded: past MAX_SERIES, fall back to unbound calls.
   */
  private readonly series = new Map<string, { c: { inc(): void }; d: { observe(v: number): void }; q: { observe(v: number): void }; s: { observe(v: number): void } }>();
  private static readonly MAX_SERIES = 10_000;

  observe(o: RequestObservation): void {
    const l = o.labels;
    const key = `${l.reporter}\u0001${l.source_workload}\u0001${l.source_version}\u0001${l.destination_service}\u0001${l.destination_workload}\u0001${l.destination_version}\u0001${l.request_protocol}\u0001${l.response_code}\u0001${l.response_flags}\u0001${l.connection_security_policy}`;
    let s = this.series.get(key);
    if (!s) {
      s = { c: this.requests.labels(l), d: this.duration.labels(l), q: this.reqBytes.labels(l), s: this.resBytes.labels(l) };
      if (this.series.size < ProxyMetrics.MAX_SERIES) this.series.set(key, s);
    }
    s.c.inc();
    s.d.observe(o.durationMs);
    s.q.observe(o.requestBytes);
    s.s.observe(o.responseBytes);
  }

  spanDropped(n: number, reason: 'queue_full' | 'export_failed'): void { this.spansDropped.inc({ reason }, n); }
  spanExported(n: number): void { this.spansExported.inc(n); }
  brokenPropagation(): void { this.propagationBroken.inc({ service: this.service }); }
  invalidTraceContext(listener: string, format: string): void { this.invalidContext.inc({ listener, format }); }

  text(): Promise<string> { return this.registry.metrics(); }
  get contentType(): string { return this.registry.contentType; }
}
