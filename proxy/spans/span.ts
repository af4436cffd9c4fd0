import type { serializeTraceExportRequest } from '@opentelemetry/otlp-transformer/build/src/trace/protobuf/trace-serializer.js';

/** The SDK's ReadableSpan as the OTLP serializer consumes it (taken from its signature). */
export type ReadableSpan = Parameters<typeof serializeTraceExportRequest>[0][number];
type HrTime = [number, number];
export type AttributeValue = string | number | boolean;

/** OpenTelemetry API SpanKind numbering (OTLP's minus one). */
export const ApiSpanKind = { SERVER: 1, CLIENT: 2 } as const;

/** OTel status codes. */
export const SpanStatus = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface Resource {
  attributes: Record<string, AttributeValue>;
}

export interface Scope { name: string; version?: string }

/**
 * One finished proxy span, shaped as the OTel SDK's ReadableSpan so the OTLP protobuf serializer
 * takes it directly. Plain data with no SDK machinery: the proxy creates one per request.
 * Times are epoch milliseconds with sub-ms precision (performance.timeOrigin + performance.now()).
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
}

function hr(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

export function toReadableSpan(s: SpanInit, resource: Resource, scope: Scope): ReadableSpan {
  const ctx = {
    traceId: s.traceId,
    spanId: s.spanId,
    traceFlags: 1,
    traceState: s.traceState ? { serialize: () => s.traceState! } : undefined,
  };
  const parent = s.parentSpanId
    ? { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: 1, isRemote: s.parentIsRemote }
    : undefined;
  const durationMs = Math.max(0, s.endMs - s.startMs);
  const span = {
    name: s.name,
    kind: s.kind,
    spanContext: () => ctx,
    parentSpanContext: parent,
    startTime: hr(s.startMs),
    endTime: hr(s.startMs + durationMs),
    status: { code: s.statusCode, message: s.statusMessage },
    attributes: s.attributes,
    links: [],
    events: [],
    duration: hr(durationMs),
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
  return span as unknown as ReadableSpan;
}
