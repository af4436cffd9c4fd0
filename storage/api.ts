/**
 * The storage boundary, in the spirit of Jaeger's storage v2 API: a few role-named interfaces
 * that every backend (SQLite today, a scale-out store later) implements, and one contract test
 * suite (`storage/contract.ts`) that every backend runs unchanged.
 *
 * Contract for all backends:
 * - "Not found" is an empty result, never an error.
 * - `writeSpans` is idempotent (re-writing the same span id of the same trace replaces it) and
 *   resolves only after the batch is durable (committed): the collector acknowledges a request
 *   only after that.
 * - Readers return fresh objects the caller may mutate (adjusters do).
 * - Times are integer microseconds since the epoch, durations integer microseconds.
 */
import type { LatencyHistogram } from '../model/latency-histogram.js';
import type { Attribute, DependencyLink, Operation, Span, SpanKind, StatusCode, Trace } from '../model/span.js';
import type { SpanBudget } from './span-budget.js';

export interface SpanWriter {
  /** Durable when the promise resolves. An empty batch resolves at once. */
  writeSpans(batch: readonly Span[]): Promise<void>;
}

export interface GetTracesQuery {
  /** 32-hex lowercase ids. */
  traceIds: string[];
  /** Optional hints (µs): a backend may use them to narrow the search; spans outside are still returned. */
  startTimeMinUs?: number;
  startTimeMaxUs?: number;
}

export interface TraceQuery {
  serviceName?: string;
  operationName?: string;
  /**
   * Every pair must match (AND). A pair matches a span of the trace when the span's attributes,
   * its resource attributes or one of its events' attributes (or the event name, as key `event`)
   * has the key with that value in string form. When `serviceName` is set the matching span must
   * belong to that service (Jaeger semantics).
   */
  tags?: Record<string, string>;
  /** Bounds on the start time of a matching span, µs, inclusive. */
  startTimeMinUs: number;
  startTimeMaxUs: number;
  /** Bounds on the trace's duration (first span start → last span end), µs, inclusive. */
  durationMinUs?: number;
  durationMaxUs?: number;
  /** Maximum number of traces; the most recent (by start time) first. */
  limit: number;
}

export interface TraceReader {
  /**
   * The traces found, in the order asked. With a `budget` the reader asks `budget.admit` before
   * loading each trace and loads only what it admits (a cut trace: its earliest spans by start
   * time), so memory stays bounded by the budget, not by the data (storage/span-budget.ts).
   */
  getTraces(q: GetTracesQuery, budget?: SpanBudget): Promise<Trace[]>;
  /** Traces matching the query, most recent first, at most `limit`; `budget` as in `getTraces`. */
  findTraces(q: TraceQuery, budget?: SpanBudget): Promise<Trace[]>;
  /** Only the ids of `findTraces` (cheap: used by api_v3 and the UI's paging). */
  findTraceIds(q: TraceQuery): Promise<string[]>;
  /**
   * Optional: like `findTraceIds` but a SUPERSET is allowed — traces the indexes say may match,
   * not confirmed against their spans — still the newest `limit` of that superset by trace start
   * (so a larger `limit` returns the same prefix plus older ones). For callers that check each
   * candidate themselves (TraceQL, query/traceql/search.ts); they fall back to `findTraceIds`.
   */
  findCandidateTraceIds?(q: TraceQuery): Promise<string[]>;
  /**
   * Optional: the traces' span skeletons (ids, parent, service, name, kind, status, timing; no
   * attributes, events, links or resource attributes), in the order asked, unknown ids left out,
   * and so are traces of more than `maxSpansPerTrace` spans (memory stays bounded: the caller
   * reads those under its span budget instead); each trace's spans in the order `getTraces`
   * returns them. Where these are columns it costs a fraction of `getTraces`: callers narrow
   * candidates with it before reading them whole (TraceQL, query/traceql/prefilter.ts).
   */
  getTraceSkeletons?(q: { traceIds: string[]; maxSpansPerTrace?: number }): Promise<TraceSkeleton[]>;
  /** Sorted service names. */
  getServices(): Promise<string[]>;
  /** Sorted by name then kind; `spanKind` filters when given. */
  getOperations(q: { serviceName: string; spanKind?: SpanKind }): Promise<Operation[]>;
  /**
   * Optional (autocomplete for TraceQL: the UI's query field, Grafana's Tempo data source): the
   * attribute names the store knows, sorted. A backend without it: callers offer intrinsics only.
   * `span` = span and event attribute keys, `resource` = resource attribute keys.
   */
  getTagNames?(): Promise<TagNames>;
  /**
   * Optional: known string values of one attribute, sorted. May be partial (a backend may keep
   * values only for keys with few of them); `[]` when none are known.
   */
  getTagValues?(q: { scope: 'span' | 'resource'; key: string }): Promise<string[]>;
}

/** A span without its attributes, events and links (`TraceReader.getTraceSkeletons`). */
export interface SpanSkeleton {
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  kind: SpanKind;
  statusCode: StatusCode;
  startTimeUs: number;
  durationUs: number;
  /** The resource's service name (`Span.resource.serviceName`). */
  serviceName: string;
  /** The resource attribute `service.name` as stored; undefined when the resource has none. */
  serviceAttribute: Attribute | undefined;
}

export interface TraceSkeleton {
  traceId: string;
  spans: SpanSkeleton[];
}

export interface TagNames {
  span: string[];
  resource: string[];
}

export interface DependencyReader {
  /** Parent→child service call counts for spans starting in [startUs, endUs]. */
  getDependencies(q: { startUs: number; endUs: number }): Promise<DependencyLink[]>;
}

export interface SpanMetricsQuery {
  /** Services to include (OR); empty = none. */
  serviceNames: string[];
  /** Span kinds to include (OR); empty = every kind. */
  spanKinds: SpanKind[];
  /** Spans starting in [startUs, endUs] (rounded out to whole buckets). */
  startUs: number;
  endUs: number;
}

/** Request/error/duration figures of one operation's spans that started in one time bucket. */
export interface SpanMetricsBucket {
  serviceName: string;
  operationName: string;
  spanKind: SpanKind;
  /** Start of the bucket, µs; the bucket is `resolutionUs` long. */
  startUs: number;
  calls: number;
  errors: number;
  latency: LatencyHistogram;
}

/**
 * RED metrics aggregated from spans as they are written (what the OpenTelemetry Collector's
 * spanmetrics connector computes for Jaeger's Monitor tab), so answering never reads spans.
 */
export interface SpanMetricsReader {
  /** The bucket length, µs: the finest step the metrics can be read at. */
  readonly resolutionUs: number;
  /** Buckets with at least one span, ordered by service, operation, kind, then time. */
  getSpanMetrics(q: SpanMetricsQuery): Promise<SpanMetricsBucket[]>;
}

/** What a running backend hands out; `close` flushes and releases files. */
export interface Storage {
  writer: SpanWriter;
  reader: TraceReader;
  dependencies: DependencyReader;
  spanMetrics: SpanMetricsReader;
  /** Deletes spans older than `cutoffUs`; returns how many spans were removed. */
  purgeOlderThan(cutoffUs: number): Promise<number>;
  close(): Promise<void>;
}
