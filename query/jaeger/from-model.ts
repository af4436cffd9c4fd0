/**
 * Internal span model → Jaeger JSON, following the OpenTelemetry → Jaeger mapping
 * (opentelemetry-collector-contrib pkg/translator/jaeger, as jaeger-query v2 uses it):
 * span kind → `span.kind`; status ERROR → `otel.status_code=ERROR`, `error=true`,
 * `otel.status_description`; status OK → `otel.status_code=OK`; scope → `otel.scope.name/version`;
 * tracestate → `w3c.tracestate`; dropped counts → `otel.dropped_{attributes,events,links}_count`
 * (OTel's mapping to non-OTLP formats); events → logs with `event` first; links → FOLLOWS_FROM;
 * resource → process (service.name becomes serviceName, the rest process tags).
 */
import { type Attribute, type Span, type Trace, StatusCode, spanKindNames } from '../../model/span.js';
import { anyValueJsonToPlain } from '../otlp-json/any-value.js';
import { jaegerTraceId } from './ids.js';
import type { JaegerKeyValue, JaegerLog, JaegerProcess, JaegerReference, JaegerSpan, JaegerTrace } from './model.js';

export function toJaegerKeyValue(a: Attribute): JaegerKeyValue {
  switch (a.type) {
    case 'array':
    case 'kvlist':
      // Jaeger has no composite type; OTel's translator stores the JSON form as a string.
      return { key: a.key, type: 'string', value: safeCompositeToJson(a.value) };
    default:
      return { key: a.key, type: a.type, value: a.value };
  }
}

function safeCompositeToJson(stored: string): string {
  try {
    return JSON.stringify(anyValueJsonToPlain(JSON.parse(stored)));
  } catch {
    return stored;
  }
}

function str(key: string, value: string): JaegerKeyValue {
  return { key, type: 'string', value };
}

function int(key: string, value: number): JaegerKeyValue {
  return { key, type: 'int64', value };
}

function spanTags(span: Span): JaegerKeyValue[] {
  const tags = span.attributes.map(toJaegerKeyValue);
  if (span.scope.name) tags.push(str('otel.scope.name', span.scope.name));
  if (span.scope.version) tags.push(str('otel.scope.version', span.scope.version));
  const kind = spanKindNames[span.kind];
  if (kind) tags.push(str('span.kind', kind));
  if (span.status.code === StatusCode.ERROR) {
    tags.push(str('otel.status_code', 'ERROR'));
    tags.push({ key: 'error', type: 'bool', value: true });
    if (span.status.message) tags.push(str('otel.status_description', span.status.message));
  } else if (span.status.code === StatusCode.OK) {
    tags.push(str('otel.status_code', 'OK'));
    if (span.status.message) tags.push(str('otel.status_description', span.status.message));
  }
  if (span.traceState) tags.push(str('w3c.tracestate', span.traceState));
  // What the SDK or the collector's span limits dropped: OTel's non-OTLP mapping names these tags.
  if (span.droppedAttributesCount) tags.push(int('otel.dropped_attributes_count', span.droppedAttributesCount));
  if (span.droppedEventsCount) tags.push(int('otel.dropped_events_count', span.droppedEventsCount));
  if (span.droppedLinksCount) tags.push(int('otel.dropped_links_count', span.droppedLinksCount));
  return tags;
}

function spanLogs(span: Span): JaegerLog[] {
  return span.events.map((e) => {
    const fields: JaegerKeyValue[] = [];
    if (e.name) fields.push(str('event', e.name));
    for (const a of e.attributes) fields.push(toJaegerKeyValue(a));
    if (e.droppedAttributesCount) fields.push(int('otel.dropped_attributes_count', e.droppedAttributesCount));
    return { timestamp: e.timeUs, fields };
  });
}

function spanReferences(span: Span): JaegerReference[] {
  const refs: JaegerReference[] = [];
  // CHILD_OF first: jaeger-ui takes references[0] as the parent.
  if (span.parentSpanId) {
    refs.push({ refType: 'CHILD_OF', traceID: jaegerTraceId(span.traceId), spanID: span.parentSpanId });
  }
  for (const l of span.links) {
    refs.push({ refType: 'FOLLOWS_FROM', traceID: jaegerTraceId(l.traceId), spanID: l.spanId });
  }
  return refs;
}

/** Identity of a process: service plus resource attributes, order-insensitive. */
function processKey(span: Span): string {
  const attrs = span.resource.attributes
    .filter((a) => a.key !== 'service.name')
    .map((a) => `${a.key}\u0000${a.type}\u0000${String(a.value)}`)
    .sort();
  return `${span.resource.serviceName}\u0001${attrs.join('\u0001')}`;
}

/**
 * Spans keep the order they have in `trace.spans` (adjusters sort them); processes are numbered
 * p1, p2, … in order of first appearance.
 */
export function toJaegerTrace(trace: Trace): JaegerTrace {
  const processes: Record<string, JaegerProcess> = {};
  const processIds = new Map<string, string>();
  const spans: JaegerSpan[] = trace.spans.map((span) => {
    const key = processKey(span);
    let processID = processIds.get(key);
    if (processID === undefined) {
      processID = `p${processIds.size + 1}`;
      processIds.set(key, processID);
      processes[processID] = {
        serviceName: span.resource.serviceName,
        tags: span.resource.attributes.filter((a) => a.key !== 'service.name').map(toJaegerKeyValue),
      };
    }
    return {
      traceID: jaegerTraceId(span.traceId),
      spanID: span.spanId,
      flags: span.flags & 0xff,
      operationName: span.name,
      references: spanReferences(span),
      startTime: span.startTimeUs,
      duration: span.durationUs,
      tags: spanTags(span),
      logs: spanLogs(span),
      processID,
      warnings: span.warnings && span.warnings.length > 0 ? span.warnings : null,
    };
  });
  return {
    traceID: jaegerTraceId(trace.traceId),
    spans,
    processes,
    warnings: trace.warnings && trace.warnings.length > 0 ? trace.warnings : null,
  };
}
