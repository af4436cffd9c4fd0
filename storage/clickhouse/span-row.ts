/**
 * Span ↔ `spans` row (JSONEachRow). Span attributes are parallel arrays of key, type and string
 * value so that order, duplicates and types round-trip exactly; the resource is one JSON value
 * `[keys, types, values]` (the same on every span of a process: a LowCardinality column stores
 * it once per part); events and links, read only with the whole trace, are JSON. `tags` carries
 * the search terms (`key=value`) that are not span attributes: the resource's and the events'
 * attributes, `event=<name>`, and the tags Jaeger derives from kind and status. The span
 * attributes' terms are computed by the search expression (schema.ts `TERMS_EXPR`).
 */
import { latencyBin } from '../../model/latency-histogram.js';
import { attributeValueAsString, type Attribute, type Span, type SpanKind, type StatusCode } from '../../model/span.js';
// The derived tags (span.kind, error, otel.status_code) are part of what tag search means for
// every backend; the SQLite backend's pure function defines them, used here so both agree.
import { forEachDerivedTag } from '../sqlite/terms.js';
import { num } from './sql.js';

export interface SpanRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  trace_state: string;
  flags: number;
  name: string;
  kind: number;
  service: string;
  start_us: number;
  duration_us: number;
  status_code: number;
  status_message: string;
  attr_keys: string[];
  attr_types: string[];
  attr_values: string[];
  /** JSON `[keys, types, values]` of the resource attributes. */
  resource: string;
  scope_name: string;
  scope_version: string;
  events: string;
  links: string;
  dropped_attributes: number | null;
  dropped_events: number | null;
  dropped_links: number | null;
}

/** What the writer adds on top of the span's own columns. */
export interface WriteRow extends SpanRow {
  tags: string[];
  latency_bin: number;
  first_write: 0 | 1;
  version: number;
}

/** Columns read back to rebuild a span. */
export const SPAN_COLUMNS = [
  'trace_id', 'span_id', 'parent_span_id', 'trace_state', 'flags', 'name', 'kind', 'service', 'start_us', 'duration_us',
  'status_code', 'status_message', 'attr_keys', 'attr_types', 'attr_values', 'resource',
  'scope_name', 'scope_version', 'events', 'links', 'dropped_attributes', 'dropped_events', 'dropped_links',
] as const;

/** The search term of one attribute: what tag search compares (`key=value` in string form). */
export const tagTerm = (key: string, value: string): string => `${key}=${value}`;

function split(attrs: readonly Attribute[]): [string[], string[], string[]] {
  return [attrs.map((a) => a.key), attrs.map((a) => a.type), attrs.map(attributeValueAsString)];
}

function join(keys: string[], types: string[], values: string[]): Attribute[] {
  return keys.map((key, i) => attributeOf(key, types[i], values[i]));
}

function attributeOf(key: string, type: string, v: string): Attribute {
  switch (type) {
    case 'bool': return { key, type, value: v === 'true' };
    case 'float64': return { key, type, value: Number(v) };
    case 'int64': {
      // As the model: a JS number when exact, the decimal string otherwise.
      const n = Number(v);
      return { key, type, value: Number.isSafeInteger(n) ? n : v };
    }
    case 'binary': case 'array': case 'kvlist': case 'string': return { key, type, value: v };
    default: return { key, type: 'string', value: v };
  }
}

interface StoredEvent { t: number; n: string; k: string[]; y: string[]; v: string[]; d?: number }
interface StoredLink { t: string; s: string; ts?: string; k: string[]; y: string[]; v: string[]; d?: number }

export function toRow(span: Span, extra: { firstWrite: boolean; version: number }): WriteRow {
  const [attr_keys, attr_types, attr_values] = split(span.attributes);
  const [res_keys, res_types, res_values] = split(span.resource.attributes);
  const tags: string[] = [];
  const addTerms = (keys: string[], values: string[]) => { for (let i = 0; i < keys.length; i++) tags.push(tagTerm(keys[i], values[i])); };
  addTerms(res_keys, res_values);
  const events: StoredEvent[] = span.events.map((e) => {
    const [k, y, v] = split(e.attributes);
    addTerms(k, v);
    tags.push(tagTerm('event', e.name));
    return { t: e.timeUs, n: e.name, k, y, v, ...(e.droppedAttributesCount !== undefined ? { d: e.droppedAttributesCount } : {}) };
  });
  forEachDerivedTag(span.kind, span.status.code, (k, v) => tags.push(tagTerm(k, v)));
  const links: StoredLink[] = span.links.map((l) => {
    const [k, y, v] = split(l.attributes);
    return { t: l.traceId, s: l.spanId, ...(l.traceState !== undefined ? { ts: l.traceState } : {}), k, y, v, ...(l.droppedAttributesCount !== undefined ? { d: l.droppedAttributesCount } : {}) };
  });
  return {
    trace_id: span.traceId,
    span_id: span.spanId,
    parent_span_id: span.parentSpanId,
    trace_state: span.traceState,
    flags: span.flags,
    name: span.name,
    kind: span.kind,
    service: span.resource.serviceName,
    start_us: span.startTimeUs,
    duration_us: span.durationUs,
    status_code: span.status.code,
    status_message: span.status.message,
    attr_keys, attr_types, attr_values,
    resource: JSON.stringify([res_keys, res_types, res_values]),
    scope_name: span.scope.name,
    scope_version: span.scope.version,
    events: JSON.stringify(events),
    links: JSON.stringify(links),
    dropped_attributes: span.droppedAttributesCount ?? null,
    dropped_events: span.droppedEventsCount ?? null,
    dropped_links: span.droppedLinksCount ?? null,
    // Duplicated terms only cost bloom-filter bits and bytes; drop them.
    tags: [...new Set(tags)],
    latency_bin: latencyBin(span.durationUs),
    first_write: extra.firstWrite ? 1 : 0,
    version: extra.version,
  };
}

/** The stored resource JSON as its `[keys, types, values]`. */
export function resourceAttributes(json: string): [string[], string[], string[]] {
  if (json === '') return [[], [], []];
  return JSON.parse(json) as [string[], string[], string[]];
}

const optNum = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : num(v));

export function fromRow(r: SpanRow): Span {
  const span: Span = {
    traceId: r.trace_id,
    spanId: r.span_id,
    parentSpanId: r.parent_span_id,
    traceState: r.trace_state,
    flags: num(r.flags),
    name: r.name,
    kind: num(r.kind) as SpanKind,
    startTimeUs: num(r.start_us),
    durationUs: num(r.duration_us),
    attributes: join(r.attr_keys, r.attr_types, r.attr_values),
    events: (JSON.parse(r.events) as StoredEvent[]).map((e) => ({
      timeUs: e.t, name: e.n, attributes: join(e.k, e.y, e.v), ...(e.d !== undefined ? { droppedAttributesCount: e.d } : {}),
    })),
    links: (JSON.parse(r.links) as StoredLink[]).map((l) => ({
      traceId: l.t, spanId: l.s, ...(l.ts !== undefined ? { traceState: l.ts } : {}), attributes: join(l.k, l.y, l.v),
      ...(l.d !== undefined ? { droppedAttributesCount: l.d } : {}),
    })),
    status: { code: num(r.status_code) as StatusCode, message: r.status_message },
    resource: { serviceName: r.service, attributes: join(...resourceAttributes(r.resource)) },
    scope: { name: r.scope_name, version: r.scope_version },
  };
  const da = optNum(r.dropped_attributes);
  const de = optNum(r.dropped_events);
  const dl = optNum(r.dropped_links);
  if (da !== undefined) span.droppedAttributesCount = da;
  if (de !== undefined) span.droppedEventsCount = de;
  if (dl !== undefined) span.droppedLinksCount = dl;
  return span;
}
