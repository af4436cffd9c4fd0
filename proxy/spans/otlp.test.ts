/**
 * The hand-written encoder against the reference: @opentelemetry/otlp-transformer's serializer must
 * produce the same bytes for the same spans, and the collector's decoder must read them back.
 */
import { serializeTraceExportRequest } from '@opentelemetry/otlp-transformer/build/src/trace/protobuf/trace-serializer.js';
import { describe, expect, it } from 'vitest';
import { decodeOtlpProtobuf } from '../../collector/otlp/decode-protobuf.js';
import { batchEncoder, encodeSpan } from './otlp.js';
import { PROXY_SCOPE, proxyResource } from './recorder.js';
import { ApiSpanKind, SpanStatus, type Resource, type Scope, type SpanInit } from './span.js';

type ReadableSpan = Parameters<typeof serializeTraceExportRequest>[0][number];

/** The SDK's ReadableSpan shape for the same span (what the proxy used to hand the serializer). */
function readable(s: SpanInit, resource: Resource, scope: Scope): ReadableSpan {
  const hr = (ms: number): [number, number] => { const sec = Math.floor(ms / 1000); return [sec, Math.round((ms - sec * 1000) * 1e6)]; };
  const ctx = { traceId: s.traceId, spanId: s.spanId, traceFlags: 1, traceState: s.traceState ? { serialize: () => s.traceState! } : undefined };
  const parent = s.parentSpanId ? { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: 1, isRemote: s.parentIsRemote } : undefined;
  const durationMs = Math.max(0, s.endMs - s.startMs);
  return {
    name: s.name, kind: s.kind, spanContext: () => ctx, parentSpanContext: parent,
    startTime: hr(s.startMs), endTime: hr(s.startMs + durationMs), duration: hr(durationMs),
    status: { code: s.statusCode, message: s.statusMessage }, attributes: s.attributes, links: [], events: (s.events ?? []).map((e) => ({ name: e.name, time: hr(e.timeMs), attributes: e.attributes, droppedAttributesCount: 0 })), ended: true,
    resource, instrumentationScope: scope, droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0,
  } as unknown as ReadableSpan;
}

const base: SpanInit = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', parentSpanId: '', parentIsRemote: true,
  name: 'GET /reviews/0', kind: ApiSpanKind.SERVER, startMs: 1764097200123.4567, endMs: 1764097200125.0001,
  attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'http.response.body.size': 0, 'network.peer.port': 54321 },
  statusCode: SpanStatus.UNSET,
};

const cases: [string, SpanInit][] = [
  ['a root SERVER span', base],
  ['a CLIENT span with a remote parent, tracestate, an error status and every attribute type', {
    ...base, spanId: 'a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', kind: ApiSpanKind.CLIENT, traceState: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
    statusCode: SpanStatus.ERROR, statusMessage: 'ECONNREFUSED',
    attributes: { s: 'ünïcödé ✓ 𝄞', i: -42, big: 2 ** 40, d: 1.5, neg: -0.25, t: true, f: false, empty: '', 'meshtrace.propagation.fix': 'x'.repeat(300) },
  }],
  ['a span with mesh events (one with a long attribute: a multi-byte event length)', {
    ...base, kind: ApiSpanKind.CLIENT,
    events: [
      { name: 'meshtrace.fault.delay', timeMs: base.startMs + 0.25, attributes: { 'meshtrace.fault.delay_ms': 50, 'meshtrace.fault.percent': 12.5 } },
      { name: 'meshtrace.route', timeMs: base.startMs, attributes: { 'meshtrace.route.name': 'r'.repeat(200), 'meshtrace.retried': true } },
    ],
  }],
  ['a long name (multi-byte length prefixes) and a zero duration', { ...base, name: 'POST '.concat('/a'.repeat(200)), endMs: base.startMs - 5 }],
];

describe('OTLP span encoding', () => {
  const resource = proxyResource('reviews', 'v2', 'host-1');
  const encode = batchEncoder(resource, PROXY_SCOPE);

  for (const [what, span] of cases) {
    it(`matches the OpenTelemetry serializer byte for byte: ${what}`, () => {
      expect(Buffer.from(encode([encodeSpan(span)])).toString('hex')).toBe(Buffer.from(serializeTraceExportRequest([readable(span, resource, PROXY_SCOPE)])!).toString('hex'));
    });
  }

  it('encodes a batch as one resource and scope with every span, which the collector decodes', () => {
    const spans = cases.map(([, s]) => s);
    const body = encode(spans.map(encodeSpan));
    expect(Buffer.from(body).toString('hex')).toBe(Buffer.from(serializeTraceExportRequest(spans.map((s) => readable(s, resource, PROXY_SCOPE)))!).toString('hex'));
    const decoded = decodeOtlpProtobuf(Buffer.from(body)).spans;
    expect(decoded.map((s) => s.spanId)).toEqual(spans.map((s) => s.spanId));
    expect(decoded[1]).toMatchObject({ traceId: base.traceId, parentSpanId: '00f067aa0ba902b7', name: base.name, traceState: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7', status: { message: 'ECONNREFUSED' } });
  });
});
