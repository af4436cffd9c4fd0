import { describe, expect, it } from 'vitest';
import { type Span, SpanKind, StatusCode, type Trace } from '../../model/span.js';
import type { TraceSkeleton } from '../../storage/api.js';
import { makeSpan, newTraceId, str } from '../../storage/testdata/fixtures.js';
import { evaluateTrace, indexTrace } from './evaluate.js';
import { parseTraceQL } from './parser.js';
import { mayMatch, prefilterApplies } from './prefilter.js';

const T0 = 1_700_000_000_000_000;
const traceId = newTraceId();
/** web GET /checkout (server, 300 ms) → payments charge (client, error) → db SELECT; web render (internal). */
const spans: Span[] = [
  makeSpan({ traceId, spanId: 'a000000000000001', service: 'web', name: 'GET /checkout', kind: SpanKind.SERVER, startTimeUs: T0, durationUs: 300_000,
    attributes: [str('http.route', '/checkout'), { key: 'http.status_code', type: 'int64', value: 200 }], resourceAttributes: [str('host.name', 'h1')] }),
  makeSpan({ traceId, spanId: 'a000000000000002', parentSpanId: 'a000000000000001', service: 'payments', name: 'charge', kind: SpanKind.CLIENT,
    startTimeUs: T0 + 10_000, durationUs: 120_000, status: { code: StatusCode.ERROR, message: 'declined' },
    attributes: [{ key: 'http.status_code', type: 'int64', value: 500 }, { key: 'retry', type: 'bool', value: true }] }),
  makeSpan({ traceId, spanId: 'a000000000000003', parentSpanId: 'a000000000000002', service: 'db', name: 'SELECT', kind: SpanKind.CLIENT,
    startTimeUs: T0 + 20_000, durationUs: 5_000, attributes: [str('db.system', 'postgres')] }),
  makeSpan({ traceId, spanId: 'a000000000000004', parentSpanId: 'a000000000000001', service: 'web', name: 'render', startTimeUs: T0 + 200_000, durationUs: 90_000 }),
];

/** What a store's getTraceSkeletons returns for the trace. */
function skeletonOf(t: Trace): TraceSkeleton {
  return {
    traceId: t.traceId,
    spans: t.spans.map((s) => ({
      spanId: s.spanId, parentSpanId: s.parentSpanId, name: s.name, kind: s.kind, statusCode: s.status.code,
      startTimeUs: s.startTimeUs, durationUs: s.durationUs, serviceName: s.resource.serviceName,
      serviceAttribute: s.resource.attributes.find((a) => a.key === 'service.name'),
    })),
  };
}

const trace = { traceId, spans };
const skeleton = skeletonOf(trace);
const exact = (q: string) => evaluateTrace(parseTraceQL(q), indexTrace(trace)) !== undefined;
const may = (q: string) => mayMatch(parseTraceQL(q), skeleton);

describe('TraceQL prefilter on span skeletons', () => {
  it('never rules out a trace that matches (every query that matches exactly passes)', () => {
    const matching = [
      '{ name = "charge" }', '{ status = error && kind = client }', '{ duration > 100ms && resource.service.name = "web" }',
      '{ resource.service.name = "payments" && span.http.status_code >= 500 }', '{ .retry = true }', '{ !(.retry = true) && kind = client }',
      '{ span.db.system != nil }', '{ span.http.status_code = nil && kind = internal }', '{ rootServiceName = "web" && rootName = "GET /checkout" }',
      '{ traceDuration = 300ms }', '{ kind = server } > { kind = client }', '{ kind = server } >> { name = "SELECT" }',
      '{ resource.service.name = "web" && kind = server } > { status = error } > { .db.system = "postgres" }',
      '{ name = "nope" } || { name = "render" }', '{ kind = client } | count() = 2', '{ } | count() >= 4', '{ kind = client } | count() < 3',
      '{ .db.system =~ "post.*" && name =~ "SEL.*" }', '{ resource.host.name = "h1" } && { name !~ "x.*" }', '{ !(name = "charge" && .retry = false) }',
    ];
    for (const q of matching) {
      expect(exact(q), q).toBe(true);
      expect(may(q), q).toBe(true);
    }
  });

  it('rules out what the skeleton decides: intrinsics, resource.service.name, structure, count()', () => {
    const ruledOut = [
      '{ name = "nope" }', '{ resource.service.name = "db" && status = error }', '{ resource.service.name = "payments" && duration > 200ms }',
      '{ kind = server } > { name = "SELECT" }', '{ name = "SELECT" } >> { kind = server }', '{ kind = client && .db.system = "x" } | count() > 2',
      '{ kind = client } | count() = 3', '{ rootServiceName = "db" }', '{ traceDuration > 1s }', '{ name = "charge" } && { name = "nope" }',
      '{ resource.service.name = "shipping" && kind = client } > { resource.service.name = "payments" } && { span.customer.tier = "enterprise" }',
    ];
    for (const q of ruledOut) {
      expect(exact(q), q).toBe(false);
      expect(may(q), q).toBe(false);
    }
  });

  it('keeps what depends on attributes (unknown on a skeleton), including negations of them', () => {
    for (const q of ['{ .retry = false }', '{ !(span.db.system != nil) && name = "SELECT" }', '{ span.x = 1 || name = "nope" }', '{ .service.name = "web" && name = "charge" }']) {
      expect(exact(q), q).toBe(false);
      expect(may(q), q).toBe(true);
    }
  });

  it('applies only where skeletons can tell more than the terms the candidates come from', () => {
    const applies = (q: string) => prefilterApplies(parseTraceQL(q));
    // Attributes only, or what one term proves: every candidate would pass.
    for (const q of ['{ span.user.id = "u1" }', '{ } | count() > 3', '{ resource.service.name = "x" }', '{ kind = server && .a = 1 }',
      '{ resource.service.name = "x" && name = "op" && span.a != nil }', '{ status = error } | count() < 2']) expect(applies(q), q).toBe(false);
    // Two terms on one span, an intrinsic no term serves, a known condition under ! or ||, structure, count() > N.
    for (const q of ['{ resource.service.name = "x" && status = error }', '{ kind = client && status = error }', '{ name =~ "a.*" }',
      '{ duration > 1s && .a = 1 }', '{ .a = 1 && !(status = error) }', '{ name = "a" || .b = 1 }', '{ .a = 1 } > { .b = 2 }',
      '{ resource.service.name = "x" } | count() > 3', '{ rootServiceName = "x" }']) expect(applies(q), q).toBe(true);
  });
});
