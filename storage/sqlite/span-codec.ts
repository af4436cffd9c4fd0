/**
 * The compact encoding of the parts of a span that are never searched column-wise: attributes,
 * events, links, status message, tracestate and the dropped counts. No I/O.
 *
 * Format 2 (first byte of the blob = 2), binary; "varint" = unsigned LEB128, "str" = varint byte
 * length + UTF-8:
 *   varint mask: bit 0 attributes, 1 events, 2 links, 3 status message, 4 tracestate,
 *                5/6/7 dropped attribute/event/link counts — the fields present, in that order
 *   attributes = varint count, then per attribute varint head = ref × 16 + type tag, then the value:
 *     0 string (str)      1 string value interned with its key (no value; ref = the pair's number)
 *     2 false   3 true    4 int64 (zigzag varint, |v| < 2^52)   5 int64 held as a decimal string (str)
 *     6 float64 (8 bytes LE: NaN, ±Infinity and -0 exact)   7 binary, 8 array, 9 kvlist (str)
 *     10 int64 number with |v| ≥ 2^52 (8-byte float64 LE, exact for the numbers the model holds)
 *     ref (tags other than 1) = the key's number + 1 from the `KeyDictionary`, or 0 with the key
 *     as a str right after the head (no dictionary given).
 *   events = varint count, then per event: zigzag varint (time − span start), str name,
 *     attributes, varint dropped count
 *   links = varint count, then per link: str trace id, str span id, attributes, str tracestate,
 *     varint dropped count
 *   then str status message, str tracestate, varint dropped counts — each only when in the mask.
 * A span with none of these fields stores NULL.
 *
 * Interned values: attribute keys repeat on every span ("http.request.method" becomes 1–2 bytes),
 * and so do most string values (methods, routes, tiers, db systems). The encoder interns a string
 * value together with its key as one dictionary entry "\u0001<key number>\u0000<value>", but only
 * the first `INTERN_VALUES_PER_KEY` distinct values of a key it meets, for the first `INTERN_KEYS`
 * keys (per encoder, i.e. per open store): a key with unbounded values (user ids, request ids)
 * stops growing the dictionary there and its remaining values are written inline.
 *
 * Format 1 (first byte 1, the rest UTF-8 JSON: `[attributes, events, links, statusMessage,
 * traceState, dropped…]`) is what earlier builds wrote; it is still decoded. Its attribute form
 * (`encodeAttributes`) also serialises resource attributes in the `resources` table.
 */
import type { Attribute, Span, SpanEvent, SpanLink } from '../../model/span.js';
import type { PreparedBatchReader } from './prepared-batch.js';

export const PAYLOAD_FORMAT_JSON = 1;
export const PAYLOAD_FORMAT_BINARY = 2;
/** Distinct string values of one key an encoder interns before writing that key's values inline. */
export const INTERN_VALUES_PER_KEY = 1024;
/** Keys whose values an encoder interns at all (bounds its memory when keys themselves are unbounded). */
export const INTERN_KEYS = 10_000;

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

/** Encodes the payload of `span` (format 2); null when every payload field is empty. */
export function encodePayload(span: Span, keys?: KeyDictionary): Buffer | null {
  const view = new PayloadEncoder(keys).encode(span);
  return view && Buffer.from(view);
}

/**
 * Writes format-2 payloads into one reused buffer; owns the value-interning budget. `encode`
 * returns a view that stays valid until `reset()` (views of several spans can be bound to one
 * multi-row INSERT: SQLite copies bound blobs).
 */
export class PayloadEncoder {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private o = 0;
  /** Start of the payload being written. */
  private begin = 0;
  /**
   * key number → string value → the pair's dictionary number, for the values this encoder
   * interned (at most `INTERN_VALUES_PER_KEY` per key). Must be forgotten when the dictionary
   * loses entries (a rolled-back transaction): `forgetIds`.
   */
  private readonly interned = new Map<number, Map<string, number>>();

  constructor(private readonly keys?: KeyDictionary) {}

  /** Forgets the dictionary numbers it remembered (after a rolled-back transaction). */
  forgetIds(): void {
    this.interned.clear();
  }

  /** Lets the next `encode` calls reuse the buffer (earlier views must not be used any more). */
  reset(): void {
    this.o = 0;
  }

  encode(span: Span): Buffer | null {
    const dA = span.droppedAttributesCount ?? 0;
    const dE = span.droppedEventsCount ?? 0;
    const dL = span.droppedLinksCount ?? 0;
    const mask = (span.attributes.length ? 1 : 0) | (span.events.length ? 2 : 0) | (span.links.length ? 4 : 0) |
      (span.status.message ? 8 : 0) | (span.traceState ? 16 : 0) | (dA ? 32 : 0) | (dE ? 64 : 0) | (dL ? 128 : 0);
    if (mask === 0) return null;
    this.begin = this.o;
    this.ensure(1);
    this.buf[this.o++] = PAYLOAD_FORMAT_BINARY;
    this.varint(mask);
    if (mask & 1) this.attrs(span.attributes);
    if (mask & 2) {
      this.varint(span.events.length);
      for (const e of span.events) {
        this.varint(zigzag(e.timeUs - span.startTimeUs));
        this.str(e.name);
        this.attrs(e.attributes);
        this.varint(e.droppedAttributesCount ?? 0);
      }
    }
    if (mask & 4) {
      this.varint(span.links.length);
      for (const l of span.links) {
        this.str(l.traceId);
        this.str(l.spanId);
        this.attrs(l.attributes);
        this.str(l.traceState ?? '');
        this.varint(l.droppedAttributesCount ?? 0);
      }
    }
    if (mask & 8) this.str(span.status.message);
    if (mask & 16) this.str(span.traceState);
    if (mask & 32) this.varint(dA);
    if (mask & 64) this.varint(dE);
    if (mask & 128) this.varint(dL);
    return this.buf.subarray(this.begin, this.o);
  }

  /**
   * The format-2 payload of a prepared span (prepared-batch.ts: bytes [at, end) of `r`), byte for
   * byte what `encode` writes for the span: attribute keys and string values go through the key
   * dictionary and this encoder's interning here, everything else is copied. `keyIds` / `pairIds`:
   * the batch's strings / pairs resolved so far (-1 / -2 = not yet), filled in as met. Null for an
   * empty range (no payload fields).
   */
  transcode(r: PreparedBatchReader, at: number, end: number, keyIds: Int32Array, pairIds: Int32Array): Buffer | null {
    if (at === end) return null;
    const src = r.b;
    r.o = at;
    this.begin = this.o;
    this.ensure(1);
    this.buf[this.o++] = PAYLOAD_FORMAT_BINARY;
    const mask = this.copyVarint(r);
    if (mask & 1) this.transcodeAttrs(r, keyIds, pairIds);
    if (mask & 2) {
      const n = this.copyVarint(r);
      for (let i = 0; i < n; i++) {
        this.copyVarint(r);
        this.copyStr(r);
        this.transcodeAttrs(r, keyIds, pairIds);
        this.copyVarint(r);
      }
    }
    if (mask & 4) {
      const n = this.copyVarint(r);
      for (let i = 0; i < n; i++) {
        this.copyStr(r);
        this.copyStr(r);
        this.transcodeAttrs(r, keyIds, pairIds);
        this.copyStr(r);
        this.copyVarint(r);
      }
    }
    // Status message, tracestate and dropped counts: the same bytes.
    this.ensure(end - r.o);
    this.o += src.copy(this.buf, this.o, r.o, end);
    r.o = end;
    return this.buf.subarray(this.begin, this.o);
  }

  private copyVarint(r: PreparedBatchReader): number {
    const v = r.u();
    this.varint(v);
    return v;
  }

  private copyStr(r: PreparedBatchReader): void {
    const from = r.o;
    const n = r.u();
    r.need(n);
    r.o += n;
    this.ensure(r.o - from);
    this.o += r.b.copy(this.buf, this.o, from, r.o);
  }

  private transcodeAttrs(r: PreparedBatchReader, keyIds: Int32Array, pairIds: Int32Array): void {
    const n = this.copyVarint(r);
    for (let i = 0; i < n; i++) {
      const head = r.u();
      const tag = head % 16;
      const keyStr = Math.floor(head / 16);
      if (keyStr >= keyIds.length) throw new Error(`prepared batch: key string ${keyStr} out of range`);
      let keyNum = keyIds[keyStr];
      if (keyNum < 0) keyNum = keyIds[keyStr] = this.keys ? this.keys.idOf(r.string(keyStr)) : -1;
      if (tag === TAG_STRING) {
        const p = r.u();
        if (p * 2 >= r.pairs.length) throw new Error(`prepared batch: pair ${p} out of range`);
        let pair = pairIds[p];
        if (pair === -2) pair = pairIds[p] = keyNum >= 0 ? this.internedPair(keyNum, r.string(r.pairs[p * 2 + 1])) : -1;
        if (pair >= 0) {
          this.varint(pair * 16 + TAG_INTERNED);
          continue;
        }
        this.varint((keyNum + 1) * 16 + TAG_STRING);
        if (keyNum < 0) this.rawStr(r, keyStr);
        this.rawStr(r, r.pairs[p * 2 + 1]);
        continue;
      }
      this.varint((keyNum + 1) * 16 + tag);
      if (keyNum < 0) this.rawStr(r, keyStr);
      switch (tag) {
        case TAG_INT:
          this.copyVarint(r);
          break;
        case TAG_FLOAT:
        case TAG_INT_WIDE:
          r.need(8);
          this.ensure(8);
          this.o += r.b.copy(this.buf, this.o, r.o, r.o + 8);
          r.o += 8;
          break;
        case TAG_FALSE:
        case TAG_TRUE:
          break;
        case TAG_BIGINT:
        case TAG_BINARY:
        case TAG_ARRAY:
        case TAG_KVLIST:
          this.copyStr(r);
          break;
        default:
          throw new Error(`prepared batch: unknown attribute type tag ${tag}`);
      }
    }
  }

  /** Batch string `i` as a format-2 str (length + bytes). */
  private rawStr(r: PreparedBatchReader, i: number): void {
    const from = r.strStart[i];
    const n = r.strEnd[i] - from;
    this.ensure(n + 8);
    this.varint(n);
    this.o += r.b.copy(this.buf, this.o, from, from + n);
  }

  private attrs(attrs: readonly Attribute[]): void {
    this.varint(attrs.length);
    for (const a of attrs) {
      const keyNum = this.keys ? this.keys.idOf(a.key) : -1;
      if (a.type === 'string' && keyNum >= 0) {
        const pair = this.internedPair(keyNum, a.value);
        if (pair >= 0) {
          this.varint(pair * 16 + 1);
          continue;
        }
      }
      const tag = payloadTypeTag(a);
      this.varint((keyNum + 1) * 16 + tag);
      if (keyNum < 0) this.str(a.key);
      switch (tag) {
        case TAG_INT:
          this.varint(zigzag(a.value as number));
          break;
        case TAG_FLOAT:
        case TAG_INT_WIDE:
          this.ensure(8);
          this.buf.writeDoubleLE(a.value as number, this.o);
          this.o += 8;
          break;
        case TAG_FALSE:
        case TAG_TRUE:
          break;
        default:
          this.str(String(a.value));
      }
    }
  }

  /** The dictionary number of (key, value), interning it within the key's budget; -1 if over it. */
  private internedPair(keyNum: number, value: string): number {
    let values = this.interned.get(keyNum);
    if (!values) {
      if (this.interned.size >= INTERN_KEYS) return -1;
      this.interned.set(keyNum, (values = new Map()));
    }
    let id = values.get(value);
    if (id === undefined) {
      if (values.size >= INTERN_VALUES_PER_KEY) return -1;
      id = this.keys!.idOf(`\u0001${keyNum}\u0000${value}`);
      values.set(value, id);
    }
    return id;
  }

  /** Room for `n` more bytes; growing moves the payload being written (earlier views keep the old buffer). */
  private ensure(n: number): void {
    if (this.o + n <= this.buf.length) return;
    const used = this.o - this.begin;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, (used + n) * 2));
    this.buf.copy(bigger, 0, this.begin, this.o);
    this.buf = bigger;
    this.begin = 0;
    this.o = used;
  }

  private varint(v: number): void {
    this.ensure(8);
    const buf = this.buf;
    let o = this.o;
    while (v >= 0x80) {
      buf[o++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    buf[o++] = v;
    this.o = o;
  }

  private str(s: string): void {
    this.ensure(s.length * 3 + 8);
    const lenAt = this.o;
    // Most strings are short ASCII: write at +1 and move it only if the length needs more bytes.
    const n = this.buf.write(s, lenAt + 1, 'utf8');
    if (n < 0x80) {
      this.buf[lenAt] = n;
      this.o = lenAt + 1 + n;
    } else {
      const lenBytes = varintBytes(n);
      this.buf.copy(this.buf, lenAt + lenBytes, lenAt + 1, lenAt + 1 + n);
      this.varint(n);
      this.o = lenAt + lenBytes + n;
    }
  }
}

export const TAG_STRING = 0;
const TAG_INTERNED = 1;
export const TAG_FALSE = 2;
export const TAG_TRUE = 3;
export const TAG_INT = 4;
const TAG_BIGINT = 5;
export const TAG_FLOAT = 6;
const TAG_BINARY = 7;
const TAG_ARRAY = 8;
const TAG_KVLIST = 9;
export const TAG_INT_WIDE = 10;
const MAX_ZIGZAG_INT = 2 ** 52;

/** The format-2 type tag of an attribute (also used by prepared-batch.ts). */
export function payloadTypeTag(a: Attribute): number {
  switch (a.type) {
    case 'string': return TAG_STRING;
    case 'bool': return a.value ? TAG_TRUE : TAG_FALSE;
    case 'int64':
      if (typeof a.value !== 'number') return TAG_BIGINT;
      return Number.isInteger(a.value) && Math.abs(a.value) < MAX_ZIGZAG_INT ? TAG_INT : TAG_INT_WIDE;
    case 'float64': return TAG_FLOAT;
    case 'binary': return TAG_BINARY;
    case 'array': return TAG_ARRAY;
    case 'kvlist': return TAG_KVLIST;
  }
}

export const zigzag = (v: number): number => (v >= 0 ? v * 2 : -v * 2 - 1);
const unzigzag = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
const varintBytes = (v: number): number => {
  let n = 1;
  while (v >= 0x80) { v = Math.floor(v / 0x80); n++; }
  return n;
};

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
  if (buf[0] === PAYLOAD_FORMAT_BINARY) return new PayloadReader(buf, keys).read(spanStartUs, out);
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

/** Reads one format-2 payload. */
class PayloadReader {
  private o = 1;
  private readonly b: Buffer;

  constructor(buf: Uint8Array, private readonly keys: KeyDictionary | undefined) {
    this.b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  read(spanStartUs: number, out: PayloadFields): PayloadFields {
    const mask = this.varint();
    if (mask & 1) out.attributes = this.attrs();
    if (mask & 2) {
      const n = this.varint();
      out.events = new Array(n);
      for (let i = 0; i < n; i++) {
        const ev: SpanEvent = { timeUs: spanStartUs + unzigzag(this.varint()), name: this.str(), attributes: this.attrs() };
        const dropped = this.varint();
        if (dropped) ev.droppedAttributesCount = dropped;
        out.events[i] = ev;
      }
    }
    if (mask & 4) {
      const n = this.varint();
      out.links = new Array(n);
      for (let i = 0; i < n; i++) {
        const l: SpanLink = { traceId: this.str(), spanId: this.str(), attributes: this.attrs() };
        const ts = this.str();
        if (ts) l.traceState = ts;
        const dropped = this.varint();
        if (dropped) l.droppedAttributesCount = dropped;
        out.links[i] = l;
      }
    }
    if (mask & 8) out.statusMessage = this.str();
    if (mask & 16) out.traceState = this.str();
    if (mask & 32) out.droppedAttributesCount = this.varint();
    if (mask & 64) out.droppedEventsCount = this.varint();
    if (mask & 128) out.droppedLinksCount = this.varint();
    if (this.o !== this.b.length) throw new Error(`span payload: ${this.b.length - this.o} trailing bytes`);
    return out;
  }

  private attrs(): Attribute[] {
    const n = this.varint();
    const out: Attribute[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const head = this.varint();
      const tag = head % 16;
      const ref = Math.floor(head / 16);
      if (tag === TAG_INTERNED) {
        const pair = this.keyOf(ref);
        const sep = pair.indexOf('\u0000');
        out[i] = { key: this.keyOf(Number(pair.slice(1, sep))), type: 'string', value: pair.slice(sep + 1) };
        continue;
      }
      const key = ref === 0 ? this.str() : this.keyOf(ref - 1);
      switch (tag) {
        case TAG_STRING: out[i] = { key, type: 'string', value: this.str() }; break;
        case TAG_FALSE: out[i] = { key, type: 'bool', value: false }; break;
        case TAG_TRUE: out[i] = { key, type: 'bool', value: true }; break;
        case TAG_INT: out[i] = { key, type: 'int64', value: unzigzag(this.varint()) }; break;
        case TAG_BIGINT: out[i] = { key, type: 'int64', value: this.str() }; break;
        case TAG_FLOAT:
          this.need(8);
          out[i] = { key, type: 'float64', value: this.b.readDoubleLE(this.o) };
          this.o += 8;
          break;
        case TAG_INT_WIDE:
          this.need(8);
          out[i] = { key, type: 'int64', value: this.b.readDoubleLE(this.o) };
          this.o += 8;
          break;
        case TAG_BINARY: out[i] = { key, type: 'binary', value: this.str() }; break;
        case TAG_ARRAY: out[i] = { key, type: 'array', value: this.str() }; break;
        case TAG_KVLIST: out[i] = { key, type: 'kvlist', value: this.str() }; break;
        default: throw new Error(`span payload: unknown attribute type tag ${tag} for key "${key}"`);
      }
    }
    return out;
  }

  private keyOf(id: number): string {
    if (!this.keys) throw new Error(`span payload: attribute key #${id} needs the key dictionary`);
    return this.keys.keyOf(id);
  }

  private need(n: number): void {
    if (this.o + n > this.b.length) throw new Error(`span payload: truncated at byte ${this.o} of ${this.b.length}`);
  }

  private varint(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      this.need(1);
      const byte = this.b[this.o++];
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
      mul *= 0x80;
    }
  }

  private str(): string {
    const n = this.varint();
    this.need(n);
    const s = this.b.toString('utf8', this.o, this.o + n);
    this.o += n;
    return s;
  }
}
