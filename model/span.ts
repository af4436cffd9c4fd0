/**
 * The internal span model: flat and normalized. Receivers translate their wire formats
 * (OTLP protobuf/JSON, Zipkin) into this; storage persists it; the query API translates it
 * out to Jaeger JSON or OTLP JSON. Nothing wire-specific lives here.
 *
 * Conventions:
 * - ids are lowercase hex strings: traceId 32 chars, spanId/parentSpanId 16 chars.
 *   A missing parent is the empty string.
 * - times are integer microseconds since the Unix epoch (`…Us`), durations integer µs.
 *   Jaeger's model is µs too; OTLP nanoseconds are truncated on the way in.
 */

/** OTLP's SpanKind numbering, kept so OTLP round-trips are lossless. */
export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;
export type SpanKind = (typeof SpanKind)[keyof typeof SpanKind];

/** Lowercase names used by Jaeger (`span.kind` tag, `spanKind` query parameter). */
export const spanKindNames: Record<SpanKind, string> = {
  0: '',
  1: 'internal',
  2: 'server',
  3: 'client',
  4: 'producer',
  5: 'consumer',
};

export function spanKindFromName(name: string): SpanKind | undefined {
  switch (name.toLowerCase()) {
    case 'internal': return SpanKind.INTERNAL;
    case 'server': return SpanKind.SERVER;
    case 'client': return SpanKind.CLIENT;
    case 'producer': return SpanKind.PRODUCER;
    case 'consumer': return SpanKind.CONSUMER;
    case 'unspecified': case '': return SpanKind.UNSPECIFIED;
    default: return undefined;
  }
}

/** OTLP status codes. */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;
export type StatusCode = (typeof StatusCode)[keyof typeof StatusCode];

/**
 * A typed attribute, shaped like Jaeger's KeyValue so the query side needs no re-typing.
 * - `int64`: a JS number when within ±2^53, otherwise its decimal string.
 * - `binary`: base64 string.
 * - `array` / `kvlist`: the OTLP JSON encoding of the value (`{"values":[…]}` / `{"values":[{key,value}]}`)
 *   serialized as a string, so nested values survive a round trip to OTLP JSON.
 */
export type Attribute =
  | { key: string; type: 'string'; value: string }
  | { key: string; type: 'bool'; value: boolean }
  | { key: string; type: 'int64'; value: number | string }
  | { key: string; type: 'float64'; value: number }
  | { key: string; type: 'binary'; value: string }
  | { key: string; type: 'array'; value: string }
  | { key: string; type: 'kvlist'; value: string };

export type AttributeType = Attribute['type'];

export interface SpanEvent {
  timeUs: number;
  name: string;
  attributes: Attribute[];
  droppedAttributesCount?: number;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState?: string;
  attributes: Attribute[];
  droppedAttributesCount?: number;
}

export interface Resource {
  /** `service.name` from the resource attributes; 'unknown_service' when absent (OTel's default). */
  serviceName: string;
  /** All resource attributes, `service.name` included. */
  attributes: Attribute[];
}

export interface InstrumentationScope {
  name: string;
  version: string;
}

export interface Span {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  /** W3C tracestate; '' when none. */
  traceState: string;
  /** W3C trace flags (bit 0 = sampled). */
  flags: number;
  name: string;
  kind: SpanKind;
  startTimeUs: number;
  durationUs: number;
  attributes: Attribute[];
  events: SpanEvent[];
  links: SpanLink[];
  status: { code: StatusCode; message: string };
  resource: Resource;
  scope: InstrumentationScope;
  droppedAttributesCount?: number;
  droppedEventsCount?: number;
  droppedLinksCount?: number;
  /**
   * Problems found by query-time adjusters (never stored). Jaeger's `warnings`.
   */
  warnings?: string[];
}

/** A trace as the storage returns it: every stored span of one trace id, in no promised order. */
export interface Trace {
  traceId: string;
  spans: Span[];
  /** Trace-level warnings added at query time. */
  warnings?: string[];
}

export interface Operation {
  name: string;
  /** Lowercase Jaeger name (`server`, `client`, …) or '' when unspecified. */
  spanKind: string;
}

export interface DependencyLink {
  parent: string;
  child: string;
  callCount: number;
  /** Calls whose child span had ERROR status. meshtrace extension; Jaeger ignores it. */
  errorCount?: number;
}

export const DEFAULT_SERVICE_NAME = 'unknown_service';

/** Exact-match lookup of an attribute by key. */
export function findAttribute(attrs: readonly Attribute[], key: string): Attribute | undefined {
  for (const a of attrs) if (a.key === key) return a;
  return undefined;
}

/** The attribute value as the string tag search compares against (Jaeger compares string forms). */
export function attributeValueAsString(a: Attribute): string {
  return typeof a.value === 'string' ? a.value : String(a.value);
}
