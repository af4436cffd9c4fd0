/**
 * Decoded spans → one transferable buffer → the same spans on the other side of a thread
 * boundary. Why not `postMessage(spans)`: V8's structured clone of span objects measured
 * ~7 µs/span (serialize + deserialize), twice what decoding the request costs, so the ingest
 * worker decoded the request bytes itself and decode and SQLite writes ran one after the other on
 * its thread. With this codec the main thread decodes (and cleans names) while the worker writes
 * the previous batch; the worker only rebuilds the objects, and most strings of a batch (attribute
 * keys, service and operation names, repeated values, trace ids) are created once per batch, not
 * once per span.
 *
 * Format (little endian; "u" = unsigned LEB128 varint, "f64" = 8-byte double, "str" = u index
 * into the batch's string table: index == table size means a new string follows as u byte
 * length + UTF-8 and is appended to the table):
 *   u span count, then per span:
 *     u resource ref (same rule as str: a new resource follows as str service name + attributes),
 *     u scope ref (new: str name, str version),
 *     str trace id, span id and parent id (id: u8 form 0 = '', 1 = 8 bytes read back as lowercase
 *     hex, 2 = str for anything that is not 16 lowercase hex digits), str tracestate,
 *     u flags, str name, u kind, f64 start µs, f64 duration µs, attributes, u event count + events,
 *     u link count + links, u status code, str status message,
 *     u mask of present dropped counts (bit 0/1/2 attributes/events/links) + each present as u
 *   attributes = u count, then per attribute: str key, u8 type tag, value:
 *     0 string (str), 1 false, 2 true, 3 int64 number (f64), 4 int64 string (str), 5 float64 (f64),
 *     6 binary (str), 7 array (str), 8 kvlist (str)
 *   event = f64 time µs, str name, attributes, u8 has-dropped (+ u dropped)
 *   link = str trace id, str span id, u8 mask (bit 0 tracestate, bit 1 dropped), attributes,
 *     [str tracestate], [u dropped]
 * Objects shared by the decoder (a Resource and a scope per ResourceSpans / ScopeSpans) come
 * back shared, so the writer's per-object caches keep working. `warnings` (query-time only) are
 * not carried.
 */
import type { Attribute, InstrumentationScope, Resource, Span, SpanEvent, SpanKind, SpanLink, StatusCode } from '../model/span.js';

const SPAN_ID_RE = /^[0-9a-f]{16}$/;
const TYPE_TAG: Record<Attribute['type'], number> = { string: 0, bool: 1, int64: 3, float64: 5, binary: 6, array: 7, kvlist: 8 };

class Writer {
  buf: Buffer;
  o = 0;
  private readonly strings = new Map<string, number>();
  private readonly objects = new Map<object, number>();

  constructor(size: number) {
    // Its own ArrayBuffer (never Node's shared pool), so it can be transferred.
    this.buf = Buffer.allocUnsafeSlow(size);
  }

  ensure(n: number): void {
    if (this.o + n <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.o + n));
    this.buf.copy(next, 0, 0, this.o);
    this.buf = next;
  }

  u(v: number): void {
    this.ensure(10);
    const b = this.buf;
    while (v > 0x7f) {
      b[this.o++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[this.o++] = v;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.o++] = v;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.o);
    this.o += 8;
  }

  /** A span id: 8 bytes when it is 16 lowercase hex digits (the decoders' output), else as is. */
  id(hex: string): void {
    if (hex === '') return this.u8(0);
    if (!SPAN_ID_RE.test(hex)) {
      this.u8(2);
      return this.str(hex);
    }
    this.ensure(9);
    this.buf[this.o++] = 1;
    this.o += this.buf.write(hex, this.o, 8, 'hex');
  }

  str(s: string): void {
    const ref = this.strings.get(s);
    if (ref !== undefined) return this.u(ref);
    this.u(this.strings.size);
    this.strings.set(s, this.strings.size);
    this.ensure(10 + s.length * 3);
    const at = this.o;
    // Byte length is written after the bytes are: reserve a 5-byte varint (max string 2^35).
    this.o += 5;
    const n = this.buf.write(s, this.o, 'utf8');
    let len = n;
    for (let i = 0; i < 5; i++) {
      this.buf[at + i] = (len & 0x7f) | (i < 4 ? 0x80 : 0);
      len = Math.floor(len / 0x80);
    }
    this.o += n;
  }

  /** Writes the object's ref; true when it is new (the caller writes its fields next). */
  obj(x: object): boolean {
    const ref = this.objects.get(x);
    if (ref !== undefined) {
      this.u(ref);
      return false;
    }
    this.u(this.objects.size);
    this.objects.set(x, this.objects.size);
    return true;
  }

  attributes(attrs: readonly Attribute[]): void {
    this.u(attrs.length);
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs[i];
      this.str(a.key);
      switch (a.type) {
        case 'string':
          this.u8(0);
          this.str(a.value);
          break;
        case 'bool':
          this.u8(a.value ? 2 : 1);
          break;
        case 'int64':
          if (typeof a.value === 'number') {
            this.u8(3);
            this.f64(a.value);
          } else {
            this.u8(4);
            this.str(a.value);
          }
          break;
        case 'float64':
          this.u8(5);
          this.f64(a.value);
          break;
        default:
          this.u8(TYPE_TAG[a.type]);
          this.str(a.value);
      }
    }
  }
}

/** Bytes reserved per span before the buffer grows (the bench's spans need ~120). */
const BYTES_PER_SPAN_GUESS = 192;

/** The spans as one buffer that owns its whole ArrayBuffer (transferable). */
export function encodeSpanBatch(spans: readonly Span[]): Uint8Array {
  const w = new Writer(64 + spans.length * BYTES_PER_SPAN_GUESS);
  w.u(spans.length);
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    if (w.obj(s.resource)) {
      w.str(s.resource.serviceName);
      w.attributes(s.resource.attributes);
    }
    if (w.obj(s.scope)) {
      w.str(s.scope.name);
      w.str(s.scope.version);
    }
    w.str(s.traceId);
    w.id(s.spanId);
    w.id(s.parentSpanId);
    w.str(s.traceState);
    w.u(s.flags);
    w.str(s.name);
    w.u(s.kind);
    w.f64(s.startTimeUs);
    w.f64(s.durationUs);
    w.attributes(s.attributes);
    w.u(s.events.length);
    for (const e of s.events) {
      w.f64(e.timeUs);
      w.str(e.name);
      w.attributes(e.attributes);
      if (e.droppedAttributesCount === undefined) w.u8(0);
      else {
        w.u8(1);
        w.u(e.droppedAttributesCount);
      }
    }
    w.u(s.links.length);
    for (const l of s.links) {
      w.str(l.traceId);
      w.str(l.spanId);
      w.u8((l.traceState !== undefined ? 1 : 0) | (l.droppedAttributesCount !== undefined ? 2 : 0));
      w.attributes(l.attributes);
      if (l.traceState !== undefined) w.str(l.traceState);
      if (l.droppedAttributesCount !== undefined) w.u(l.droppedAttributesCount);
    }
    w.u(s.status.code);
    w.str(s.status.message);
    const mask = (s.droppedAttributesCount !== undefined ? 1 : 0) | (s.droppedEventsCount !== undefined ? 2 : 0) | (s.droppedLinksCount !== undefined ? 4 : 0);
    w.u(mask);
    if (s.droppedAttributesCount !== undefined) w.u(s.droppedAttributesCount);
    if (s.droppedEventsCount !== undefined) w.u(s.droppedEventsCount);
    if (s.droppedLinksCount !== undefined) w.u(s.droppedLinksCount);
  }
  // A view of exactly the bytes written; the ArrayBuffer behind it may be longer and is still
  // owned by this view alone.
  return new Uint8Array(w.buf.buffer, 0, w.o);
}

class Reader {
  o = 0;
  private readonly strings: string[] = [];
  private readonly objects: object[] = [];

  constructor(private readonly b: Buffer) {}

  u(): number {
    const b = this.b;
    let v = 0;
    let mul = 1;
    for (;;) {
      if (this.o >= b.length) throw new Error('span batch: truncated');
      const x = b[this.o++];
      v += (x & 0x7f) * mul;
      if (x < 0x80) return v;
      mul *= 0x80;
    }
  }

  u8(): number {
    if (this.o >= this.b.length) throw new Error('span batch: truncated');
    return this.b[this.o++];
  }

  f64(): number {
    const v = this.b.readDoubleLE(this.o);
    this.o += 8;
    return v;
  }

  id(): string {
    const form = this.u8();
    if (form === 0) return '';
    if (form === 2) return this.str();
    if (this.o + 8 > this.b.length) throw new Error('span batch: truncated');
    const s = this.b.toString('hex', this.o, this.o + 8);
    this.o += 8;
    return s;
  }

  str(): string {
    const ref = this.u();
    if (ref < this.strings.length) return this.strings[ref];
    if (ref !== this.strings.length) throw new Error(`span batch: string ref ${ref} out of order`);
    const n = this.u();
    if (this.o + n > this.b.length) throw new Error('span batch: truncated');
    const s = this.b.toString('utf8', this.o, this.o + n);
    this.o += n;
    this.strings.push(s);
    return s;
  }

  /** The shared object `ref` points at, or undefined when a new one follows (then `keep` it). */
  obj(): object | undefined {
    const ref = this.u();
    if (ref < this.objects.length) return this.objects[ref];
    if (ref !== this.objects.length) throw new Error(`span batch: object ref ${ref} out of order`);
    return undefined;
  }

  keep<T extends object>(x: T): T {
    this.objects.push(x);
    return x;
  }

  attributes(): Attribute[] {
    const n = this.u();
    const out: Attribute[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const key = this.str();
      const tag = this.u8();
      switch (tag) {
        case 0: out[i] = { key, type: 'string', value: this.str() }; break;
        case 1: out[i] = { key, type: 'bool', value: false }; break;
        case 2: out[i] = { key, type: 'bool', value: true }; break;
        case 3: out[i] = { key, type: 'int64', value: this.f64() }; break;
        case 4: out[i] = { key, type: 'int64', value: this.str() }; break;
        case 5: out[i] = { key, type: 'float64', value: this.f64() }; break;
        case 6: out[i] = { key, type: 'binary', value: this.str() }; break;
        case 7: out[i] = { key, type: 'array', value: this.str() }; break;
        case 8: out[i] = { key, type: 'kvlist', value: this.str() }; break;
        default: throw new Error(`span batch: unknown attribute type tag ${tag}`);
      }
    }
    return out;
  }
}

/** The spans `encodeSpanBatch` wrote; throws on a malformed buffer. */
export function decodeSpanBatch(bytes: Uint8Array): Span[] {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const n = r.u();
  const spans: Span[] = new Array(n);
  for (let i = 0; i < n; i++) {
    let resource = r.obj() as Resource | undefined;
    if (!resource) {
      const slot = r.keep({ serviceName: '', attributes: [] as Attribute[] });
      slot.serviceName = r.str();
      slot.attributes = r.attributes();
      resource = slot;
    }
    let scope = r.obj() as InstrumentationScope | undefined;
    if (!scope) {
      const slot = r.keep({ name: '', version: '' });
      slot.name = r.str();
      slot.version = r.str();
      scope = slot;
    }
    const traceId = r.str();
    const spanId = r.id();
    const parentSpanId = r.id();
    const traceState = r.str();
    const flags = r.u();
    const name = r.str();
    const kind = r.u() as SpanKind;
    const startTimeUs = r.f64();
    const durationUs = r.f64();
    const attributes = r.attributes();
    const ne = r.u();
    const events: SpanEvent[] = new Array(ne);
    for (let j = 0; j < ne; j++) {
      const e: SpanEvent = { timeUs: r.f64(), name: r.str(), attributes: r.attributes() };
      if (r.u8() === 1) e.droppedAttributesCount = r.u();
      events[j] = e;
    }
    const nl = r.u();
    const links: SpanLink[] = new Array(nl);
    for (let j = 0; j < nl; j++) {
      const l: SpanLink = { traceId: r.str(), spanId: r.str(), attributes: [] };
      const mask = r.u8();
      l.attributes = r.attributes();
      if (mask & 1) l.traceState = r.str();
      if (mask & 2) l.droppedAttributesCount = r.u();
      links[j] = l;
    }
    const code = r.u() as StatusCode;
    const span: Span = {
      traceId, spanId, parentSpanId, traceState, flags, name, kind, startTimeUs, durationUs,
      attributes, events, links, status: { code, message: r.str() }, resource, scope,
    };
    const mask = r.u();
    if (mask & 1) span.droppedAttributesCount = r.u();
    if (mask & 2) span.droppedEventsCount = r.u();
    if (mask & 4) span.droppedLinksCount = r.u();
    spans[i] = span;
  }
  if (r.o !== bytes.byteLength) throw new Error(`span batch: ${bytes.byteLength - r.o} bytes left over`);
  return spans;
}
