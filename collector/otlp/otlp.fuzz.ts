/**
 * Fuzz targets of the OTLP decoders (see test/fuzz/target.ts). Inputs: spans built as the SDK's
 * ReadableSpan and encoded by the SDK's own serializers (otlp-transformer), as protobuf and JSON,
 * then either decoded whole (round trip) or mutated near the valid bytes/text.
 */
import assert from 'node:assert/strict';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import type { Attribute, Span } from '../../model/span.js';
import { bytesCodec, type FuzzTarget, mutatedBytes, mutatedString, onlyTyped, refusalLabel, textCodec, validHex, withSeeds } from '../../test/fuzz/target.js';
import type { DecodeResult } from './decode-result.js';
import { decodeOtlpJson } from './decode-json.js';
import { decodeOtlpProtobuf } from './decode-protobuf.js';
import { InvalidRequestError } from './errors.js';

type Scalar = string | number | boolean;

/** What the generator decides; the SDK span and the expected model span are both made from it. */
export interface SpanSpec {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number; // API SpanKind 0..4
  startNs: [number, number];
  durationNs: number;
  attributes: Record<string, Scalar | string[]>;
  events: { name: string; offsetNs: number; attributes: Record<string, Scalar> }[];
  links: { traceId: string; spanId: string }[];
  status: { code: 0 | 1 | 2; message: string };
  service: string;
  flags: number;
}

const key = fc.string({ minLength: 1, maxLength: 12 });
const scalar: fc.Arbitrary<Scalar> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 10 }),
  fc.boolean(),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
);
const attrs = <T>(v: fc.Arbitrary<T>) => fc.dictionary(key, v, { maxKeys: 5 }).filter((d) => !('__proto__' in d) || Object.hasOwn(d, '__proto__'));

export const spanSpec: fc.Arbitrary<SpanSpec> = fc.record({
  traceId: validHex(32),
  spanId: validHex(16),
  parentSpanId: fc.oneof(fc.constant(''), validHex(16)),
  name: fc.string({ maxLength: 30 }),
  kind: fc.integer({ min: 0, max: 4 }),
  // 1970 (exclusive) .. 2200
  startNs: fc.tuple(fc.integer({ min: 1, max: 7_258_118_400 }), fc.integer({ min: 0, max: 999_999_999 })),
  durationNs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 10 ** 12 })),
  attributes: attrs(fc.oneof(scalar, fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }))),
  events: fc.array(fc.record({ name: fc.string({ maxLength: 10 }), offsetNs: fc.nat({ max: 10 ** 9 }), attributes: attrs(scalar) }), { maxLength: 3 }),
  links: fc.array(fc.record({ traceId: validHex(32), spanId: validHex(16) }), { maxLength: 2 }),
  status: fc.record({ code: fc.constantFrom(0 as const, 1 as const, 2 as const), message: fc.string({ maxLength: 10 }) }),
  service: fc.string({ minLength: 1, maxLength: 10 }),
  flags: fc.constantFrom(0, 1),
});

const addNs = ([s, n]: [number, number], ns: number): [number, number] => {
  const total = n + ns;
  return [s + Math.floor(total / 1e9), total % 1e9];
};

/** The spec as the SDK's ReadableSpan (what its exporters serialize). */
export function toReadableSpan(spec: SpanSpec): ReadableSpan {
  const end = addNs(spec.startNs, spec.durationNs);
  return {
    name: spec.name,
    kind: spec.kind,
    spanContext: () => ({ traceId: spec.traceId, spanId: spec.spanId, traceFlags: spec.flags }),
    parentSpanContext: spec.parentSpanId ? { traceId: spec.traceId, spanId: spec.parentSpanId, traceFlags: 1 } : undefined,
    startTime: spec.startNs,
    endTime: end,
    status: spec.status.message ? spec.status : { code: spec.status.code },
    attributes: spec.attributes,
    links: spec.links.map((l) => ({ context: { traceId: l.traceId, spanId: l.spanId, traceFlags: 1 } })),
    events: spec.events.map((e) => ({ name: e.name, time: addNs(spec.startNs, e.offsetNs), attributes: e.attributes })),
    duration: [Math.floor(spec.durationNs / 1e9), spec.durationNs % 1e9],
    ended: true,
    resource: resourceFromAttributes({ 'service.name': spec.service }),
    instrumentationScope: { name: 'fuzz', version: '1.0' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  } as unknown as ReadableSpan;
}

const usOf = ([s, n]: [number, number]) => s * 1_000_000 + Math.floor(n / 1000);

function expectedAttribute(k: string, v: Scalar | string[]): Attribute {
  if (Array.isArray(v)) return { key: k, type: 'array', value: JSON.stringify({ values: v.map((s) => ({ stringValue: s })) }) };
  if (typeof v === 'string') return { key: k, type: 'string', value: v };
  if (typeof v === 'boolean') return { key: k, type: 'bool', value: v };
  return Number.isInteger(v) ? { key: k, type: 'int64', value: v } : { key: k, type: 'float64', value: v };
}

/** The model span the decoders must produce for `spec`. */
export function expectedSpan(spec: SpanSpec): Partial<Span> {
  const startUs = usOf(spec.startNs);
  return {
    traceId: spec.traceId,
    spanId: spec.spanId,
    parentSpanId: spec.parentSpanId,
    name: spec.name,
    kind: (spec.kind + 1) as Span['kind'],
    startTimeUs: startUs,
    durationUs: usOf(addNs(spec.startNs, spec.durationNs)) - startUs,
    attributes: Object.entries(spec.attributes).map(([k, v]) => expectedAttribute(k, v)),
    events: spec.events.map((e) => ({ timeUs: usOf(addNs(spec.startNs, e.offsetNs)), name: e.name, attributes: Object.entries(e.attributes).map(([k, v]) => expectedAttribute(k, v)) })),
    links: spec.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: [] })),
    status: { code: spec.status.code, message: spec.status.message },
  };
}

/** What every accepted span must be, whatever the input: the span model's own invariants. */
export function assertModelSpan(s: Span): void {
  assert.match(s.traceId, /^[0-9a-f]{32}$/);
  assert.notEqual(s.traceId, '0'.repeat(32));
  assert.match(s.spanId, /^[0-9a-f]{16}$/);
  assert.notEqual(s.spanId, '0'.repeat(16));
  assert.match(s.parentSpanId, /^(|[0-9a-f]{16})$/);
  assert.notEqual(s.parentSpanId, '0'.repeat(16));
  assert.ok(Number.isSafeInteger(s.startTimeUs) && s.startTimeUs > 0, `startTimeUs ${s.startTimeUs}`);
  assert.ok(Number.isSafeInteger(s.durationUs) && s.durationUs >= 0, `durationUs ${s.durationUs}`);
  assert.ok(Number.isSafeInteger(s.startTimeUs + s.durationUs), 'end time beyond 2^53 µs');
  assert.ok(Number.isInteger(s.kind) && s.kind >= 0 && s.kind <= 5, `kind ${s.kind}`);
  assert.ok([0, 1, 2].includes(s.status.code), `status ${s.status.code}`);
  assert.equal(typeof s.name, 'string');
  assert.equal(typeof s.resource.serviceName, 'string');
  for (const list of [s.attributes, s.resource.attributes, ...s.events.map((e) => e.attributes), ...s.links.map((l) => l.attributes)]) {
    for (const a of list) assertAttribute(a);
  }
  for (const e of s.events) assert.ok(Number.isSafeInteger(e.timeUs) && e.timeUs >= 0, `event time ${e.timeUs}`);
  for (const l of s.links) {
    assert.match(l.traceId, /^[0-9a-f]{32}$/);
    assert.match(l.spanId, /^[0-9a-f]{16}$/);
  }
}

function assertAttribute(a: Attribute): void {
  assert.equal(typeof a.key, 'string');
  switch (a.type) {
    case 'string': case 'binary': assert.equal(typeof a.value, 'string'); break;
    case 'bool': assert.equal(typeof a.value, 'boolean'); break;
    case 'float64': assert.equal(typeof a.value, 'number'); break;
    case 'int64':
      assert.ok(typeof a.value === 'number' ? Number.isSafeInteger(a.value) : /^-?\d+$/.test(a.value) && !Number.isSafeInteger(Number(a.value)), `int64 ${a.value}`);
      break;
    case 'array': case 'kvlist': {
      const doc = JSON.parse(a.value) as { values?: unknown };
      assert.ok(Array.isArray(doc.values), `${a.type} value ${a.value}`);
      break;
    }
    default: assert.fail(`attribute type ${(a as Attribute).type}`);
  }
}

function outcome(r: { ok: DecodeResult } | { refused: Error }): string {
  if ('refused' in r) return refusalLabel(r.refused);
  for (const s of r.ok.spans) assertModelSpan(s);
  assert.ok(r.ok.rejectedSpans >= 0 && (r.ok.rejectedSpans === 0) === (r.ok.errorMessage === ''));
  return `ok:${Math.min(r.ok.spans.length, 3)}:${r.ok.rejectedSpans > 0 ? r.ok.errorMessage.replace(/\[\d+\]|\d+/g, '_').slice(0, 60) : ''}`;
}

const specs = fc.array(spanSpec, { minLength: 1, maxLength: 3 });
const pbBytes = specs.map((s) => ProtobufTraceSerializer.serializeRequest(s.map(toReadableSpan))!);
const jsonText = specs.map((s) => new TextDecoder().decode(JsonTraceSerializer.serializeRequest(s.map(toReadableSpan))!));

/** Compares decoded spans with the specs, ignoring resource/scope/flags details checked elsewhere. */
function assertRoundTrip(decoded: DecodeResult, input: SpanSpec[]): void {
  assert.equal(decoded.rejectedSpans, 0, decoded.errorMessage);
  assert.equal(decoded.spans.length, input.length);
  const byId = new Map(decoded.spans.map((s) => [`${s.traceId}/${s.spanId}/${s.name}`, s]));
  for (const spec of input) {
    const got = byId.get(`${spec.traceId}/${spec.spanId}/${spec.name}`) ?? decoded.spans[input.indexOf(spec)];
    assertModelSpan(got);
    const want = expectedSpan(spec);
    const { traceId, spanId, parentSpanId, name, kind, startTimeUs, durationUs, attributes, events, links, status } = got;
    assert.deepEqual({ traceId, spanId, parentSpanId, name, kind, startTimeUs, durationUs, attributes, events, links, status }, want);
    assert.equal(got.flags & 0xff, spec.flags);
    assert.equal(got.resource.serviceName, spec.service);
    assert.deepEqual(got.scope, { name: 'fuzz', version: '1.0' });
  }
}

export const otlpFuzzTargets: FuzzTarget[] = [
  {
    name: 'otlp-protobuf-roundtrip',
    cost: 20,
    arbitrary: (seeds) => withSeeds(specs, seeds as SpanSpec[][]),
    check(input: SpanSpec[]) {
      assertRoundTrip(decodeOtlpProtobuf(ProtobufTraceSerializer.serializeRequest(input.map(toReadableSpan))!), input);
      return 'ok';
    },
  } satisfies FuzzTarget<SpanSpec[]>,
  {
    name: 'otlp-json-roundtrip',
    cost: 30,
    arbitrary: (seeds) => withSeeds(specs, seeds as SpanSpec[][]),
    check(input: SpanSpec[]) {
      const body = JsonTraceSerializer.serializeRequest(input.map(toReadableSpan))!;
      const json = decodeOtlpJson(body);
      assertRoundTrip(json, input);
      // Both encodings of the same spans decode alike.
      assert.deepEqual(json.spans, decodeOtlpProtobuf(ProtobufTraceSerializer.serializeRequest(input.map(toReadableSpan))!).spans);
      return 'ok';
    },
  } satisfies FuzzTarget<SpanSpec[]>,
  {
    name: 'otlp-protobuf',
    cost: 6,
    arbitrary: (seeds) => mutatedBytes(withSeeds(pbBytes, seeds as Uint8Array[])),
    check: (input: Uint8Array) => outcome(onlyTyped([InvalidRequestError], () => decodeOtlpProtobuf(input))),
    ...bytesCodec,
  } satisfies FuzzTarget<Uint8Array>,
  {
    name: 'otlp-json',
    cost: 8,
    arbitrary: (seeds) => mutatedString(withSeeds(jsonText, seeds as string[])),
    check: (input: string) => outcome(onlyTyped([InvalidRequestError], () => decodeOtlpJson(input))),
    ...textCodec,
  } satisfies FuzzTarget<string>,
  {
    // Never accepts what OTLP forbids: ids of the wrong length or all zeros, end before start.
    name: 'otlp-json-forbidden',
    cost: 8,
    arbitrary: () => fc.tuple(spanSpec, fc.constantFrom('zero-trace', 'zero-span', 'short-trace', 'long-span', 'end-before-start', 'parent-odd')),
    check([spec, how]: [SpanSpec, string]) {
      const doc = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest([toReadableSpan(spec)])!));
      const span = doc.resourceSpans[0].scopeSpans[0].spans[0];
      if (how === 'zero-trace') span.traceId = '0'.repeat(32);
      if (how === 'zero-span') span.spanId = '0'.repeat(16);
      if (how === 'short-trace') span.traceId = spec.traceId.slice(2);
      if (how === 'long-span') span.spanId = `${spec.spanId}00`;
      if (how === 'end-before-start') span.endTimeUnixNano = String(BigInt(span.startTimeUnixNano) - 1000n);
      if (how === 'parent-odd') span.parentSpanId = spec.spanId.slice(1);
      const r = decodeOtlpJson(JSON.stringify(doc));
      assert.equal(r.spans.length, 0, `accepted a span with ${how}`);
      assert.equal(r.rejectedSpans, 1);
      return how;
    },
  } satisfies FuzzTarget<[SpanSpec, string]>,
];
