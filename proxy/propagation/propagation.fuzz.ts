/**
 * Fuzz targets of the trace-header parsers (see test/fuzz/target.ts). The parsers return
 * undefined for what they refuse and never throw; each target checks that what is accepted obeys
 * the spec (an independent oracle per header), and that what the proxy injects parses back.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type FuzzTarget, hexOf, mutatedString, textCodec, validHex, withSeeds } from '../../test/fuzz/target.js';
import { extractB3Multi, extractB3Single, injectB3Multi, injectB3Single } from './b3.js';
import { type BaggageEntry, MAX_BAGGAGE_MEMBERS, parseBaggage, serializeBaggage } from './baggage.js';
import type { SpanContext } from './context.js';
import { extractJaeger, injectJaeger } from './jaeger.js';
import { formatTraceparent, MAX_TRACESTATE_MEMBERS, parseTraceparent, parseTracestate } from './w3c.js';

const ZERO32 = '0'.repeat(32);
const ZERO16 = '0'.repeat(16);

function assertContext(ctx: SpanContext): void {
  assert.match(ctx.traceId, /^[0-9a-f]{32}$/);
  assert.notEqual(ctx.traceId, ZERO32, 'all-zero trace id accepted');
  assert.match(ctx.spanId, /^[0-9a-f]{16}$/);
  assert.notEqual(ctx.spanId, ZERO16, 'all-zero span id accepted');
  assert.equal(typeof ctx.sampled, 'boolean');
}

const context: fc.Arbitrary<SpanContext> = fc.record({ traceId: validHex(32), spanId: validHex(16), sampled: fc.boolean(), debug: fc.boolean() })
  .map(({ debug, ...c }) => (debug ? { ...c, debug: true, sampled: true } : c));

/** Traceparents near valid ones: any version, zero and short ids, flags, uppercase, extra fields. */
const traceparentLike: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(hexOf(2), fc.oneof(validHex(32), fc.constant(ZERO32)), fc.oneof(validHex(16), fc.constant(ZERO16)), hexOf(2), fc.constantFrom('', '-', '-00', '-what-ever'))
    .map(([v, t, s, f, rest]) => `${v}-${t}-${s}-${f}${rest}`),
  context.map(formatTraceparent),
);

/** The W3C grammar, written independently of the parser (version 00 and future versions). */
function traceparentOracle(raw: string): { traceId: string; spanId: string; sampled: boolean } | undefined {
  const v = raw.trim();
  const parts = v.split('-');
  if (parts.length < 4) return undefined;
  const [version, traceId, spanId, flags] = parts;
  const hex = (s: string, n: number) => s.length === n && [...s].every((c) => '0123456789abcdef'.includes(c));
  if (!hex(version, 2) || version === 'ff') return undefined;
  if (version === '00' && parts.length !== 4) return undefined;
  if (!hex(traceId, 32) || traceId === ZERO32 || !hex(spanId, 16) || spanId === ZERO16 || !hex(flags, 2)) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

const tsKey = fc.tuple(fc.constantFrom(...'abcxyz0189'), fc.string({ unit: fc.constantFrom(...'az09_-*/@'), maxLength: 12 })).map(([a, b]) => a + b);
const tsValue = fc.string({ unit: fc.constantFrom(...'abcXYZ019!#~ +-./:'), minLength: 1, maxLength: 12 }).filter((v) => !v.endsWith(' '));
const tracestateLike = fc.array(fc.tuple(tsKey, tsValue).map(([k, v]) => `${k}=${v}`), { maxLength: 36 }).map((m) => m.join(','));

const baggageEntry: fc.Arbitrary<BaggageEntry> = fc.record({
  key: fc.string({ unit: fc.constantFrom(...'abcXYZ019!#$&*+-.^_`|~'), minLength: 1, maxLength: 10 }),
  value: fc.string({ maxLength: 12 }),
  properties: fc.option(fc.constantFrom('p', 'p=1', 'a=b;c'), { nil: undefined }),
}).map(({ properties, ...e }) => (properties === undefined ? e : { ...e, properties }));
/** A string that encodeURIComponent cannot encode (a lone surrogate) is not a baggage value. */
const encodable = (e: BaggageEntry) => { try { encodeURIComponent(e.value); return true; } catch { return false; } };

export const propagationFuzzTargets: FuzzTarget[] = [
  {
    name: 'traceparent',
    arbitrary: (seeds) => fc.oneof(traceparentLike, mutatedString(withSeeds(traceparentLike, seeds as string[]))),
    check(input: string) {
      const got = parseTraceparent(input);
      const want = traceparentOracle(input);
      if (got) assertContext(got);
      assert.deepEqual(got && { traceId: got.traceId, spanId: got.spanId, sampled: got.sampled }, want, `traceparent ${JSON.stringify(input)}`);
      return got ? `ok:${input.slice(0, 2)}` : 'refused';
    },
    ...textCodec,
  } satisfies FuzzTarget<string>,
  {
    name: 'traceparent-roundtrip',
    arbitrary: () => context,
    check(ctx: SpanContext) {
      const back = parseTraceparent(formatTraceparent(ctx));
      assert.deepEqual(back, { traceId: ctx.traceId, spanId: ctx.spanId, sampled: ctx.sampled || !!ctx.debug });
      return 'ok';
    },
  } satisfies FuzzTarget<SpanContext>,
  {
    name: 'tracestate',
    arbitrary: (seeds) => fc.oneof(tracestateLike, mutatedString(withSeeds(tracestateLike, seeds as string[]))),
    check(input: string) {
      const got = parseTracestate(input);
      if (got === undefined) return 'refused';
      const members = got.split(',');
      assert.ok(members.length <= MAX_TRACESTATE_MEMBERS, `${members.length} members kept`);
      assert.equal(new Set(members.map((m) => m.slice(0, m.indexOf('=')))).size, members.length, 'a key kept twice');
      // What is forwarded is canonical: parsing it again changes nothing.
      assert.equal(parseTracestate(got), got);
      return `ok:${Math.min(members.length, 5)}`;
    },
    ...textCodec,
  } satisfies FuzzTarget<string>,
  {
    name: 'b3-single',
    arbitrary: (seeds) => {
      const valid = fc.tuple(fc.oneof(validHex(32), validHex(16), fc.constant(ZERO32)), validHex(16), fc.constantFrom('', '-0', '-1', '-d', '-x'), fc.oneof(fc.constant(''), validHex(16).map((p) => `-${p}`)))
        .map(([t, s, sampled, parent]) => `${t}-${s}${sampled}${sampled ? parent : ''}`);
      return fc.oneof(valid, fc.constantFrom('0', '1', 'd'), mutatedString(withSeeds(valid, seeds as string[])));
    },
    check(input: string) {
      const r = extractB3Single({ b3: input });
      if (!r) return 'refused';
      if ('hint' in r) {
        assert.match(input.trim(), /^[01d]$/i);
        return 'hint';
      }
      assertContext(r.context);
      const [t, s] = input.trim().split('-');
      assert.equal(r.context.traceId, t.padStart(32, '0'));
      assert.equal(r.context.spanId, s);
      return 'ok';
    },
    ...textCodec,
  } satisfies FuzzTarget<string>,
  {
    name: 'b3-roundtrip',
    arbitrary: () => context,
    check(ctx: SpanContext) {
      for (const inject of [injectB3Single, injectB3Multi]) {
        const out: Record<string, string> = {};
        inject(ctx, out);
        const r = inject === injectB3Single ? extractB3Single(out) : extractB3Multi(out);
        assert.ok(r && 'context' in r, `${inject.name} did not parse back`);
        assert.deepEqual(r.context, ctx.debug ? { ...ctx, sampled: true } : ctx);
      }
      return 'ok';
    },
  } satisfies FuzzTarget<SpanContext>,
  {
    name: 'b3-multi',
    arbitrary: () => fc.record({
      'x-b3-traceid': fc.option(fc.oneof(validHex(32), validHex(16), fc.constant(ZERO32), mutatedString(validHex(32))), { nil: undefined }),
      'x-b3-spanid': fc.option(fc.oneof(validHex(16), fc.constant(ZERO16), mutatedString(validHex(16))), { nil: undefined }),
      'x-b3-sampled': fc.option(fc.constantFrom('0', '1', 'true', 'false', 'd', 'yes', ''), { nil: undefined }),
      'x-b3-flags': fc.option(fc.constantFrom('0', '1', '2'), { nil: undefined }),
    }),
    check(headers: Record<string, string | undefined>) {
      const r = extractB3Multi(headers);
      if (!r) return 'refused';
      if ('hint' in r) {
        assert.equal(headers['x-b3-traceid'] ?? headers['x-b3-spanid'], undefined);
        return 'hint';
      }
      assertContext(r.context);
      return `ok:${r.context.sampled}`;
    },
  } satisfies FuzzTarget<Record<string, string | undefined>>,
  {
    name: 'jaeger',
    arbitrary: (seeds) => {
      const valid = fc.tuple(fc.oneof(validHex(32), validHex(16), fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 33 })), fc.oneof(validHex(16), hexOf(3)), fc.constantFrom('0', 'a1b2'), fc.constantFrom('0', '1', '3', 'ff', '100'))
        .map(([t, s, p, f]) => `${t}:${s}:${p}:${f}`);
      const encoded = valid.map((v) => v.replaceAll(':', '%3A'));
      return fc.oneof(valid, encoded, mutatedString(withSeeds(valid, seeds as string[])));
    },
    check(input: string) {
      const ctx = extractJaeger({ 'uber-trace-id': input });
      if (!ctx) return 'refused';
      assertContext(ctx);
      if (ctx.debug) assert.equal(ctx.sampled, true);
      return `ok:${ctx.sampled}:${!!ctx.debug}`;
    },
    ...textCodec,
  } satisfies FuzzTarget<string>,
  {
    name: 'jaeger-roundtrip',
    arbitrary: () => context,
    check(ctx: SpanContext) {
      const out: Record<string, string> = {};
      injectJaeger(ctx, out);
      assert.deepEqual(extractJaeger(out), ctx);
      return 'ok';
    },
  } satisfies FuzzTarget<SpanContext>,
  {
    name: 'baggage',
    arbitrary: (seeds) => {
      const valid = fc.array(baggageEntry, { maxLength: 70 }).filter((es) => es.every(encodable)).map(serializeBaggage);
      return fc.oneof(valid, mutatedString(withSeeds(valid, seeds as string[])));
    },
    check(input: string) {
      const entries = parseBaggage(input);
      if (!entries) return 'refused';
      assert.ok(entries.length <= MAX_BAGGAGE_MEMBERS);
      assert.ok(Buffer.byteLength(input) <= 8192);
      // What is accepted can be forwarded and reads back the same.
      assert.deepEqual(parseBaggage(serializeBaggage(entries)), entries);
      return `ok:${Math.min(entries.length, 5)}`;
    },
    ...textCodec,
  } satisfies FuzzTarget<string>,
  {
    name: 'baggage-roundtrip',
    arbitrary: () => fc.array(baggageEntry, { maxLength: MAX_BAGGAGE_MEMBERS }).filter((es) => es.every(encodable)),
    check(entries: BaggageEntry[]) {
      const header = serializeBaggage(entries);
      const back = parseBaggage(header);
      if (Buffer.byteLength(header) > 8192) assert.equal(back, undefined);
      else assert.deepEqual(back, entries.map((e) => ({ ...e })));
      return 'ok';
    },
  } satisfies FuzzTarget<BaggageEntry[]>,
];
