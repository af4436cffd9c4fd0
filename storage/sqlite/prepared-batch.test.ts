/**
 * The batch the SQLite writer reads (prepared on the main thread in the all-in-one server): what
 * `prepareBatch` writes, read back span by span, gives the writer exactly what it computed from
 * span objects before — the same payload bytes (`PayloadEncoder.encode` with the same dictionary),
 * the same search terms (`forEachSpanOwnTag`), keys, parents, columns, ops and resources — and a
 * store fed with it gives the spans back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { TraceGenerator } from '../../bench/data/generator.js';
import { encodeOtlpProtobuf } from '../../bench/data/otlp.js';
import { decodeRequest } from '../../collector/decode-stage.js';
import { defaultSpanLimits, SpanLimiter } from '../../collector/span-limits.js';
import { type Attribute, type Resource, type Span, SpanKind } from '../../model/span.js';
import { canonicalResource } from './catalog.js';
import { MAX_REGISTERED, newPreparedSpan, prepareBatch, PreparedBatchReader, readSpan, PrepareCache } from './prepared-batch.js';
import { type KeyDictionary, PayloadEncoder } from './span-codec.js';
import { openSqliteStorage } from './sqlite-storage.js';
import { forEachSpanOwnTag, tagTerm } from './terms.js';

const resource: Resource = { serviceName: 'svc ✓', attributes: [{ key: 'service.name', type: 'string', value: 'svc ✓' }] };
const scope = { name: 'lib', version: '1.2.3' };

function span(over: Partial<Span> = {}): Span {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: 'GET /x',
    kind: SpanKind.SERVER,
    startTimeUs: 1_700_000_000_000_000,
    durationUs: 1234,
    attributes: [],
    events: [],
    links: [],
    status: { code: 0, message: '' },
    resource,
    scope,
    ...over,
  };
}

/** An in-memory key dictionary numbering keys as met (what the catalog does with `attr_keys`). */
function dictionary(): KeyDictionary {
  const ids = new Map<string, number>();
  const keys: string[] = [];
  return {
    idOf: (k) => {
      let id = ids.get(k);
      if (id === undefined) {
        ids.set(k, (id = keys.length + 1));
        keys.push(k);
      }
      return id;
    },
    keyOf: (id) => keys[id - 1],
  };
}

interface ReadSpan {
  traceId: string;
  sid: string;
  pid: string;
  parentIdx: number;
  service: string;
  name: string;
  kind: number;
  resource: string;
  start: number;
  duration: number;
  flags: number;
  status: number;
  terms: number[];
  payload: string;
}

/** Everything the writer reads from a prepared batch, payloads transcoded with `keys`. */
function readBack(bytes: Uint8Array, keys: KeyDictionary): { given: number; spans: ReadSpan[] } {
  const r = new PreparedBatchReader(bytes);
  const enc = new PayloadEncoder(keys);
  const keyIds = new Int32Array(r.strStart.length).fill(-1);
  const pairIds = new Int32Array(r.pairs.length / 2).fill(-2);
  const out: ReadSpan[] = [];
  for (let t = 0; t < r.traces; t++) {
    const traceId = r.view(16).toString('hex');
    const n = r.u();
    for (let i = 0; i < n; i++) {
      const s = newPreparedSpan();
      readSpan(r, s);
      const terms: number[] = [];
      for (let k = 0; k < s.terms; k++) terms.push(r.b.readUIntLE(s.termsAt + 6 * k, 6));
      const at = r.o;
      const payload = enc.transcode(r, s.payloadAt, s.payloadEnd, keyIds, pairIds);
      r.o = at;
      out.push({
        traceId, sid: s.sid.toString('hex'), pid: s.pid ? s.pid.toString('hex') : '', parentIdx: s.parentIdx,
        service: r.string(r.ops[s.op * 4 + 1]), name: r.string(r.ops[s.op * 4 + 2]), kind: r.ops[s.op * 4 + 3],
        resource: r.string(r.resources[s.res * 2 + 1]),
        start: s.start, duration: s.duration, flags: s.flags, status: s.status,
        terms: terms.sort((a, b) => a - b),
        payload: payload ? Buffer.from(payload).toString('hex') : '',
      });
    }
  }
  r.end();
  return { given: r.given, spans: out };
}

/** What the writer computed from the span objects themselves. */
function expected(spans: readonly Span[], keys: KeyDictionary): ReadSpan[] {
  const enc = new PayloadEncoder(keys);
  return spans.map((s) => {
    const terms: number[] = [];
    forEachSpanOwnTag(s, (k, v) => terms.push(tagTerm(k, v)));
    const payload = enc.encode(s);
    const server = s.kind === SpanKind.SERVER || s.kind === SpanKind.CONSUMER;
    return {
      traceId: s.traceId, sid: s.spanId + (server ? '01' : ''), pid: s.parentSpanId, parentIdx: -2,
      service: s.resource.serviceName, name: s.name, kind: s.kind, resource: canonicalResource(s.resource, s.scope),
      start: s.startTimeUs, duration: s.durationUs, flags: s.flags, status: s.status.code,
      terms: terms.sort((a, b) => a - b),
      payload: payload ? Buffer.from(payload).toString('hex') : '',
    };
  });
}

const noParentIdx = (xs: ReadSpan[]) => xs.map((x) => ({ ...x, parentIdx: -2 }));

const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const attr: fc.Arbitrary<Attribute> = fc.oneof(
  fc.record({ key: fc.constantFrom('k1', 'k2', 'http.route', 'ü'), type: fc.constant('string' as const), value: fc.oneof(fc.constantFrom('a', 'b', ''), text) }),
  fc.record({ key: text, type: fc.constant('string' as const), value: text }),
  fc.record({ key: text, type: fc.constant('int64' as const), value: fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.double({ min: 2 ** 53, max: 2 ** 60, noNaN: true }).map(Math.floor), fc.bigInt().map(String)) }),
  fc.record({ key: text, type: fc.constant('float64' as const), value: fc.double() }),
  fc.record({ key: text, type: fc.constant('bool' as const), value: fc.boolean() }),
  fc.record({ key: text, type: fc.constantFrom('binary' as const, 'array' as const, 'kvlist' as const), value: text }),
).map((a) => ({ ...a }) as Attribute);
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const optCount = fc.option(fc.nat({ max: 300 }), { nil: undefined });
const spanArb: fc.Arbitrary<Span> = fc.record({
  traceId: fc.constantFrom('1'.repeat(32), '2'.repeat(32), 'abcdef0123456789abcdef0123456789'),
  spanId: fc.constantFrom('a'.repeat(16), 'b'.repeat(16), 'c'.repeat(16), 'd'.repeat(16)),
  parentSpanId: fc.constantFrom('', 'a'.repeat(16), 'b'.repeat(16), 'e'.repeat(16)),
  traceState: fc.oneof(fc.constant(''), text),
  flags: fc.nat({ max: 0xffff }),
  name: fc.constantFrom('op', 'GET /x', 'ö'),
  kind: fc.integer({ min: 0, max: 5 }) as fc.Arbitrary<SpanKind>,
  startTimeUs: fc.integer({ min: 0, max: 2 ** 52 }),
  durationUs: fc.integer({ min: 0, max: 2 ** 40 }),
  attributes: fc.array(attr, { maxLength: 6 }),
  events: fc.array(fc.record({ timeUs: fc.integer({ min: 0, max: 2 ** 52 }), name: text, attributes: fc.array(attr, { maxLength: 3 }), droppedAttributesCount: optCount }, { requiredKeys: ['timeUs', 'name', 'attributes'] }), { maxLength: 3 }),
  links: fc.array(fc.record({ traceId: hex(32), spanId: hex(16), attributes: fc.array(attr, { maxLength: 2 }), traceState: fc.option(text, { nil: undefined }), droppedAttributesCount: optCount }, { requiredKeys: ['traceId', 'spanId', 'attributes'] }), { maxLength: 2 }),
  status: fc.record({ code: fc.integer({ min: 0, max: 2 }), message: fc.oneof(fc.constant(''), text) }),
  resource: fc.constantFrom(resource, { serviceName: 'other', attributes: [{ key: 'host.name', type: 'string', value: 'h1' }] } as Resource),
  scope: fc.constantFrom(scope, { name: '', version: '' }),
  droppedAttributesCount: optCount,
  droppedEventsCount: optCount,
  droppedLinksCount: optCount,
}, { requiredKeys: ['traceId', 'spanId', 'parentSpanId', 'traceState', 'flags', 'name', 'kind', 'startTimeUs', 'durationUs', 'attributes', 'events', 'links', 'status', 'resource', 'scope'] }) as fc.Arbitrary<Span>;

/** The spans as the writer stores them: grouped by trace (first appearance), last copy of a repeated key wins. */
function groupedDeduped(spans: readonly Span[]): Span[] {
  const byTrace = new Map<string, Map<string, Span>>();
  for (const s of spans) {
    let m = byTrace.get(s.traceId);
    if (!m) byTrace.set(s.traceId, (m = new Map()));
    m.set(s.kind === SpanKind.SERVER || s.kind === SpanKind.CONSUMER ? `${s.spanId}+` : s.spanId, s);
  }
  return [...byTrace.values()].flatMap((m) => [...m.values()]);
}

describe('prepared batch', () => {
  it('gives the writer the payload bytes, terms, keys and columns it would compute from the spans (property)', () => {
    fc.assert(
      fc.property(fc.array(spanArb, { maxLength: 12 }), (spans) => {
        const stored = groupedDeduped(spans);
        const bytes = prepareBatch(spans, new PrepareCache());
        expect(bytes.byteOffset).toBe(0);
        expect(bytes.buffer.byteLength).toBeGreaterThanOrEqual(bytes.byteLength);
        const back = readBack(bytes, dictionary());
        expect(back.given).toBe(spans.length);
        expect(noParentIdx(back.spans)).toEqual(expected(stored, dictionary()));
        // Parents within the batch: the span of that trace with the parent's id, its server half if shared.
        let offset = 0;
        for (const [traceId, n] of countByTrace(back.spans)) {
          const mine = back.spans.slice(offset, offset + n);
          for (const s of mine) {
            if (!s.pid) { expect(s.parentIdx).toBe(-1); continue; }
            const candidates = mine.map((x, i) => ({ x, i })).filter(({ x }) => x.sid.slice(0, 16) === s.pid);
            const want = candidates.find(({ x }) => x.sid.length > 16) ?? candidates[0];
            expect(s.parentIdx, traceId).toBe(want ? want.i : -1);
          }
          offset += n;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('interns values with the writer: a value past the budget, and keys in the order met, exactly as encode would', () => {
    const attrs = (v: string): Attribute[] => [{ key: 'many', type: 'string', value: v }, { key: 'few', type: 'string', value: 'x' }];
    const spans = Array.from({ length: 1100 }, (_, i) => span({ spanId: i.toString(16).padStart(16, '0'), attributes: attrs(`v${i % 1050}`) }));
    const keysA = dictionary();
    const keysB = dictionary();
    // Two batches through one encoder: the interning budget carries over as it does in the store.
    const encA = new PayloadEncoder(keysA);
    const want = [...spans.slice(0, 600), ...spans.slice(600)].map((s) => Buffer.from(encA.encode(s)!).toString('hex'));
    const encB = new PayloadEncoder(keysB);
    const got: string[] = [];
    for (const part of [spans.slice(0, 600), spans.slice(600)]) {
      const r = new PreparedBatchReader(prepareBatch(part));
      const keyIds = new Int32Array(r.strStart.length).fill(-1);
      const pairIds = new Int32Array(r.pairs.length / 2).fill(-2);
      const s = newPreparedSpan();
      for (let t = 0; t < r.traces; t++) {
        r.view(16);
        const n = r.u();
        for (let i = 0; i < n; i++) {
          readSpan(r, s);
          const at = r.o;
          got.push(Buffer.from(encB.transcode(r, s.payloadAt, s.payloadEnd, keyIds, pairIds)!).toString('hex'));
          r.o = at;
        }
      }
    }
    expect(got).toEqual(want);
  });

  it('matches what the OTLP protobuf decoder produced for generated traffic', () => {
    const gen = new TraceGenerator({ seed: 3, startUs: 1_700_000_000_000_000, spacingUs: 5_000 });
    const tags = new PrepareCache();
    for (const batch of gen.batches(3_000, 1_000)) {
      const { spans } = decodeRequest('otlp-protobuf', encodeOtlpProtobuf(batch), new SpanLimiter(defaultSpanLimits()));
      const back = readBack(prepareBatch(spans, tags), dictionary());
      expect(noParentIdx(back.spans)).toEqual(expected(groupedDeduped(spans), dictionary()));
    }
  });

  it('numbers ops and resources stably across batches, and starts over in a new epoch past MAX_REGISTERED', () => {
    const cache = new PrepareCache();
    const numbers = (bytes: Uint8Array) => {
      const r = new PreparedBatchReader(bytes);
      return { epoch: r.epoch, ops: [...r.ops].filter((_, i) => i % 4 === 0), resources: [...r.resources].filter((_, i) => i % 2 === 0) };
    };
    const first = numbers(prepareBatch([span(), span({ spanId: '1'.repeat(16), name: 'other' })], cache));
    const again = numbers(prepareBatch([span({ spanId: '2'.repeat(16), name: 'other' }), span({ spanId: '3'.repeat(16) })], cache));
    expect(again.epoch).toBe(first.epoch);
    expect(new Set(first.ops).size).toBe(2);
    expect(again.ops).toEqual([first.ops[1], first.ops[0]]); // listed in the order met, numbered as before
    expect(again.resources).toEqual(first.resources);
    for (let i = 0; i < MAX_REGISTERED; i++) cache.op('svc', `op-${i}`, 0);
    const after = numbers(prepareBatch([span()], cache));
    expect(after.epoch).not.toBe(first.epoch);
    expect([...after.ops, ...after.resources].sort()).toEqual([0, 1]); // numbered from 0 again
  });

  it('refuses an invalid span before preparing anything, with the error writeSpans always gave', () => {
    expect(() => prepareBatch([span(), span({ spanId: 'nope' })])).toThrow('writeSpans: span[1].spanId must be 16 lowercase hex chars, got "nope"');
    expect(() => prepareBatch([span({ traceId: '0'.repeat(32) })])).toThrow(/span\[0\]\.traceId/);
    expect(() => prepareBatch([span({ startTimeUs: 1.5 })])).toThrow(/startTimeUs/);
  });

  it('refuses a truncated, padded or unknown-version buffer', () => {
    const bytes = prepareBatch([span({ attributes: [{ key: 'a', type: 'string', value: 'b' }] })]);
    const readAll = (b: Uint8Array) => readBack(b, dictionary());
    expect(() => readAll(bytes.subarray(0, bytes.length - 2))).toThrow(/prepared batch/);
    const padded = new Uint8Array(bytes.length + 1);
    padded.set(bytes);
    expect(() => readAll(padded)).toThrow(/left over/);
    const other = Uint8Array.from(bytes);
    other[0] = 9;
    expect(() => readAll(other)).toThrow(/unknown version 9/);
    // Tables pointing into the traces: the traces' last bytes are read as tables.
    const shifted = Uint8Array.from(bytes);
    Buffer.from(shifted.buffer).writeUInt32LE(Buffer.from(bytes.buffer, 0, bytes.length).readUInt32LE(1) - 3, 1);
    expect(() => readAll(shifted)).toThrow(/prepared batch/);
  });

  describe('through the store', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshtrace-prepared-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('keeps the ops and resources of two preparers apart (their numbers collide, their epochs differ)', async () => {
      const storage = openSqliteStorage({ path: join(dir, 'epochs.db') });
      try {
        const a = new PrepareCache();
        const b = new PrepareCache();
        const res = (name: string): Resource => ({ serviceName: name, attributes: [{ key: 'host.name', type: 'string', value: name }] });
        const write = (cache: PrepareCache, traceId: string, service: string, name: string) =>
          storage.preparedWriter.writeSpans([prepareBatch([span({ traceId, name, resource: res(service) })], cache)]);
        // Op and resource number 0 in both caches, for different ones.
        await write(a, '1'.repeat(32), 'svc-a', 'op-a');
        await write(b, '2'.repeat(32), 'svc-b', 'op-b');
        await write(a, '3'.repeat(32), 'svc-a', 'op-a');
        await write(b, '4'.repeat(32), 'svc-b', 'op-b');
        const back = await storage.reader.getTraces({ traceIds: ['1', '2', '3', '4'].map((c) => c.repeat(32)) });
        expect(back.map((t) => `${t.spans[0].resource.serviceName}/${t.spans[0].name}/${t.spans[0].resource.attributes[0].value}`))
          .toEqual(['svc-a/op-a/svc-a', 'svc-b/op-b/svc-b', 'svc-a/op-a/svc-a', 'svc-b/op-b/svc-b']);
      } finally {
        await storage.close();
      }
    });

    it('stores random spans and gives them back field for field (property)', async () => {
      const storage = openSqliteStorage({ path: join(dir, 'p.db') });
      let run = 0;
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(spanArb, { minLength: 1, maxLength: 8 }), async (spans) => {
            // Fresh trace ids per run, so each run's traces hold only its own spans.
            const suffix = (run++).toString(16).padStart(8, '0');
            const mine = spans.map((s) => ({ ...s, traceId: s.traceId.slice(0, 24) + suffix }));
            await storage.writer.writeSpans(mine);
            const want = groupedDeduped(mine);
            const ids = [...new Set(want.map((s) => s.traceId))];
            const back = (await storage.reader.getTraces({ traceIds: ids })).flatMap((t) => t.spans);
            const key = (s: Span) => `${s.traceId}:${s.spanId}:${s.kind === SpanKind.SERVER || s.kind === SpanKind.CONSUMER ? 1 : 0}`;
            const norm = (s: Span) => JSON.parse(JSON.stringify({ ...s, warnings: undefined, attributes: s.attributes.map(normAttr), events: s.events.map((e) => ({ ...e, attributes: e.attributes.map(normAttr), droppedAttributesCount: e.droppedAttributesCount || undefined })), links: s.links.map((l) => ({ ...l, attributes: l.attributes.map(normAttr), traceState: l.traceState || undefined, droppedAttributesCount: l.droppedAttributesCount || undefined })), droppedAttributesCount: s.droppedAttributesCount || undefined, droppedEventsCount: s.droppedEventsCount || undefined, droppedLinksCount: s.droppedLinksCount || undefined })) as unknown;
            const byKey = new Map(back.map((s) => [key(s), norm(s)]));
            for (const s of want) expect(byKey.get(key(s)), key(s)).toEqual(norm(s));
            expect(back.length).toBe(want.length);
          }),
          { numRuns: 60 },
        );
      } finally {
        await storage.close();
      }
    });
  });
});

/** Attribute values compared as stored: numbers as JSON would show them, -0 and NaN by name. */
function normAttr(a: Attribute): unknown {
  const v = a.value;
  return { key: a.key, type: a.type, value: typeof v === 'number' ? (Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : String(v)) : v };
}

function countByTrace(spans: ReadSpan[]): [string, number][] {
  const out: [string, number][] = [];
  for (const s of spans) {
    if (out.length && out[out.length - 1][0] === s.traceId) out[out.length - 1][1]++;
    else out.push([s.traceId, 1]);
  }
  return out;
}
