import { ApiSpanKind, type AttributeValue, type Resource, type Scope, type SpanEvent, type SpanInit } from './span.js';

/**
 * OTLP/protobuf encoding of the proxy's spans (opentelemetry-proto `ExportTraceServiceRequest`),
 * field for field what @opentelemetry/otlp-transformer's serializer writes for the same span (the
 * test compares the bytes), but in two steps: `encodeSpan` turns one finished span into its
 * `Span` message when the request completes (~3 µs, no span object kept), and `batchEncoder`
 * wraps a batch of them in the resource and scope encoded once. The serializer did all of a
 * batch's work at once: 5 ms of blocked event loop per 512-span batch, which every request
 * arriving then waited out (the sidecar's p99).
 */

/** A growable protobuf writer; length-delimited fields reserve one length byte and move the body when it needs more. */
class Writer {
  buf: Uint8Array;
  pos = 0;
  constructor(size = 1024) { this.buf = new Uint8Array(size); this.dv = this.view(); }
  private readonly view = () => new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private dv: DataView;

  reset(): void { this.pos = 0; }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.dv = this.view();
  }

  varint(v: number): void {
    this.ensure(10);
    if (v >= 0 && v <= 0xffffffff) {
      let x = v >>> 0;
      while (x > 0x7f) { this.buf[this.pos++] = (x & 0x7f) | 0x80; x >>>= 7; }
      this.buf[this.pos++] = x;
      return;
    }
    // int64 (two's complement for negatives), as protobuf encodes int_value.
    let n = BigInt.asUintN(64, BigInt(v));
    while (n > 0x7fn) { this.buf[this.pos++] = Number(n & 0x7fn) | 0x80; n >>= 7n; }
    this.buf[this.pos++] = Number(n);
  }

  tag(field: number, wire: number): void { this.varint((field << 3) | wire); }

  string(s: string): void {
    // Reserve for the worst case (3 bytes per UTF-16 unit), then write the length in place.
    this.ensure(s.length * 3 + 5);
    const start = this.ldStart();
    const buf = this.buf;
    let p = this.pos;
    let ascii = true;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) { ascii = false; break; }
      buf[p++] = c;
    }
    this.pos = ascii ? p : this.pos + encoder.encodeInto(s, buf.subarray(this.pos)).written;
    this.ldEnd(start);
  }

  /** A hex id (already validated: even length, hex digits) as bytes. */
  hex(h: string): void {
    const n = h.length >>> 1;
    this.varint(n);
    this.ensure(n);
    for (let i = 0; i < n; i++) this.buf[this.pos++] = (HEX[h.charCodeAt(2 * i)] << 4) | HEX[h.charCodeAt(2 * i + 1)];
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  fixed32(v: number): void { this.ensure(4); this.dv.setUint32(this.pos, v >>> 0, true); this.pos += 4; }
  fixed64(v: bigint): void { this.ensure(8); this.dv.setBigUint64(this.pos, v, true); this.pos += 8; }
  double(v: number): void { this.ensure(8); this.dv.setFloat64(this.pos, v, true); this.pos += 8; }

  /** Starts a length-delimited body; returns where its (1-byte, reserved) length goes. */
  ldStart(): number { this.ensure(1); return this.pos++; }

  /** Writes the body's length at `start`, moving the body right when the length needs more than one byte. */
  ldEnd(start: number): void {
    const len = this.pos - start - 1;
    if (len < 0x80) { this.buf[start] = len; return; }
    let extra = 0;
    for (let x = len >>> 7; x > 0; x >>>= 7) extra++;
    this.ensure(extra);
    this.buf.copyWithin(start + 1 + extra, start + 1, this.pos);
    this.pos += extra;
    let p = start;
    let x = len;
    while (x > 0x7f) { this.buf[p++] = (x & 0x7f) | 0x80; x >>>= 7; }
    this.buf[p] = x;
  }

  finish(): Uint8Array { return this.buf.slice(0, this.pos); }

  /**
   * A copy of what was written, carved from a shared 64 KiB slab (as Node's Buffer pool does):
   * one ArrayBuffer per span was most of encodeSpan's cost (allocation and its GC). A slab is
   * freed once every span cut from it has been exported.
   */
  finishPooled(): Uint8Array {
    const n = this.pos;
    if (n > SLAB_BYTES >>> 3) return this.finish();
    if (slabUsed + n > SLAB_BYTES) { slab = new Uint8Array(SLAB_BYTES); slabUsed = 0; }
    const out = slab.subarray(slabUsed, slabUsed + n);
    out.set(this.buf.subarray(0, n));
    slabUsed += n;
    return out;
  }
}

const SLAB_BYTES = 64 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

const encoder = new TextEncoder();
const HEX = new Uint8Array(128);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) { HEX[97 + i] = 10 + i; HEX[65 + i] = 10 + i; }
const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

function anyValue(w: Writer, v: AttributeValue): void {
  if (typeof v === 'string') { w.tag(1, 2); w.string(v); }
  else if (typeof v === 'boolean') { w.tag(2, 0); w.varint(v ? 1 : 0); }
  else if (Number.isInteger(v) && v >= MIN_INT64 && v < MAX_INT64) { w.tag(3, 0); w.varint(v); }
  else { w.tag(4, 1); w.double(v); }
}

function attributes(w: Writer, attrs: Record<string, AttributeValue>, field: number): void {
  for (const key in attrs) {
    if (!Object.prototype.hasOwnProperty.call(attrs, key)) continue;
    w.tag(field, 2);
    const kv = w.ldStart();
    w.tag(1, 2); w.string(key);
    w.tag(2, 2);
    const av = w.ldStart();
    anyValue(w, attrs[key]);
    w.ldEnd(av);
    w.ldEnd(kv);
  }
}

/** Epoch ms (sub-ms precision) → unix nanoseconds, split as the SDK's hrtime was ([s, ns], ns rounded). */
function unixNanos(ms: number): bigint {
  const s = Math.floor(ms / 1000);
  return BigInt(s) * 1_000_000_000n + BigInt(Math.round((ms - s * 1000) * 1e6));
}

const SPAN_FLAGS_HAS_IS_REMOTE = 0x100;
const SPAN_FLAGS_IS_REMOTE = 0x200;
/** Every proxy span is recorded, so sampled (trace flags 01). */
const TRACE_FLAGS_SAMPLED = 1;

const scratch = new Writer();

/** Span.events (field 11): `Event { time_unix_nano = 1; name = 2; attributes = 3; dropped_attributes_count = 4 }`. */
function event(w: Writer, e: SpanEvent): void {
  w.tag(11, 2);
  const start = w.ldStart();
  w.tag(1, 1); w.fixed64(unixNanos(e.timeMs));
  w.tag(2, 2); w.string(e.name);
  attributes(w, e.attributes, 3);
  w.tag(4, 0); w.varint(0);
  w.ldEnd(start);
}

/** One span's `Span` message (without the field tag that puts it in a ScopeSpans). */
export function encodeSpan(s: SpanInit): Uint8Array {
  const w = scratch;
  w.reset();
  w.tag(1, 2); w.hex(s.traceId);
  w.tag(2, 2); w.hex(s.spanId);
  if (s.traceState) { w.tag(3, 2); w.string(s.traceState); }
  if (s.parentSpanId) { w.tag(4, 2); w.hex(s.parentSpanId); }
  w.tag(5, 2); w.string(s.name);
  // OTLP's SpanKind is the API's plus one (0 = unspecified).
  w.tag(6, 0); w.varint(s.kind === ApiSpanKind.SERVER ? 2 : 3);
  const durationMs = Math.max(0, s.endMs - s.startMs);
  w.tag(7, 1); w.fixed64(unixNanos(s.startMs));
  w.tag(8, 1); w.fixed64(unixNanos(s.startMs + durationMs));
  attributes(w, s.attributes, 9);
  w.tag(10, 0); w.varint(0); // dropped_attributes_count
  if (s.events) for (const e of s.events) event(w, e);
  w.tag(12, 0); w.varint(0); // dropped_events_count
  w.tag(14, 0); w.varint(0); // dropped_links_count
  w.tag(15, 2);
  const status = w.ldStart();
  if (s.statusMessage) { w.tag(2, 2); w.string(s.statusMessage); }
  w.tag(3, 0); w.varint(s.statusCode);
  w.ldEnd(status);
  // A parent span id means a remote parent here (it came in the request's headers).
  const remote = s.parentSpanId ? s.parentIsRemote : undefined;
  w.tag(16, 5); w.fixed32(TRACE_FLAGS_SAMPLED | SPAN_FLAGS_HAS_IS_REMOTE | (remote ? SPAN_FLAGS_IS_REMOTE : 0));
  return w.finishPooled();
}

/** Turns encoded spans (all of one resource and scope) into an `ExportTraceServiceRequest` body. */
export function batchEncoder(resource: Resource, scope: Scope): (spans: readonly Uint8Array[]) => Uint8Array {
  const r = new Writer();
  attributes(r, resource.attributes, 1);
  r.tag(2, 0); r.varint(0); // dropped_attributes_count
  const resourceBytes = r.finish();
  const sc = new Writer();
  sc.tag(1, 2); sc.string(scope.name);
  if (scope.version) { sc.tag(2, 2); sc.string(scope.version); }
  const scopeBytes = sc.finish();
  const varintSize = (n: number) => { let k = 1; while (n > 0x7f) { n >>>= 7; k++; } return k; };
  return (spans) => {
    // Sizes are known, so the body is written once into a buffer of the exact size.
    let spansSize = 0;
    for (const span of spans) spansSize += 1 + varintSize(span.length) + span.length;
    const scopeSpansSize = 1 + varintSize(scopeBytes.length) + scopeBytes.length + spansSize;
    const resourceSpansSize = 1 + varintSize(resourceBytes.length) + resourceBytes.length + 1 + varintSize(scopeSpansSize) + scopeSpansSize;
    const w = new Writer(1 + varintSize(resourceSpansSize) + resourceSpansSize);
    w.tag(1, 2); w.varint(resourceSpansSize);
    w.tag(1, 2); w.bytes(resourceBytes);
    w.tag(2, 2); w.varint(scopeSpansSize);
    w.tag(1, 2); w.bytes(scopeBytes);
    for (const span of spans) { w.tag(2, 2); w.bytes(span); }
    return w.buf.length === w.pos ? w.buf : w.finish();
  };
}
