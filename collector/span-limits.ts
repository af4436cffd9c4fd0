/**
 * Resource limits on what one span may bring in, applied by the decode stage after the names are
 * cleaned (name-limits.ts), on every receiver. Like the OpenTelemetry SDK's span limits, but at
 * the collector, so a client without limits (or a hostile one) cannot make one span cost
 * megabytes in the store, the query API and the UI:
 *  - attributes per span, per event and per link: the first `maxAttributes` are kept (SDKs drop
 *    attributes added after the limit); the rest are counted in the owner's
 *    `droppedAttributesCount` (OTLP `dropped_attributes_count`);
 *  - events per span: the last `maxEvents` are kept (the SDKs' evicting queue: an exception
 *    recorded at the end survives); the rest are counted in `droppedEventsCount`;
 *  - links per span: the first `maxLinks` are kept; the rest are counted in `droppedLinksCount`;
 *  - value length: string attribute values (also inside arrays and kvlists), event names and the
 *    status message are cut to `maxAttributeValueLength` UTF-16 code units (never splitting a
 *    surrogate pair, no marker, as the SDKs cut), binary values to that many bytes (rounded down
 *    to whole base64 quanta); an array or kvlist still longer than that in its JSON form keeps its
 *    leading elements that fit. Resource attributes are cut too (once per shared resource), but
 *    not counted against `maxAttributes`;
 *  - spans per trace: a collector process keeps at most `maxSpansPerTrace` spans of one trace id
 *    (counted over the last `TRACE_COUNT_MEMORY` trace ids it saw); further spans of that trace
 *    are dropped and reported in `partialSuccess.rejectedSpans`.
 * Dropped counts a client already sent are kept and added to. A limit of 0 means no limit.
 */
import type { Attribute, Span } from '../model/span.js';

export interface SpanLimits {
  /** Attributes kept per span, per event and per link; 0 = no limit. OTel SDK default: 128. */
  maxAttributes: number;
  /** UTF-16 code units of a string value (bytes of a binary one); 0 = no limit. */
  maxAttributeValueLength: number;
  /** Events kept per span (the last ones); 0 = no limit. OTel SDK default: 128. */
  maxEvents: number;
  /** Links kept per span (the first ones); 0 = no limit. OTel SDK default: 128. */
  maxLinks: number;
  /** Spans of one trace id kept by one collector process; 0 = no limit. */
  maxSpansPerTrace: number;
}

/**
 * 64 KiB per value keeps whole SQL statements and stack traces (the longest values real
 * instrumentation sends) while bounding a span with the default 128 attributes to ~8 MiB of
 * attribute text; the SDKs' own default is unlimited.
 */
export const defaultSpanLimits = (): SpanLimits => ({
  maxAttributes: 128,
  maxAttributeValueLength: 64 * 1024,
  maxEvents: 128,
  maxLinks: 128,
  maxSpansPerTrace: 100_000,
});

/** What the limits cut, summed over spans. */
export interface SpanLimitCounts {
  /** Attributes dropped from spans, events and links. */
  droppedAttributes: number;
  /** Values (attribute values, event names, status messages) cut to the length limit. */
  truncatedValues: number;
  droppedEvents: number;
  droppedLinks: number;
  /** Spans dropped because their trace already had `maxSpansPerTrace` spans. */
  droppedSpans: number;
}

export const zeroSpanLimitCounts = (): SpanLimitCounts => ({ droppedAttributes: 0, truncatedValues: 0, droppedEvents: 0, droppedLinks: 0, droppedSpans: 0 });

export function addSpanLimitCounts(into: SpanLimitCounts, add: SpanLimitCounts | undefined): void {
  if (!add) return;
  into.droppedAttributes += add.droppedAttributes;
  into.truncatedValues += add.truncatedValues;
  into.droppedEvents += add.droppedEvents;
  into.droppedLinks += add.droppedLinks;
  into.droppedSpans += add.droppedSpans;
}

export function anySpanLimitCount(c: SpanLimitCounts): boolean {
  return c.droppedAttributes + c.truncatedValues + c.droppedEvents + c.droppedLinks + c.droppedSpans > 0;
}

/** Trace ids whose span counts are remembered; the oldest seen is forgotten first (~10 MB at most). */
export const TRACE_COUNT_MEMORY = 100_000;

/** `s` cut to at most `max` code units, not splitting a surrogate pair. */
export function cutString(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return s.slice(0, end);
}

/** base64 `b64` cut to at most `maxBytes` decoded bytes (whole 3-byte quanta). */
function cutBase64(b64: string, maxBytes: number): string {
  const chars = Math.floor(maxBytes / 3) * 4;
  return b64.length <= chars ? b64 : b64.slice(0, chars);
}

type Json = unknown;

/** Cuts every string and bytes value inside an OTLP JSON AnyValue tree; returns whether one was cut. */
function cutAnyValueStrings(v: Json, max: number): boolean {
  if (typeof v !== 'object' || v === null) return false;
  let cut = false;
  const o = v as Record<string, Json>;
  if (typeof o.stringValue === 'string' && o.stringValue.length > max) {
    o.stringValue = cutString(o.stringValue, max);
    cut = true;
  }
  if (typeof o.bytesValue === 'string') {
    const b = cutBase64(o.bytesValue, max);
    if (b !== o.bytesValue) { o.bytesValue = b; cut = true; }
  }
  for (const key of ['arrayValue', 'kvlistValue'] as const) {
    const inner = o[key] as { values?: Json[] } | undefined;
    if (inner && Array.isArray(inner.values)) for (const e of inner.values) if (cutAnyValueStrings(e, max)) cut = true;
  }
  // kvlist entries are {key, value}
  if (typeof o.key === 'string' && 'value' in o && cutAnyValueStrings(o.value, max)) cut = true;
  return cut;
}

/** An array/kvlist attribute's stored JSON (`{"values":[…]}`) within `max` code units, or undefined when unchanged. */
function cutComposite(stored: string, max: number): string | undefined {
  if (stored.length <= max) return undefined;
  let doc: { values?: Json[] };
  try {
    doc = JSON.parse(stored) as { values?: Json[] };
  } catch {
    return '{"values":[]}';
  }
  if (!doc || !Array.isArray(doc.values)) return '{"values":[]}';
  for (const e of doc.values) cutAnyValueStrings(e, max);
  let out = JSON.stringify(doc);
  if (out.length > max) {
    // Keep the leading elements that fit.
    const kept: Json[] = [];
    let size = '{"values":[]}'.length;
    for (const e of doc.values) {
      const len = JSON.stringify(e).length + (kept.length > 0 ? 1 : 0);
      if (size + len > max) break;
      size += len;
      kept.push(e);
    }
    out = JSON.stringify({ values: kept });
  }
  return out;
}

/** Cuts `attrs`' values in place to `max`; returns how many were cut. */
function cutAttributeValues(attrs: Attribute[], max: number): number {
  let cut = 0;
  for (const a of attrs) {
    switch (a.type) {
      case 'string':
        if (a.value.length > max) { a.value = cutString(a.value, max); cut++; }
        break;
      case 'binary': {
        const b = cutBase64(a.value, max);
        if (b !== a.value) { a.value = b; cut++; }
        break;
      }
      case 'array':
      case 'kvlist': {
        const c = cutComposite(a.value, max);
        if (c !== undefined) { a.value = c; cut++; }
        break;
      }
      default:
        break;
    }
  }
  return cut;
}

/**
 * Applies `SpanLimits` to decoded spans. One instance per decode stage: it remembers span counts
 * per trace id across requests.
 */
export class SpanLimiter {
  private readonly spansPerTrace = new Map<string, number>();

  constructor(readonly limits: SpanLimits) {}

  /**
   * Cuts `spans` in place and returns the spans kept (the same array when none was dropped) with
   * what was cut. Call `forget(kept)` when the kept spans could not be stored after all, so a
   * retry of the same request is not counted twice against its traces.
   */
  apply(spans: Span[]): { spans: Span[]; counts: SpanLimitCounts } {
    const counts = zeroSpanLimitCounts();
    const { maxAttributes, maxAttributeValueLength: maxLen, maxEvents, maxLinks, maxSpansPerTrace } = this.limits;
    let kept = spans;
    if (maxSpansPerTrace > 0) {
      kept = [];
      for (const s of spans) {
        const n = this.spansPerTrace.get(s.traceId) ?? 0;
        if (n >= maxSpansPerTrace) { counts.droppedSpans++; continue; }
        if (n === 0) {
          if (this.spansPerTrace.size >= TRACE_COUNT_MEMORY) {
            const oldest = this.spansPerTrace.keys().next().value;
            if (oldest !== undefined) this.spansPerTrace.delete(oldest);
          }
        }
        this.spansPerTrace.set(s.traceId, n + 1);
        kept.push(s);
      }
      if (kept.length === spans.length) kept = spans;
    }
    let lastResource: Span['resource'] | undefined;
    for (const s of kept) {
      if (maxLen > 0 && s.resource !== lastResource) {
        lastResource = s.resource;
        counts.truncatedValues += cutAttributeValues(s.resource.attributes, maxLen);
      }
      if (maxAttributes > 0 && s.attributes.length > maxAttributes) {
        const drop = s.attributes.length - maxAttributes;
        s.attributes.length = maxAttributes;
        s.droppedAttributesCount = (s.droppedAttributesCount ?? 0) + drop;
        counts.droppedAttributes += drop;
      }
      if (maxEvents > 0 && s.events.length > maxEvents) {
        const drop = s.events.length - maxEvents;
        s.events = s.events.slice(drop);
        s.droppedEventsCount = (s.droppedEventsCount ?? 0) + drop;
        counts.droppedEvents += drop;
      }
      if (maxLinks > 0 && s.links.length > maxLinks) {
        const drop = s.links.length - maxLinks;
        s.links.length = maxLinks;
        s.droppedLinksCount = (s.droppedLinksCount ?? 0) + drop;
        counts.droppedLinks += drop;
      }
      for (const owner of [...s.events, ...s.links]) {
        if (maxAttributes > 0 && owner.attributes.length > maxAttributes) {
          const drop = owner.attributes.length - maxAttributes;
          owner.attributes.length = maxAttributes;
          owner.droppedAttributesCount = (owner.droppedAttributesCount ?? 0) + drop;
          counts.droppedAttributes += drop;
        }
        if (maxLen > 0) counts.truncatedValues += cutAttributeValues(owner.attributes, maxLen);
      }
      if (maxLen > 0) {
        counts.truncatedValues += cutAttributeValues(s.attributes, maxLen);
        if (s.status.message.length > maxLen) { s.status.message = cutString(s.status.message, maxLen); counts.truncatedValues++; }
        for (const e of s.events) if (e.name.length > maxLen) { e.name = cutString(e.name, maxLen); counts.truncatedValues++; }
      }
    }
    return { spans: kept, counts };
  }

  /** Takes back the per-trace counts of `spans` that `apply` kept but that were not stored. */
  forget(spans: readonly Span[]): void {
    if (this.limits.maxSpansPerTrace <= 0) return;
    for (const s of spans) this.forgetOne(s.traceId);
  }

  /**
   * What `forget` needs of the spans (their trace ids, one per span), or undefined when nothing
   * is counted: kept instead of the spans while they are being stored, the spans themselves can
   * be collected young.
   */
  forgettable(spans: readonly Span[]): string[] | undefined {
    if (this.limits.maxSpansPerTrace <= 0) return undefined;
    const ids = new Array<string>(spans.length);
    for (let i = 0; i < spans.length; i++) ids[i] = spans[i].traceId;
    return ids;
  }

  /** `forget` for what `forgettable` returned. */
  forgetTraceIds(traceIds: readonly string[] | undefined): void {
    if (!traceIds || this.limits.maxSpansPerTrace <= 0) return;
    for (const id of traceIds) this.forgetOne(id);
  }

  private forgetOne(traceId: string): void {
    const n = this.spansPerTrace.get(traceId);
    if (n === undefined) return;
    if (n <= 1) this.spansPerTrace.delete(traceId);
    else this.spansPerTrace.set(traceId, n - 1);
  }
}

/** The `partialSuccess.errorMessage` part saying what the limits cut; '' when nothing was. */
export function spanLimitsWarning(c: SpanLimitCounts, limits: SpanLimits): string {
  const parts: string[] = [];
  if (c.droppedAttributes) parts.push(`${c.droppedAttributes} attribute(s) dropped (more than ${limits.maxAttributes} on a span, event or link)`);
  if (c.truncatedValues) parts.push(`${c.truncatedValues} value(s) cut to ${limits.maxAttributeValueLength} characters`);
  if (c.droppedEvents) parts.push(`${c.droppedEvents} event(s) dropped (more than ${limits.maxEvents} on a span)`);
  if (c.droppedLinks) parts.push(`${c.droppedLinks} link(s) dropped (more than ${limits.maxLinks} on a span)`);
  if (c.droppedSpans) parts.push(`${c.droppedSpans} span(s) dropped: their trace already has ${limits.maxSpansPerTrace} spans`);
  return parts.length ? `span limits applied: ${parts.join(', ')}` : '';
}
