/**
 * OTLP JSON `ExportTraceServiceRequest` → span-model spans. Pure.
 *
 * OTLP JSON is not generic proto3 JSON: trace/span ids are hex (case-insensitive), not base64, so
 * no generic protobuf-JSON mapper is used. Accepted: lowerCamelCase keys and snake_case proto
 * names; enums as integers (or their names); 64-bit integers as decimal strings or numbers;
 * unknown fields are ignored.
 *
 * Structure problems above the span (not an object, `resourceSpans` not an array …) make the whole
 * request invalid (`InvalidRequestError`); problems inside a span, or in the resource/scope of a
 * group of spans, reject just those spans (counted in the result).
 */
import type { InstrumentationScope, Resource, Span, SpanEvent, SpanLink } from '../../model/span.js';
import { jsonAttributes, pick } from './attributes-json.js';
import { eventTimeUs, makeResource, Rejections, spanProblem, type DecodeResult } from './decode-result.js';
import { InvalidRequestError, InvalidSpanError } from './errors.js';
import { jsonHexId, ZERO_SPAN_ID } from './ids.js';
import { jsonNanosToMicros } from './time.js';

type Obj = Record<string, unknown>;

/** Throws `InvalidRequestError` when the body is not JSON or not shaped like a request. */
export function decodeOtlpJson(body: Uint8Array | string): DecodeResult {
  let doc: unknown;
  try {
    let text = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    // Some clients (Windows tooling) prefix UTF-8 JSON with a byte order mark, which JSON.parse refuses.
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    doc = JSON.parse(text);
  } catch (err) {
    throw new InvalidRequestError(`invalid JSON: ${(err as Error).message}`);
  }
  return normalizeJsonRequest(doc);
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `o[field]` as an array; absent/null → []; anything else is an invalid request. */
function arrayField(o: Obj, camel: string, snake: string, where: string): unknown[] {
  const v = pick(o, camel, snake);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new InvalidRequestError(`${where}${camel} must be an array`);
  return v;
}

export function normalizeJsonRequest(doc: unknown): DecodeResult {
  if (!isObj(doc)) throw new InvalidRequestError('request body must be a JSON object (ExportTraceServiceRequest)');
  const spans: Span[] = [];
  const rejections = new Rejections();
  const rss = arrayField(doc, 'resourceSpans', 'resource_spans', '');
  for (let r = 0; r < rss.length; r++) {
    const rs = rss[r];
    const rWhere = `resourceSpans[${r}]`;
    if (!isObj(rs)) throw new InvalidRequestError(`${rWhere} must be an object`);
    const sss = arrayField(rs, 'scopeSpans', 'scope_spans', `${rWhere}.`);
    const groups: Array<{ ss: Obj; spans: unknown[] }> = [];
    for (let s = 0; s < sss.length; s++) {
      const ss = sss[s];
      if (!isObj(ss)) throw new InvalidRequestError(`${rWhere}.scopeSpans[${s}] must be an object`);
      groups.push({ ss, spans: arrayField(ss, 'spans', 'spans', `${rWhere}.scopeSpans[${s}].`) });
    }
    let resource: Resource;
    try {
      resource = jsonResource(rs.resource, `${rWhere}.resource`);
    } catch (err) {
      if (!(err instanceof InvalidSpanError)) throw err;
      const n = groups.reduce((acc, g) => acc + g.spans.length, 0);
      if (n > 0) rejections.add(n, err.message);
      continue;
    }
    for (let s = 0; s < groups.length; s++) {
      const { ss, spans: jsonSpans } = groups[s];
      const sWhere = `${rWhere}.scopeSpans[${s}]`;
      let scope: InstrumentationScope;
      try {
        scope = jsonScope(ss.scope, `${sWhere}.scope`);
      } catch (err) {
        if (!(err instanceof InvalidSpanError)) throw err;
        if (jsonSpans.length > 0) rejections.add(jsonSpans.length, err.message);
        continue;
      }
      for (let i = 0; i < jsonSpans.length; i++) {
        try {
          spans.push(normalizeJsonSpan(jsonSpans[i], resource, scope));
        } catch (err) {
          if (!(err instanceof InvalidSpanError)) throw err;
          rejections.add(1, `${sWhere}.spans[${i}]: ${err.message}`);
        }
      }
    }
  }
  return rejections.result(spans);
}

function jsonResource(v: unknown, where: string): Resource {
  if (v === undefined || v === null) return makeResource([]);
  if (!isObj(v)) throw new InvalidSpanError(`${where} must be an object`);
  return makeResource(jsonAttributes(v.attributes, `${where}.attributes`));
}

function jsonScope(v: unknown, where: string): InstrumentationScope {
  if (v === undefined || v === null) return { name: '', version: '' };
  if (!isObj(v)) throw new InvalidSpanError(`${where} must be an object`);
  return { name: str(v.name, `${where}.name`), version: str(v.version, `${where}.version`) };
}

function str(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new InvalidSpanError(`${field} must be a string`);
  return v;
}

const UINT_RE = /^[0-9]+$/;

/** A uint32 (number or decimal string); absent → 0. */
function uint32(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'string' && UINT_RE.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new InvalidSpanError(`${field} must be a uint32`);
  }
  return n;
}

const KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };

/** An enum: integer (OTLP JSON) or its proto name; absent → 0; unknown → NaN (the validator names it). */
function enumValue(v: unknown, names: Record<string, number>): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Object.hasOwn(names, v) ? names[v] : NaN;
  return NaN;
}

function id(v: unknown, field: string): string {
  const h = jsonHexId(v);
  if (h === undefined) throw new InvalidSpanError(`${field} must be a hex string`);
  return h;
}

function nanos(v: unknown, field: string): number {
  const us = jsonNanosToMicros(v);
  if (Number.isNaN(us)) throw new InvalidSpanError(`${field} must be nanoseconds as a decimal string or integer`);
  return us;
}

function normalizeJsonSpan(v: unknown, resource: Resource, scope: InstrumentationScope): Span {
  if (!isObj(v)) throw new InvalidSpanError('must be an object');
  const traceId = id(pick(v, 'traceId', 'trace_id'), 'traceId');
  const spanId = id(pick(v, 'spanId', 'span_id'), 'spanId');
  let parentSpanId = id(pick(v, 'parentSpanId', 'parent_span_id'), 'parentSpanId');
  if (parentSpanId === ZERO_SPAN_ID) parentSpanId = '';
  const startTimeUs = nanos(pick(v, 'startTimeUnixNano', 'start_time_unix_nano'), 'startTimeUnixNano');
  const endUs = nanos(pick(v, 'endTimeUnixNano', 'end_time_unix_nano'), 'endTimeUnixNano');
  const kind = enumValue(v.kind, KIND_NAMES);
  const st = v.status;
  if (st !== undefined && st !== null && !isObj(st)) throw new InvalidSpanError('status must be an object');
  const statusCode = st ? enumValue(st.code, STATUS_NAMES) : 0;
  const problem = spanProblem(traceId, spanId, parentSpanId, startTimeUs, endUs, kind, statusCode);
  if (problem) throw new InvalidSpanError(problem);

  const span: Span = {
    traceId,
    spanId,
    parentSpanId,
    traceState: str(pick(v, 'traceState', 'trace_state'), 'traceState'),
    // The model keeps the W3C trace flags only; bits 8-9 (is-remote) are OTLP bookkeeping.
    flags: uint32(v.flags, 'flags') & 0xff,
    name: str(v.name, 'name'),
    kind: kind as Span['kind'],
    startTimeUs,
    durationUs: endUs - startTimeUs,
    attributes: jsonAttributes(v.attributes, 'attributes'),
    events: jsonEvents(v.events),
    links: jsonLinks(v.links),
    status: { code: statusCode as Span['status']['code'], message: st ? str(st.message, 'status.message') : '' },
    resource,
    scope,
  };
  const da = uint32(pick(v, 'droppedAttributesCount', 'dropped_attributes_count'), 'droppedAttributesCount');
  if (da > 0) span.droppedAttributesCount = da;
  const de = uint32(pick(v, 'droppedEventsCount', 'dropped_events_count'), 'droppedEventsCount');
  if (de > 0) span.droppedEventsCount = de;
  const dl = uint32(pick(v, 'droppedLinksCount', 'dropped_links_count'), 'droppedLinksCount');
  if (dl > 0) span.droppedLinksCount = dl;
  return span;
}

function jsonEvents(v: unknown): SpanEvent[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new InvalidSpanError('events must be an array');
  const out: SpanEvent[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const e = v[i];
    if (!isObj(e)) throw new InvalidSpanError(`events[${i}] must be an object`);
    const ev: SpanEvent = {
      timeUs: eventTimeUs(nanos(pick(e, 'timeUnixNano', 'time_unix_nano'), `events[${i}].timeUnixNano`), `events[${i}].timeUnixNano`),
      name: str(e.name, `events[${i}].name`),
      attributes: jsonAttributes(e.attributes, `events[${i}].attributes`),
    };
    const da = uint32(pick(e, 'droppedAttributesCount', 'dropped_attributes_count'), `events[${i}].droppedAttributesCount`);
    if (da > 0) ev.droppedAttributesCount = da;
    out[i] = ev;
  }
  return out;
}

function jsonLinks(v: unknown): SpanLink[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new InvalidSpanError('links must be an array');
  const out: SpanLink[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const l = v[i];
    if (!isObj(l)) throw new InvalidSpanError(`links[${i}] must be an object`);
    const traceId = id(pick(l, 'traceId', 'trace_id'), `links[${i}].traceId`);
    const spanId = id(pick(l, 'spanId', 'span_id'), `links[${i}].spanId`);
    if (traceId.length !== 32) throw new InvalidSpanError(`links[${i}].traceId must be 16 bytes, got ${traceId.length / 2}`);
    if (spanId.length !== 16) throw new InvalidSpanError(`links[${i}].spanId must be 8 bytes, got ${spanId.length / 2}`);
    const link: SpanLink = { traceId, spanId, attributes: jsonAttributes(l.attributes, `links[${i}].attributes`) };
    const ts = str(pick(l, 'traceState', 'trace_state'), `links[${i}].traceState`);
    if (ts !== '') link.traceState = ts;
    const da = uint32(pick(l, 'droppedAttributesCount', 'dropped_attributes_count'), `links[${i}].droppedAttributesCount`);
    if (da > 0) link.droppedAttributesCount = da;
    out[i] = link;
  }
  return out;
}
