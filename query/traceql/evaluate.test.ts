import { describe, expect, it } from 'vitest';
import { type Span, SpanKind, StatusCode } from '../../model/span.js';
import { makeSpan, newTraceId, str } from '../../storage/testdata/fixtures.js';
import { evaluateTrace, indexTrace } from './evaluate.js';
import { parseTraceQL } from './parser.js';
import { planCandidates } from './plan.js';

const T0 = 1_700_000_000_000_000;
const traceId = newTraceId();
/** web GET /checkout (server, 300 ms) → payments charge (client, error, 500) → db SELECT (postgres); web render (internal). */
const spans: Span[] = [
  makeSpan({ traceId, spanId: 'a000000000000001', service: 'web', name: 'GET /checkout', kind: SpanKind.SERVER, startTimeUs: T0, durationUs: 300_000,
    attributes: [str('http.route', '/checkout'), { key: 'http.status_code', type: 'int64', value: 200 }], resourceAttributes: [str('host.name', 'h1')] }),
  makeSpan({ traceId, spanId: 'a000000000000002', parentSpanId: 'a000000000000001', service: 'payments', name: 'charge', kind: SpanKind.CLIENT,
    startTimeUs: T0 + 10_000, durationUs: 120_000, status: { code: StatusCode.ERROR, message: 'declined' },
    attributes: [{ key: 'http.status_code', type: 'int64', value: 500 }, { key: 'retry', type: 'bool', value: true }, { key: 'ratio', type: 'float64', value: 0.25 }] }),
  makeSpan({ traceId, spanId: 'a000000000000003', parentSpanId: 'a000000000000002', service: 'db', name: 'SELECT', kind: SpanKind.CLIENT,
    startTimeUs: T0 + 20_000, durationUs: 5_000, attributes: [str('db.system', 'postgres')] }),
  makeSpan({ traceId, spanId: 'a000000000000004', parentSpanId: 'a000000000000001', service: 'web', name: 'render', startTimeUs: T0 + 200_000, durationUs: 90_000 }),
];
const idx = indexTrace({ traceId, spans });

/** Names of the matched spans, or null when the trace does not match. */
function run(q: string): string[] | null {
  const m = evaluateTrace(parseTraceQL(q), idx);
  return m ? m.spans.map((s) => s.name) : null;
}

describe('TraceQL evaluation on one trace', () => {
  it('compares intrinsics', () => {
    expect(run('{ name = "charge" }')).toEqual(['charge']);
    expect(run('{ name != "charge" }')).toEqual(['GET /checkout', 'SELECT', 'render']);
    expect(run('{ status = error }')).toEqual(['charge']);
    expect(run('{ kind = server }')).toEqual(['GET /checkout']);
    expect(run('{ duration > 100ms }')).toEqual(['GET /checkout', 'charge']);
    expect(run('{ duration >= 90ms && duration <= 120ms }')).toEqual(['charge', 'render']);
    expect(run('{ duration < 5ms }')).toBeNull();
    expect(run('{ rootServiceName = "web" && rootName = "GET /checkout" && name = "SELECT" }')).toEqual(['SELECT']);
    expect(run('{ traceDuration = 300ms && kind = client }')).toEqual(['charge', 'SELECT']);
    expect(run('{ traceDuration > 300ms }')).toBeNull();
  });

  it('compares attributes by type: numbers, strings, booleans, regexes, nil', () => {
    expect(run('{ span.http.status_code >= 500 }')).toEqual(['charge']);
    expect(run('{ span.http.status_code < 500 }')).toEqual(['GET /checkout']);
    expect(run('{ span.http.status_code != 200 }')).toEqual(['charge']); // spans without it never match !=
    expect(run('{ span.http.status_code = "500" }')).toBeNull(); // a string is not an int
    expect(run('{ .ratio > 0.2 && .ratio <= 0.25 }')).toEqual(['charge']);
    expect(run('{ .retry = true }')).toEqual(['charge']);
    expect(run('{ .retry != false }')).toEqual(['charge']);
    expect(run('{ .db.system =~ "post.*" }')).toEqual(['SELECT']);
    expect(run('{ .db.system =~ "post" }')).toBeNull(); // anchored
    expect(run('{ .db.system !~ "mysql|redis" }')).toEqual(['SELECT']);
    expect(run('{ .db.system =~ "(?i)POSTGRES" }')).toEqual(['SELECT']);
    expect(run('{ span.db.system != nil }')).toEqual(['SELECT']);
    expect(run('{ span.db.system = nil && kind = client }')).toEqual(['charge']);
    expect(run('{ span.http.route > "/a" }')).toEqual(['GET /checkout']);
  });

  it('resolves scopes: span., resource., and unscoped (span first, then resource)', () => {
    expect(run('{ resource.service.name = "payments" }')).toEqual(['charge']);
    expect(run('{ span.service.name = "payments" }')).toBeNull();
    expect(run('{ .service.name = "db" }')).toEqual(['SELECT']);
    expect(run('{ resource.host.name = "h1" }')).toEqual(['GET /checkout']);
  });

  it('combines conditions with &&, ||, ! and parentheses', () => {
    expect(run('{ kind = client && !(status = error) }')).toEqual(['SELECT']);
    expect(run('{ name = "render" || status = error }')).toEqual(['charge', 'render']);
    expect(run('{ (name = "render" || status = error) && kind = internal }')).toEqual(['render']);
    expect(run('{ true }')).toHaveLength(4);
    expect(run('{ false }')).toBeNull();
    expect(run('{ }')).toHaveLength(4);
  });

  it('runs spanset operators: &&, ||, > (child), >> (descendant)', () => {
    expect(run('{ name = "charge" } && { name = "render" }')).toEqual(['charge', 'render']);
    expect(run('{ name = "charge" } && { name = "nope" }')).toBeNull();
    expect(run('{ name = "nope" } || { name = "render" }')).toEqual(['render']);
    expect(run('{ kind = server } > { kind = client }')).toEqual(['charge']);
    expect(run('{ kind = server } > { name = "SELECT" }')).toBeNull(); // a grandchild is not a child
    expect(run('{ kind = server } >> { name = "SELECT" }')).toEqual(['SELECT']);
    expect(run('{ name = "SELECT" } >> { kind = server }')).toBeNull();
    expect(run('{ resource.service.name = "web" } > { status = error } > { .db.system = "postgres" }')).toEqual(['SELECT']);
  });

  it('filters with count() and passes select() fields through', () => {
    expect(run('{ kind = client } | count() = 2')).toEqual(['charge', 'SELECT']);
    expect(run('{ kind = client } | count() > 2')).toBeNull();
    expect(run('{ } | count() >= 4 | count() != 5')).toHaveLength(4);
    const m = evaluateTrace(parseTraceQL('{ status = error } | select(span.http.status_code, resource.host.name)'), idx);
    expect(m?.selected.map((f) => f.kind === 'attr' && f.name)).toEqual(['http.status_code', 'host.name']);
  });
});

describe('TraceQL candidate plan (what the indexes narrow)', () => {
  const plan = (q: string) => planCandidates(parseTraceQL(q));

  it('pushes down service+operation of one spanset with that spanset\'s tags', () => {
    expect(plan('{ resource.service.name = "web" && name = "GET /" && span.http.route = "/" } >> { status = error }').queries).toEqual([{ serviceName: 'web', operationName: 'GET /', tags: { 'http.route': '/' } }]);
  });

  it('pushes tags (service as service.name) from every necessary spanset, never from a field || or !', () => {
    expect(plan('{ resource.service.name = "web" } && { .code = 500 && .ok = true && status = error && kind = client }').queries).toEqual([{ tags: { 'service.name': 'web', code: '500', ok: 'true', error: 'true', 'span.kind': 'client' } }]);
    expect(plan('{ .a = "x" || .b = "y" }').queries).toEqual([{}]);
    expect(plan('{ !(.a = "x") }').queries).toEqual([{}]);
    expect(plan('{ .a != "x" && .f = 1.5 }').queries).toEqual([{}]);
    // A span attribute named service.name is not the service: not index-served.
    expect(plan('{ span.service.name = "x" }').queries).toEqual([{}]);
    expect(plan('{ .service.name = "x" }').queries).toEqual([{}]);
  });

  it('turns a spanset || into one candidate query per side (their union), unless a side narrows nothing', () => {
    const p = plan('{ .a = "x" } || ({ .b = "y" } > { duration > 1s })');
    expect(p.queries).toEqual([{ tags: { a: 'x' } }, { tags: { b: 'y' }, durationMinUs: 1_000_001 }]);
    expect(p.narrowedBy).toEqual(['tag a=x | tag b=y, trace duration']);
    expect(plan('({ .a = "x" } || { .b = "y" }) && { .c = "z" }').queries).toEqual([{ tags: { a: 'x', c: 'z' } }, { tags: { b: 'y', c: 'z' } }]);
    expect(plan('{ .a = "x" } || { .a = "x" }').queries).toEqual([{ tags: { a: 'x' } }]);
    expect(plan('{ .a = "x" } || { .b != "y" }').queries).toEqual([{}]);
  });

  it('turns span and trace durations into trace duration bounds', () => {
    expect(plan('{ duration > 1s }').queries).toEqual([{ durationMinUs: 1_000_001 }]);
    expect(plan('{ traceDuration >= 2s && traceDuration < 3s }').queries).toEqual([{ durationMinUs: 2_000_000, durationMaxUs: 2_999_999 }]);
    expect(plan('{ }').narrowedBy).toEqual(['time window only (every trace in it is a candidate)']);
  });
});
