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
 * - key: the key's number from the `KeyDictionary` when one is given (attribute keys repeat on
 *   every span: "http.request.method" becomes 1–2 bytes), else the key string; decoding accepts
 *   both.
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

/** Attribute keys interned as small numbers (the store's `attr_keys` table). */
export interface KeyDictionary {
  /** The key's number, interning it if new. */
  idOf(key: string): number;
  /** The key of a number handed out by `idOf`; throws if unknown. */
  keyOf(id: number): string;
}

type EncodedAttr = [string | number, unknown] | [string | number, unknown, string];

export function encodeAttributes(attrs: readonly Attribute[], keys?: KeyDictionary): EncodedAttr[] {
  const out: EncodedAttr[] = new Array(attrs.length);
  for (let i = 0; i < attrs.length; i++) out[i] = encodeAttribute(attrs[i], keys ? keys.idOf(attrs[i].key) : attrs[i].key);
  return out;
}

function encodeAttribute(a: Attribute, k: string | number): EncodedAttr {
  switch (a.type) {
    case 'string':
    case 'bool':
      return [k, a.value];
    case 'int64':
      return typeof a.value === 'number' && Number.isSafeInteger(a.value) ? [k, a.value] : [k, String(a.value), 'i'];
    case 'float64':
      // JSON has no NaN/Infinity and prints -0 as 0: keep those as strings to round-trip exactly.
      if (Object.is(a.value, -0)) return [k, '-0', 'f']; // String(-0) is '0'
      return Number.isFinite(a.value) ? [k, a.value, 'f'] : [k, String(a.value), 'f'];
    case 'binary':
      return [k, a.value, 'b'];
    case 'array':
      return [k, a.value, 'a'];
    case 'kvlist':
      return [k, a.value, 'k'];
  }
}

export function decodeAttributes(enc: unknown, keys?: KeyDictionary): Attribute[] {
  if (!Array.isArray(enc)) return [];
  const out: Attribute[] = new Array(enc.length);
  for (let i = 0; i < enc.length; i++) out[i] = decodeAttribute(enc[i] as EncodedAttr, keys);
  return out;
}

function decodeAttribute(e: EncodedAttr, keys: KeyDictionary | undefined): Attribute {
  const k = e[0];
  let key: string;
  if (typeof k === 'string') key = k;
  else if (keys) key = keys.keyOf(k);
  else throw new Error(`span payload: attribute key #${k} needs the key dictionary`);
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
export function encodePayload(span: Span, keys?: KeyDictionary): Buffer | null {
  const parts: unknown[] = [
    span.attributes.length ? encodeAttributes(span.attributes, keys) : 0,
    span.events.length ? span.events.map((e) => encodeEvent(e, span.startTimeUs, keys)) : 0,
    span.links.length ? span.links.map((l) => encodeLink(l, keys)) : 0,
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

function encodeEvent(e: SpanEvent, spanStartUs: number, keys: KeyDictionary | undefined): unknown[] {
  const out: unknown[] = [e.timeUs - spanStartUs, e.name];
  if (e.attributes.length || e.droppedAttributesCount) out.push(encodeAttributes(e.attributes, keys));
  if (e.droppedAttributesCount) out.push(e.droppedAttributesCount);
  return out;
}

function encodeLink(l: SpanLink, keys: KeyDictionary | undefined): unknown[] {
  const out: unknown[] = [l.traceId, l.spanId];
  const tail: unknown[] = [encodeAttributes(l.attributes, keys), l.traceState ?? '', l.droppedAttributesCount ?? 0];
  let n = tail.length;
  while (n > 0 && (tail[n - 1] === 0 || tail[n - 1] === '' || (Array.isArray(tail[n - 1]) && (tail[n - 1] as unknown[]).length === 0))) n--;
  for (let i = 0; i < n; i++) out.push(tail[i]);
  return out;
}

/** Decodes a payload written by `encodePayload`; `spanStartUs` restores event times. */
export function decodePayload(buf: Uint8Array | null | undefined, spanStartUs: number, keys?: KeyDictionary): PayloadFields {
  const out: PayloadFields = { attributes: [], events: [], links: [], statusMessage: '', traceState: '' };
  if (!buf || buf.length === 0) return out;
  if (buf[0] !== PAYLOAD_FORMAT_JSON) throw new Error(`span payload: unknown format ${buf[0]}`);
  const p = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8', 1)) as unknown[];
  if (p[0]) out.attributes = decodeAttributes(p[0], keys);
  if (p[1]) out.events = (p[1] as unknown[][]).map((e) => decodeEvent(e, spanStartUs, keys));
  if (p[2]) out.links = (p[2] as unknown[][]).map((l) => decodeLink(l, keys));
  if (p[3]) out.statusMessage = p[3] as string;
  if (p[4]) out.traceState = p[4] as string;
  if (p[5]) out.droppedAttributesCount = p[5] as number;
  if (p[6]) out.droppedEventsCount = p[6] as number;
  if (p[7]) out.droppedLinksCount = p[7] as number;
  return out;
}

function decodeEvent(e: unknown[], spanStartUs: number, keys: KeyDictionary | undefined): SpanEvent {
  const ev: SpanEvent = { timeUs: spanStartUs + (e[0] as number), name: e[1] as string, attributes: decodeAttributes(e[2], keys) };
  if (e[3]) ev.droppedAttributesCount = e[3] as number;
  return ev;
}

function decodeLink(e: unknown[], keys: KeyDictionary | undefined): SpanLink {
  const l: SpanLink = { traceId: e[0] as string, spanId: e[1] as string, attributes: decodeAttributes(e[2], keys) };
  if (e[3]) l.traceState = e[3] as string;
  if (e[4]) l.droppedAttributesCount = e[4] as number;
  return l;
}
