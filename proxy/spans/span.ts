export type AttributeValue = string | number | boolean;

/** OpenTelemetry API SpanKind numbering (OTLP's minus one). */
export const ApiSpanKind = { SERVER: 1, CLIENT: 2 } as const;

/** OTel status codes. */
export const SpanStatus = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface Resource {
  attributes: Record<string, AttributeValue>;
}

export interface Scope { name: string; version?: string }

/** A span event (OTLP Span.Event): what the mesh did to a request, with the config that made it do so. */
export interface SpanEvent {
  name: string;
  /** Epoch ms, sub-ms precision, as span times. */
  timeMs: number;
  attributes: Record<string, AttributeValue>;
}

/**
 * One finished proxy span: plain data, encoded to OTLP protobuf as soon as it is recorded
 * (proxy/spans/otlp.ts). Every recorded span is sampled. Times are epoch milliseconds with sub-ms
 * precision (performance.timeOrigin + performance.now()).
 */
export interface SpanInit {
  traceId: string;
  spanId: string;
  /** Empty when the span is a root. */
  parentSpanId: string;
  /** The parent came from another process (request headers). */
  parentIsRemote: boolean;
  traceState?: string;
  name: string;
  kind: (typeof ApiSpanKind)[keyof typeof ApiSpanKind];
  startMs: number;
  endMs: number;
  attributes: Record<string, AttributeValue>;
  statusCode: (typeof SpanStatus)[keyof typeof SpanStatus];
  statusMessage?: string;
  /** Absent on almost every span: events are allocated only when the mesh acted. */
  events?: readonly SpanEvent[];
}
