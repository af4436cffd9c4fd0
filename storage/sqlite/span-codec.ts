/**
 * The compact encoding of the parts of a span that are never searched column-wise: attributes,
 * events, links, status message, tracestate and the dropped counts. Pure functions, no I/O.
 *
 * Format 1 (first byte of the blob = 1, the rest UTF-8 JSON):
 *   [attributes, events, links, statusMessage, traceState, droppedAttrs, droppedEvents, droppedLinks]
 * with trailing default values ([] / '' / 0) trimmed, so a span with none of them stores NULL.
 * - attribute: `[key, value]` when the JSON type says the attribute type (string, bool, int64 as a
 *   JSON integer), else `[key, value, t]` with t = 'f' float64 (non-finite values and -0 as
 *   strings), 'i' int64 beyond ±2^53 (decimal string), 'b' binary, 'a' array, 'k' kvlist.
 * - event: `[timeUs − span start, name, attributes?, dropped?]` (relative time: shorter numbers).
 * - link: `[traceId, spanId, attributes?, traceState?, dropped?]`.
 * The leading format byte lets a later, denser binary format coexist with rows written today.
 */
import type { Attribute, Span, SpanEvent, SpanLink } from '../../model/span.js';

export const PAYLOAD_FORMAT_JSON = 1;

/** Fields of a span that live in the payload blob. Absent dropped counts mean 0. */
export interface PayloadFields {
  attributes: Attribute[];
  events: SpanEvent[];
  links: SpanLink[];
  statusMessage: string;
  traceState: string;
  droppedAttributesCount?: number;
  droppedEventsCount?: number;
  droppedLinksCount?: number;
}

type EncodedAttr = [string, unknown] | [string, unknown, string];

export function encodeAttributes(attrs: readonly Attribute[]): EncodedAttr[] {
  const out: EncodedAttr[] = new Array(attrs.length);
  for (let i = 0; i < attrs.length; i++) out[i] = encodeAttribute(attrs[i]);
  return out;
}

function encodeAttribute(a: Attribute): EncodedAttr {
  switch (a.type) {
    case 'string':
    case 'bool':
      return [a.key, a.value];
    case 'int64':
      return typeof a.value === 'number' && Number.isSafeInteger(a.value) ? [a.key, a.value] : [a.key, String(a.value), 'i'];
    case 'float64':
      // JSON has no NaN/Infinity and prints -0 as 0: keep those as strings to round-trip exactly.
      if (Object.is(a.value, -0)) return [a.key, '-0', 'f']; // String(-0) is '0'
      return Number.isFinite(a.value) ? [a.key, a.value, 'f'] : [a.key, String(a.value), 'f'];
    case 'binary':
      return [a.key, a.value, 'b'];
    case 'array':
      return [a.key, a.value, 'a'];
    case 'kvlist':
      return [a.key, a.value, 'k'];
  }
}

export function decodeAttributes(enc: unknown): Attribute[] {
  if (!Array.isArray(enc)) return [];
  const out: Attribute[] = new Array(enc.length);
  for (let i = 0; i < enc.length; i++) out[i] = decodeAttribute(enc[i] as EncodedAttr);
  return out;
}

function decodeAttribute(e: EncodedAttr): Attribute {
  const key = e[0];
  const v = e[1];
  if (e.length === 2) {
    if (typeof v === 'string') return { key, type: 'string', value: v };
    if (typeof v === 'boolean') return { key, type: 'bool', value: v };
    return { key, type: 'int64', value: v as number };
  }
  switch (e[2]) {
    case 'f': return { key, type: 'float64', value: typeof v === 'string' ? Number(v) : (v as number) };
    case 'i': return { key, type: 'int64', value: v as string };
    case 'b': return { key, type: 'binary', value: v as string };
    case 'a': return { key, type: 'array', value: v as string };
    case 'k': return { key, type: 'kvlist', value: v as string };
    default: throw new Error(`span payload: unknown attribute type tag ${JSON.stringify(e[2])} for key "${key}"`);
  }
}

/** Encodes the payload of `span`; null when every payload field is empty. */
export function encodePayload(span: Span): Buffer | null {
  const parts: unknown[] = [
    span.attributes.length ? encodeAttributes(span.attributes) : 0,
    span.events.length ? span.events.map((e) => encodeEvent(e, span.startTimeUs)) : 0,
    span.links.length ? span.links.map(encodeLink) : 0,
    span.status.message,
    span.traceState,
    span.droppedAttributesCount ?? 0,
    span.droppedEventsCount ?? 0,
    span.droppedLinksCount ?? 0,
  ];
  let n = parts.length;
  while (n > 0 && (parts[n - 1] === 0 || parts[n - 1] === '')) n--;
  if (n === 0) return null;
  parts.length = n;
  const json = JSON.stringify(parts);
  const buf = Buffer.allocUnsafe(1 + Buffer.byteLength(json));
  buf[0] = PAYLOAD_FORMAT_JSON;
  buf.write(json, 1, 'utf8');
  return buf;
}

function encodeEvent(e: SpanEvent, spanStartUs: number): unknown[] {
  const out: unknown[] = [e.timeUs - spanStartUs, e.name];
  if (e.attributes.length || e.droppedAttributesCount) out.push(encodeAttributes(e.attributes));
  if (e.droppedAttributesCount) out.push(e.droppedAttributesCount);
  return out;
}

function encodeLink(l: SpanLink): unknown[] {
  const out: unknown[] = [l.traceId, l.spanId];
  const tail: unknown[] = [encodeAttributes(l.attributes), l.traceState ?? '', l.droppedAttributesCount ?? 0];
  let n = tail.length;
  while (n > 0 && (tail[n - 1] === 0 || tail[n - 1] === '' || (Array.isArray(tail[n - 1]) && (tail[n - 1] as unknown[]).length === 0))) n--;
  for (let i = 0; i < n; i++) out.push(tail[i]);
  return out;
}

/** Decodes a payload written by `encodePayload`; `spanStartUs` restores event times. */
export function decodePayload(buf: Uint8Array | null | undefined, spanStartUs: number): PayloadFields {
  const out: PayloadFields = { attributes: [], events: [], links: [], statusMessage: '', traceState: '' };
  if (!buf || buf.length === 0) return out;
  if (buf[0] !== PAYLOAD_FORMAT_JSON) throw new Error(`span payload: unknown format ${buf[0]}`);
  const p = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8', 1)) as unknown[];
  if (p[0]) out.attributes = decodeAttributes(p[0]);
  if (p[1]) out.events = (p[1] as unknown[][]).map((e) => decodeEvent(e, spanStartUs));
  if (p[2]) out.links = (p[2] as unknown[][]).map(decodeLink);
  if (p[3]) out.statusMessage = p[3] as string;
  if (p[4]) out.traceState = p[4] as string;
  if (p[5]) out.droppedAttributesCount = p[5] as number;
  if (p[6]) out.droppedEventsCount = p[6] as number;
  if (p[7]) out.droppedLinksCount = p[7] as number;
  return out;
}

function decodeEvent(e: unknown[], spanStartUs: number): SpanEvent {
  const ev: SpanEvent = { timeUs: spanStartUs + (e[0] as number), name: e[1] as string, attributes: decodeAttributes(e[2]) };
  if (e[3]) ev.droppedAttributesCount = e[3] as number;
  return ev;
}

function decodeLink(e: unknown[]): SpanLink {
  const l: SpanLink = { traceId: e[0] as string, spanId: e[1] as string, attributes: decodeAttributes(e[2]) };
  if (e[3]) l.traceState = e[3] as string;
  if (e[4]) l.droppedAttributesCount = e[4] as number;
  return l;
}
