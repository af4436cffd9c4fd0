/**
 * Internal spans → OTLP JSON `TracesData` (api_v3's response shape): spans grouped by resource,
 * then by instrumentation scope; ids hex; 64-bit integers and nanosecond times as decimal strings.
 */
import type { Attribute, Span } from '../../model/span.js';
import { attributeToOtlp, type OtlpKeyValue } from './any-value.js';

export interface OtlpJsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  events: { timeUnixNano: string; name: string; attributes: OtlpKeyValue[]; droppedAttributesCount?: number }[];
  links: { traceId: string; spanId: string; traceState?: string; attributes: OtlpKeyValue[]; droppedAttributesCount?: number }[];
  status: { code?: number; message?: string };
  droppedAttributesCount?: number;
  droppedEventsCount?: number;
  droppedLinksCount?: number;
}

export interface OtlpJsonResourceSpans {
  resource: { attributes: OtlpKeyValue[] };
  scopeSpans: { scope: { name: string; version?: string }; spans: OtlpJsonSpan[] }[];
}

const usToNanos = (us: number): string => (BigInt(us) * 1000n).toString();

function attrsKey(attrs: readonly Attribute[]): string {
  return attrs.map((a) => `${a.key}\u0000${a.type}\u0000${String(a.value)}`).sort().join('\u0001');
}

export function spanToOtlpJson(s: Span): OtlpJsonSpan {
  const out: OtlpJsonSpan = {
    traceId: s.traceId,
    spanId: s.spanId,
    flags: s.flags,
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: usToNanos(s.startTimeUs),
    endTimeUnixNano: usToNanos(s.startTimeUs + s.durationUs),
    attributes: s.attributes.map(attributeToOtlp),
    events: s.events.map((e) => ({
      timeUnixNano: usToNanos(e.timeUs),
      name: e.name,
      attributes: e.attributes.map(attributeToOtlp),
      ...(e.droppedAttributesCount ? { droppedAttributesCount: e.droppedAttributesCount } : {}),
    })),
    links: s.links.map((l) => ({
      traceId: l.traceId,
      spanId: l.spanId,
      ...(l.traceState ? { traceState: l.traceState } : {}),
      attributes: l.attributes.map(attributeToOtlp),
      ...(l.droppedAttributesCount ? { droppedAttributesCount: l.droppedAttributesCount } : {}),
    })),
    status: s.status.code || s.status.message ? { code: s.status.code, ...(s.status.message ? { message: s.status.message } : {}) } : {},
  };
  if (s.parentSpanId) out.parentSpanId = s.parentSpanId;
  if (s.traceState) out.traceState = s.traceState;
  if (s.droppedAttributesCount) out.droppedAttributesCount = s.droppedAttributesCount;
  if (s.droppedEventsCount) out.droppedEventsCount = s.droppedEventsCount;
  if (s.droppedLinksCount) out.droppedLinksCount = s.droppedLinksCount;
  return out;
}

export function spansToOtlpJson(spans: readonly Span[]): { resourceSpans: OtlpJsonResourceSpans[] } {
  const byResource = new Map<string, { rs: OtlpJsonResourceSpans; scopes: Map<string, OtlpJsonSpan[]> }>();
  for (const s of spans) {
    const rKey = attrsKey(s.resource.attributes);
    let entry = byResource.get(rKey);
    if (!entry) {
      entry = { rs: { resource: { attributes: s.resource.attributes.map(attributeToOtlp) }, scopeSpans: [] }, scopes: new Map() };
      byResource.set(rKey, entry);
    }
    const sKey = `${s.scope.name}\u0000${s.scope.version}`;
    let list = entry.scopes.get(sKey);
    if (!list) {
      list = [];
      entry.scopes.set(sKey, list);
      entry.rs.scopeSpans.push({ scope: { name: s.scope.name, ...(s.scope.version ? { version: s.scope.version } : {}) }, spans: list });
    }
    list.push(spanToOtlpJson(s));
  }
  return { resourceSpans: [...byResource.values()].map((e) => e.rs) };
}
