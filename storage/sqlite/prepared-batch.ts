/**
 * A write batch prepared for the SQLite writer (writer.ts): everything about the spans that does
 * not depend on the store's state, computed ahead, in one buffer the writer only reads — so the
 * part of a write that must run on the writer's thread is catalog numbers, binds and inserts. In
 * the all-in-one server the main thread prepares it while the ingest worker writes the previous
 * batch, and transfers the buffer (no copy, no span objects rebuilt on the worker). No I/O.
 *
 * What is done here: validation (the same errors `writeSpans` always threw), grouping by trace and
 * de-duplication (the last copy of a span id wins), span keys and parent ids as bytes, a span's
 * parent within the batch (so a trace new to the store links parents without a map), search terms
 * of the span's own tags (hashed, terms.ts), the canonical text of each resource, and the span
 * payload (span-codec.ts format 2) with attribute keys and string values still as batch strings:
 * the dictionary numbers of keys and interned values are the store's, so the writer puts them in
 * (`PayloadEncoder.transcode`, a copy of bytes between attribute heads).
 *
 * Format 1 (little endian; "u" = unsigned LEB128 varint, "str" = u byte length + UTF-8):
 *   u8 version (1), u32 byte offset of the tables (they follow the traces: they are complete only
 *   once every span was seen, and placed last nothing is copied), u epoch of the op and resource
 *   numbers (`PrepareCache`), u spans given (before de-duplication), u trace count, the traces,
 *   then the tables:
 *   strings:   u count, then str each; referred to by index below
 *   pairs:     u count, then u key string, u value string each (a string attribute's key and value)
 *   ops:       u count, then u number, u service string, u operation name string, u kind each
 *   resources: u count, then u number, u canonical text string (catalog.ts `canonicalResource`) each
 *   per trace: 16 bytes trace id, u span count, then per span:
 *     u resource, u op, u8 key length (8, or 9 for a SERVER/CONSUMER span: 0x01 appended) + key,
 *     u8 0 (root) or 8 followed by the parent's 8 bytes, u parent's index in this trace + 1 (0 = not
 *     in this batch), f64 start µs, f64 duration µs, u flags, u status code,
 *     u term count + 6 bytes each (u48), u payload length (0 = no payload) + payload
 *   payload = span-codec.ts format 2 without its first byte, where each attribute list is
 *     u count, then per attribute u head = key string × 16 + type tag (span-codec.ts tags), then
 *     for a string (tag 0) u pair index, for the other tags the value exactly as format 2 writes it.
 */
import { type Attribute, attributeValueAsString, type Span, SpanKind } from '../../model/span.js';
import { canonicalResource } from './catalog.js';
import { INTERN_VALUES_PER_KEY, payloadTypeTag, TAG_FALSE, TAG_FLOAT, TAG_INT, TAG_INT_WIDE, TAG_STRING, TAG_TRUE, zigzag } from './span-codec.js';
import { forEachDerivedTag, tagTerm } from './terms.js';

export const PREPARED_BATCH_VERSION = 1;

const TRACE_ID_RE = /^[0-9a-f]{32}$/;
const SPAN_ID_RE = /^[0-9a-f]{16}$/;
const ZERO_TRACE_ID = '0'.repeat(32);

/** Throws an Error naming the batch index and field when a span cannot be stored; `traceIdChecked`: its trace id is known to be valid. */
export function validateSpan(s: Span, i: number, traceIdChecked = false): void {
  if (!traceIdChecked && (typeof s.traceId !== 'string' || !TRACE_ID_RE.test(s.traceId) || s.traceId === ZERO_TRACE_ID)) bad(i, 'traceId', 'must be 32 lowercase hex chars, not all zero', s.traceId);
  if (typeof s.spanId !== 'string' || !SPAN_ID_RE.test(s.spanId)) bad(i, 'spanId', 'must be 16 lowercase hex chars', s.spanId);
  if (s.parentSpanId !== '' && !SPAN_ID_RE.test(s.parentSpanId)) bad(i, 'parentSpanId', "must be '' or 16 lowercase hex chars", s.parentSpanId);
  if (!Number.isSafeInteger(s.startTimeUs) || s.startTimeUs < 0) bad(i, 'startTimeUs', 'must be a non-negative integer (µs)', s.startTimeUs);
  if (!Number.isSafeInteger(s.durationUs) || s.durationUs < 0) bad(i, 'durationUs', 'must be a non-negative integer (µs)', s.durationUs);
  if (!s.resource || typeof s.resource.serviceName !== 'string') bad(i, 'resource.serviceName', 'must be a string', s.resource?.serviceName);
}

// Not a closure in `validateSpan`: one would be made for every span.
function bad(i: number, field: string, why: string, v: unknown): never {
  throw new Error(`writeSpans: span[${i}].${field} ${why}, got ${JSON.stringify(v)}`);
}

/** Attribute keys whose tag terms are cached (keys beyond it, e.g. keys with ids in them, are hashed each time). */
const MAX_CACHED_KEYS = 10_000;

/** An op or resource numbered by a `PrepareCache`: its number, and where the current batch lists it. */
interface Registered { num: number; batch: number; idx: number }

/** Ops or resources a `PrepareCache` numbers before it starts over (a new epoch). */
export const MAX_REGISTERED = 100_000;

/**
 * What whoever prepares batches (one per preparing thread) remembers across them: tag terms
 * (key → value → term, for at most `INTERN_VALUES_PER_KEY` values per key; content-keyed, never
 * stale), and a number for each op (service, name, kind) and resource (canonical text) it met, so
 * the writer can keep what it resolved for them from batch to batch without reading their
 * strings. The numbers are only meaningful with the cache's `epoch`, which changes when it starts
 * over (beyond `MAX_REGISTERED` of either).
 */
export class PrepareCache {
  private readonly cache = new Map<string, Map<string, number>>();
  private ops = new Map<string, Map<string, Registered[]>>();
  private resources = new Map<string, Registered>();
  private registered = 0;
  /** Numbers batches (`Registered.batch`). */
  serial = 0;
  epoch = newEpoch();

  term(key: string, value: string): number {
    let byValue = this.cache.get(key);
    if (!byValue && this.cache.size < MAX_CACHED_KEYS) this.cache.set(key, (byValue = new Map()));
    let term = byValue?.get(value);
    if (term === undefined) {
      term = tagTerm(key, value);
      if (byValue && byValue.size < INTERN_VALUES_PER_KEY) byValue.set(value, term);
    }
    return term;
  }

  op(service: string, name: string, kind: number): Registered {
    let byName = this.ops.get(service);
    if (!byName) this.ops.set(service, (byName = new Map()));
    let byKind = byName.get(name);
    if (!byKind) byName.set(name, (byKind = []));
    return (byKind[kind] ??= { num: this.registered++, batch: -1, idx: 0 });
  }

  resource(canonical: string): Registered {
    let e = this.resources.get(canonical);
    if (!e) this.resources.set(canonical, (e = { num: this.registered++, batch: -1, idx: 0 }));
    return e;
  }

  /** Called before each batch: a new serial, and a new epoch once too many were numbered. */
  nextBatch(): void {
    this.serial++;
    if (this.registered < MAX_REGISTERED) return;
    this.ops = new Map();
    this.resources = new Map();
    this.registered = 0;
    this.epoch = newEpoch();
  }
}

/** Random, so that batches of two caches (a restarted thread) never pass for each other's. */
const newEpoch = (): number => Math.floor(Math.random() * 2 ** 32);

/** Bytes reserved per span before the buffer grows (the bench's spans need ~120). */
const BYTES_PER_SPAN_GUESS = 160;

class Out {
  buf: Buffer;
  o = 0;
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
    let o = this.o;
    while (v > 0x7f) {
      b[o++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[o++] = v;
    this.o = o;
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
  u48(v: number): void {
    this.ensure(6);
    this.buf.writeUIntLE(v, this.o, 6);
    this.o += 6;
  }
  hex(s: string): void {
    this.ensure(s.length / 2);
    this.o += this.buf.write(s, this.o, 'hex');
  }
  str(s: string): void {
    this.ensure(s.length * 3 + 5);
    const at = this.o;
    // Most strings are short ASCII: written at +1 and moved only when the length needs more bytes.
    const n = this.buf.write(s, at + 1, 'utf8');
    if (n < 0x80) {
      this.buf[at] = n;
      this.o = at + 1 + n;
    } else {
      let lenBytes = 1;
      for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) lenBytes++;
      this.buf.copy(this.buf, at + lenBytes, at + 1, at + 1 + n);
      this.o = at;
      this.u(n);
      this.o = at + lenBytes + n;
    }
  }
  bytes(b: Buffer, from: number, to: number): void {
    this.ensure(to - from);
    this.o += b.copy(this.buf, this.o, from, to);
  }
}

/** A table of distinct values of one batch: value → index. */
class Table<K> {
  readonly index = new Map<K, number>();
  readonly list: K[] = [];
  ref(k: K): number {
    let i = this.index.get(k);
    if (i === undefined) {
      i = this.list.length;
      this.index.set(k, i);
      this.list.push(k);
    }
    return i;
  }
}

/** Builds one prepared batch (see the module comment). */
class Preparer {
  private readonly strings = new Table<string>();
  /** Attribute key → its string, and its string values → their pair index. */
  private readonly keys = new Map<string, { str: number; values: Map<string, number> }>();
  private readonly pairs: number[] = [];
  /** Op i = its number (PrepareCache), service string, name string, kind: ops[4i … 4i+3]. */
  private readonly ops: number[] = [];
  /** resource object → scope object → resource index */
  private readonly resIdx = new Map<object, Map<object, number>>();
  /** Resource i = its number, canonical text string: resources[2i, 2i+1]. */
  private readonly resources: number[] = [];
  /** Per-span section (traces), written first; the tables go in front of it at the end. */
  private readonly body: Out;
  /** Payload of the span being prepared (copied into `body` after its length). */
  private readonly payload = scratch;
  private readonly terms: number[] = [];

  /** Tag term of pair i (NaN until met). */
  private pairTerms = new Float64Array(256).fill(NaN);
  /** Terms of the tags derived from kind and status, by kind × 8 + status code. */
  private readonly derived = new Map<number, number[]>();

  constructor(private readonly tags: PrepareCache, given: number, traces: number) {
    this.body = new Out(64 + given * BYTES_PER_SPAN_GUESS);
    this.body.u8(PREPARED_BATCH_VERSION);
    this.body.o += 4; // the tables' offset, written by `finish`
    this.body.u(tags.epoch);
    this.body.u(given);
    this.body.u(traces);
  }

  /** The tag term of string pair `i` (key `key`, value `value`). */
  private pairTerm(i: number, key: string, value: string): number {
    if (i >= this.pairTerms.length) {
      const bigger = new Float64Array(this.pairTerms.length * 2).fill(NaN);
      bigger.set(this.pairTerms);
      this.pairTerms = bigger;
    }
    let t = this.pairTerms[i];
    if (Number.isNaN(t)) t = this.pairTerms[i] = this.tags.term(key, value);
    return t;
  }

  private str(s: string): number {
    return this.strings.ref(s);
  }

  /** A new pair (the caller looked it up in `keys`). */
  private pair(key: number, value: number): number {
    const i = this.pairs.length / 2;
    this.pairs.push(key, value);
    return i;
  }

  private op(service: string, name: string, kind: number): number {
    const e = this.tags.op(service, name, kind);
    if (e.batch !== this.tags.serial) {
      e.batch = this.tags.serial;
      e.idx = this.ops.length / 4;
      this.ops.push(e.num, this.str(service), this.str(name), kind);
    }
    return e.idx;
  }

  private resource(s: Span): number {
    let byScope = this.resIdx.get(s.resource);
    if (!byScope) this.resIdx.set(s.resource, (byScope = new Map()));
    let i = byScope.get(s.scope);
    if (i === undefined) {
      const canonical = canonicalResource(s.resource, s.scope);
      const e = this.tags.resource(canonical);
      if (e.batch !== this.tags.serial) {
        e.batch = this.tags.serial;
        e.idx = this.resources.length / 2;
        this.resources.push(e.num, this.str(canonical));
      }
      i = e.idx;
      byScope.set(s.scope, i);
    }
    return i;
  }

  trace(traceId: string, spans: readonly Span[]): void {
    const b = this.body;
    b.ensure(16);
    b.hex(traceId);
    b.u(spans.length);
    // span id → index, for parents within the batch; a shared (client + server) id: the server half.
    let ids: Map<string, number> | undefined;
    if (spans.length > 1) {
      ids = new Map();
      for (let i = 0; i < spans.length; i++) if (!isServerSide(spans[i].kind)) ids.set(spans[i].spanId, i);
      for (let i = 0; i < spans.length; i++) if (isServerSide(spans[i].kind)) ids.set(spans[i].spanId, i);
    }
    for (const s of spans) {
      b.u(this.resource(s));
      b.u(this.op(s.resource.serviceName, s.name, s.kind));
      const server = isServerSide(s.kind);
      b.u8(server ? 9 : 8);
      b.hex(s.spanId);
      if (server) b.u8(1);
      if (s.parentSpanId) {
        b.u8(8);
        b.hex(s.parentSpanId);
        // (A single span may name itself as parent: it is then its own parent here too.)
        const p = ids ? ids.get(s.parentSpanId) : s.parentSpanId === s.spanId ? 0 : undefined;
        b.u(p === undefined ? 0 : p + 1);
      } else b.u8(0);
      b.f64(s.startTimeUs);
      b.f64(s.durationUs);
      b.u(s.flags);
      b.u(s.status.code);
      // The span's own tags (terms.ts `forEachSpanOwnTag`): attributes and events while the
      // payload is written, then the derived ones.
      const terms = this.terms;
      terms.length = 0;
      this.writePayload(s);
      const derived = this.derivedTerms(s.kind, s.status.code);
      for (let i = 0; i < derived.length; i++) terms.push(derived[i]);
      b.u(terms.length);
      for (let i = 0; i < terms.length; i++) b.u48(terms[i]);
      b.u(this.payload.o);
      if (this.payload.o > 0) b.bytes(this.payload.buf, 0, this.payload.o);
    }
  }

  private derivedTerms(kind: number, status: number): number[] {
    const k = kind * 8 + status;
    let out = this.derived.get(k);
    if (!out) {
      const terms: number[] = [];
      forEachDerivedTag(kind as SpanKind, status, (key, value) => { terms.push(this.tags.term(key, value)); });
      this.derived.set(k, (out = terms));
    }
    return out;
  }

  /**
   * The span's payload as format 2 writes it, attribute keys and string values as batch refs;
   * the terms of its attributes and events go to `terms`.
   */
  private writePayload(span: Span): void {
    const p = this.payload;
    p.o = 0;
    const dA = span.droppedAttributesCount ?? 0;
    const dE = span.droppedEventsCount ?? 0;
    const dL = span.droppedLinksCount ?? 0;
    const mask = (span.attributes.length ? 1 : 0) | (span.events.length ? 2 : 0) | (span.links.length ? 4 : 0) |
      (span.status.message ? 8 : 0) | (span.traceState ? 16 : 0) | (dA ? 32 : 0) | (dE ? 64 : 0) | (dL ? 128 : 0);
    if (mask === 0) return;
    p.u(mask);
    if (mask & 1) this.attrs(span.attributes, true);
    if (mask & 2) {
      p.u(span.events.length);
      for (const e of span.events) {
        p.u(zigzag(e.timeUs - span.startTimeUs));
        p.str(e.name);
        this.terms.push(this.tags.term('event', e.name));
        this.attrs(e.attributes, true);
        p.u(e.droppedAttributesCount ?? 0);
      }
    }
    if (mask & 4) {
      p.u(span.links.length);
      for (const l of span.links) {
        p.str(l.traceId);
        p.str(l.spanId);
        this.attrs(l.attributes, false);
        p.str(l.traceState ?? '');
        p.u(l.droppedAttributesCount ?? 0);
      }
    }
    if (mask & 8) p.str(span.status.message);
    if (mask & 16) p.str(span.traceState);
    if (mask & 32) p.u(dA);
    if (mask & 64) p.u(dE);
    if (mask & 128) p.u(dL);
  }

  /** `tagged`: the attributes are the span's or an event's (their tag terms go to `terms`). */
  private attrs(attrs: readonly Attribute[], tagged: boolean): void {
    const p = this.payload;
    p.u(attrs.length);
    for (const a of attrs) {
      let k = this.keys.get(a.key);
      if (!k) this.keys.set(a.key, (k = { str: this.str(a.key), values: new Map() }));
      const tag = payloadTypeTag(a);
      p.u(k.str * 16 + tag);
      if (tag === TAG_STRING) {
        const value = a.value as string;
        let pair = k.values.get(value);
        if (pair === undefined) k.values.set(value, (pair = this.pair(k.str, this.str(value))));
        p.u(pair);
        if (tagged) this.terms.push(this.pairTerm(pair, a.key, value));
        continue;
      }
      if (tagged) this.terms.push(this.tags.term(a.key, attributeValueAsString(a)));
      switch (tag) {
        case TAG_INT:
          p.u(zigzag(a.value as number));
          break;
        case TAG_FLOAT:
        case TAG_INT_WIDE:
          p.f64(a.value as number);
          break;
        case TAG_FALSE:
        case TAG_TRUE:
          break;
        default:
          p.str(String(a.value));
      }
    }
  }

  /** The batch: the traces written so far, then the tables. */
  finish(): Uint8Array {
    const out = this.body;
    out.buf.writeUInt32LE(out.o, 1);
    out.u(this.strings.list.length);
    for (const s of this.strings.list) out.str(s);
    out.u(this.pairs.length / 2);
    for (const x of this.pairs) out.u(x);
    out.u(this.ops.length / 4);
    for (const x of this.ops) out.u(x);
    out.u(this.resources.length / 2);
    for (const x of this.resources) out.u(x);
    // A view of exactly the bytes written; the ArrayBuffer behind it is owned by this view alone.
    return new Uint8Array(out.buf.buffer, 0, out.o);
  }
}

/** The payload being prepared (copied into the batch after its length): one per thread. */
const scratch = new Out(4096);

const isServerSide = (kind: SpanKind): boolean => kind === SpanKind.SERVER || kind === SpanKind.CONSUMER;

/**
 * The spans as a prepared batch (an owned, transferable buffer). Throws, before any work, when a
 * span cannot be stored (`validateSpan`). Spans of a trace are kept in the order of their first
 * copy; a span id repeated within the batch keeps its last copy, as if written in two batches.
 */
export function prepareBatch(spans: readonly Span[], tags: PrepareCache = new PrepareCache()): Uint8Array {
  // Spans of a trace usually come together: its id is checked once per run.
  for (let i = 0; i < spans.length; i++) validateSpan(spans[i], i, i > 0 && spans[i].traceId === spans[i - 1].traceId);
  const byTrace = new Map<string, Span[]>();
  for (const s of spans) {
    const list = byTrace.get(s.traceId);
    if (list) list.push(s); else byTrace.set(s.traceId, [s]);
  }
  tags.nextBatch();
  const p = new Preparer(tags, spans.length, byTrace.size);
  for (const [traceId, list] of byTrace) p.trace(traceId, dedupeBySpanId(list));
  return p.finish();
}

function dedupeBySpanId(spans: Span[]): Span[] {
  if (spans.length === 1) return spans;
  const byId = new Map<string, Span>();
  for (const s of spans) byId.set(isServerSide(s.kind) ? `${s.spanId}+` : s.spanId, s);
  return byId.size === spans.length ? spans : [...byId.values()];
}

/**
 * Reads a prepared batch: its tables at once (strings as byte ranges, turned into strings only
 * when asked), then the traces span by span through `o`. Throws on a malformed buffer.
 */
export class PreparedBatchReader {
  readonly b: Buffer;
  o = 0;
  /** Spans given to `prepareBatch` (before de-duplication). */
  readonly given: number;
  /** String i = bytes [strStart[i], strEnd[i]). */
  readonly strStart: Int32Array;
  readonly strEnd: Int32Array;
  private readonly strCache: (string | undefined)[];
  /** Pair i = strings pairs[2i] (key), pairs[2i+1] (value). */
  readonly pairs: Int32Array;
  /** The `PrepareCache` epoch its op and resource numbers belong to. */
  readonly epoch: number;
  /** Op i = number ops[4i], service string ops[4i+1], name string ops[4i+2], kind ops[4i+3]. */
  readonly ops: Float64Array;
  /** Resource i = number resources[2i], canonical text string resources[2i+1]. */
  readonly resources: Float64Array;
  readonly traces: number;
  /** Where the traces end (and the tables start). */
  private readonly tablesAt: number;

  constructor(bytes: Uint8Array) {
    this.b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = this.u8();
    if (version !== PREPARED_BATCH_VERSION) throw new Error(`prepared batch: unknown version ${version}`);
    this.need(4);
    this.tablesAt = this.b.readUInt32LE(this.o);
    this.o += 4;
    this.epoch = this.u();
    this.given = this.u();
    this.traces = this.u();
    const tracesAt = this.o;
    if (this.tablesAt < tracesAt || this.tablesAt > this.b.length) throw new Error(`prepared batch: tables at ${this.tablesAt} out of range`);
    this.o = this.tablesAt;
    const ns = this.u();
    this.strStart = new Int32Array(ns);
    this.strEnd = new Int32Array(ns);
    this.strCache = new Array(ns);
    for (let i = 0; i < ns; i++) {
      const n = this.u();
      this.need(n);
      this.strStart[i] = this.o;
      this.o += n;
      this.strEnd[i] = this.o;
    }
    this.pairs = Int32Array.from(this.refs(2, ns, []));
    this.ops = this.refs(4, ns, [0, 3]);
    this.resources = this.refs(2, ns, [0]);
    if (this.o !== this.b.length) throw new Error(`prepared batch: ${this.b.length - this.o} bytes left over`);
    this.o = tracesAt;
  }

  /** A table of `width` numbers per entry, each a string index except columns `plain`. */
  private refs(width: number, strings: number, plain: number[]): Float64Array {
    const n = this.u();
    const out = new Float64Array(n * width);
    for (let i = 0; i < out.length; i++) {
      const v = this.u();
      if (!plain.includes(i % width) && v >= strings) throw new Error(`prepared batch: string ref ${v} out of range`);
      out[i] = v;
    }
    return out;
  }

  string(i: number): string {
    let s = this.strCache[i];
    if (s === undefined) s = this.strCache[i] = this.b.toString('utf8', this.strStart[i], this.strEnd[i]);
    return s;
  }

  need(n: number): void {
    if (this.o + n > this.b.length) throw new Error('prepared batch: truncated');
  }

  u(): number {
    const b = this.b;
    let v = 0;
    let mul = 1;
    for (;;) {
      if (this.o >= b.length) throw new Error('prepared batch: truncated');
      const x = b[this.o++];
      v += (x & 0x7f) * mul;
      if (x < 0x80) return v;
      mul *= 0x80;
    }
  }

  u8(): number {
    if (this.o >= this.b.length) throw new Error('prepared batch: truncated');
    return this.b[this.o++];
  }

  f64(): number {
    this.need(8);
    const v = this.b.readDoubleLE(this.o);
    this.o += 8;
    return v;
  }

  u48(): number {
    this.need(6);
    const v = this.b.readUIntLE(this.o, 6);
    this.o += 6;
    return v;
  }

  /** A view of the next `n` bytes (no copy). */
  view(n: number): Buffer {
    this.need(n);
    const v = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return v;
  }

  /** Throws unless every trace byte was read. */
  end(): void {
    if (this.o !== this.tablesAt) throw new Error(`prepared batch: ${this.tablesAt - this.o} trace bytes left over`);
  }
}

/** One span of a prepared batch as the writer reads it (`readSpan`); reused from span to span. */
export interface PreparedSpan {
  res: number;
  op: number;
  /** The stored key (see writer.ts `SERVER_SIDE`): a view into the batch. */
  sid: Buffer;
  /** The parent's 8-byte id (a view), or null for a root. */
  pid: Buffer | null;
  /** The parent's index within the trace's spans of this batch, -1 when not among them. */
  parentIdx: number;
  start: number;
  duration: number;
  flags: number;
  status: number;
  /** Byte range of the span's terms (6 bytes each) in the batch. */
  termsAt: number;
  terms: number;
  /** Byte range of the payload (transfer form; empty = no payload). */
  payloadAt: number;
  payloadEnd: number;
}

/** Reads the next span of the current trace into `s`. */
export function readSpan(r: PreparedBatchReader, s: PreparedSpan): void {
  s.res = r.u();
  s.op = r.u();
  if (s.res * 2 >= r.resources.length || s.op * 4 >= r.ops.length) throw new Error('prepared batch: resource or op ref out of range');
  const keyLen = r.u8();
  if (keyLen !== 8 && keyLen !== 9) throw new Error(`prepared batch: span key of ${keyLen} bytes`);
  s.sid = r.view(keyLen);
  const pLen = r.u8();
  if (pLen === 8) {
    s.pid = r.view(8);
    s.parentIdx = r.u() - 1;
  } else if (pLen === 0) {
    s.pid = null;
    s.parentIdx = -1;
  } else throw new Error(`prepared batch: parent id of ${pLen} bytes`);
  s.start = r.f64();
  s.duration = r.f64();
  s.flags = r.u();
  s.status = r.u();
  s.terms = r.u();
  r.need(s.terms * 6);
  s.termsAt = r.o;
  r.o += s.terms * 6;
  const n = r.u();
  r.need(n);
  s.payloadAt = r.o;
  r.o += n;
  s.payloadEnd = r.o;
}

export const newPreparedSpan = (): PreparedSpan => ({
  res: 0, op: 0, sid: Buffer.alloc(0), pid: null, parentIdx: -1, start: 0, duration: 0, flags: 0, status: 0,
  termsAt: 0, terms: 0, payloadAt: 0, payloadEnd: 0,
});
