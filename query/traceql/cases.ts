/**
 * The TraceQL case table (issue 16): a fixed fixture of seven traces and query → expected traces
 * (newest first) for every operator, precedence, regex anchoring, nil, scopes, the structural
 * operators, count()/select(), and errors with their positions. Run unchanged against every
 * storage backend through the storage API and the search engine (search.ts): a backend's test file
 * builds an empty storage and calls `runTraceQLCases(name, open)`, as with storage/contract.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Attribute, type Span, SpanKind, StatusCode } from '../../model/span.js';
import type { Storage } from '../../storage/api.js';
import { makeSpan, MINUTE_US, nowUs, str } from '../../storage/testdata/fixtures.js';
import { parseTraceQL } from './parser.js';
import { searchTraceQL } from './search.js';

const TRACE_NAMES = ['CHECKOUT', 'BROWSE', 'LOGIN', 'SEARCH', 'BATCH', 'PARTIAL', 'ODD'] as const;
type TraceName = (typeof TRACE_NAMES)[number];
/** Fixed ids: trace n is 0…0n. Traces start 10 s apart in this order, so ODD is the newest. */
const TRACE_ID: Record<TraceName, string> = Object.fromEntries(TRACE_NAMES.map((n, i) => [n, String(i + 1).padStart(32, '0')])) as Record<TraceName, string>;

const int = (key: string, value: number): Attribute => ({ key, type: 'int64', value });
const float = (key: string, value: number): Attribute => ({ key, type: 'float64', value });
const bool = (key: string, value: boolean): Attribute => ({ key, type: 'bool', value });
const ERROR = { code: StatusCode.ERROR, message: 'failed' };
const OK = { code: StatusCode.OK, message: '' };
const MS = 1000;
/** Resource attributes by service (besides service.name): web, payments and search run in prod, worker in staging. */
const RESOURCE: Record<string, Attribute[]> = {
  web: [str('deployment.environment', 'prod')],
  payments: [str('deployment.environment', 'prod')],
  search: [str('deployment.environment', 'prod')],
  worker: [str('deployment.environment', 'staging')],
};

/** The fixture; `base` is the first trace's start. */
export function traceqlFixture(base: number): Span[] {
  const spans: Span[] = [];
  const add = (trace: TraceName, id: string, parent: string, service: string, name: string, kind: SpanKind, offMs: number, durMs: number,
    attributes: Attribute[] = [], status?: Span['status'], host?: string) => {
    const start = base + TRACE_NAMES.indexOf(trace) * 10_000_000 + offMs * MS;
    const resourceAttributes = [...(RESOURCE[service] ?? []), ...(host ? [str('host.name', host)] : [])];
    spans.push(makeSpan({ traceId: TRACE_ID[trace], spanId: id, parentSpanId: parent, service, name, kind, startTimeUs: start, durationUs: durMs * MS,
      attributes, status, resourceAttributes }));
  };
  // CHECKOUT: web GET /checkout → payments charge (client, error) → db SELECT (postgres); web render.
  add('CHECKOUT', 'c000000000000001', '', 'web', 'GET /checkout', SpanKind.SERVER, 0, 300, [str('http.route', '/checkout'), int('http.status_code', 200)], undefined, 'h1');
  add('CHECKOUT', 'c000000000000002', 'c000000000000001', 'payments', 'charge', SpanKind.CLIENT, 10, 120,
    [int('http.status_code', 500), bool('retry', true), float('ratio', 0.25)], ERROR);
  add('CHECKOUT', 'c000000000000003', 'c000000000000002', 'db', 'SELECT', SpanKind.CLIENT, 20, 5, [str('db.system', 'postgres')]);
  add('CHECKOUT', 'c000000000000004', 'c000000000000001', 'web', 'render', SpanKind.INTERNAL, 200, 90, [], undefined, 'h1');
  // BROWSE: web GET /browse → db SELECT (redis).
  add('BROWSE', 'b000000000000001', '', 'web', 'GET /browse', SpanKind.SERVER, 0, 50, [str('http.route', '/browse'), int('http.status_code', 200)], undefined, 'h2');
  add('BROWSE', 'b000000000000002', 'b000000000000001', 'db', 'SELECT', SpanKind.CLIENT, 1, 2, [str('db.system', 'redis')]);
  // LOGIN: auth POST /login (401) → auth hash (status ok).
  add('LOGIN', 'a000000000000001', '', 'auth', 'POST /login', SpanKind.SERVER, 0, 20, [str('user.id', 'u1'), int('http.status_code', 401)]);
  add('LOGIN', 'a000000000000002', 'a000000000000001', 'auth', 'hash', SpanKind.INTERNAL, 2, 15, [str('algo', 'bcrypt')], OK);
  // SEARCH: web GET /search → search query (server) → db SELECT (mysql, error); 1.2 s.
  add('SEARCH', 'd000000000000001', '', 'web', 'GET /search', SpanKind.SERVER, 0, 1200, [str('http.route', '/search'), int('http.status_code', 200)]);
  add('SEARCH', 'd000000000000002', 'd000000000000001', 'search', 'query', SpanKind.SERVER, 5, 1100, [int('hits', 42)]);
  add('SEARCH', 'd000000000000003', 'd000000000000002', 'db', 'SELECT', SpanKind.CLIENT, 10, 900, [str('db.system', 'mysql')], ERROR);
  // BATCH: worker process (consumer, 2 s) → worker publish (producer).
  add('BATCH', 'e000000000000001', '', 'worker', 'process', SpanKind.CONSUMER, 0, 2000, [str('queue', 'jobs')]);
  add('BATCH', 'e000000000000002', 'e000000000000001', 'worker', 'publish', SpanKind.PRODUCER, 100, 10, [str('queue', 'results')]);
  // PARTIAL: its root's parent never arrived; api handle (503, error) → api cache.
  add('PARTIAL', 'f000000000000001', 'ffffffffffffffff', 'api', 'handle', SpanKind.SERVER, 0, 40, [str('http.route', '/items'), int('http.status_code', 503)], ERROR);
  add('PARTIAL', 'f000000000000002', 'f000000000000001', 'api', 'cache', SpanKind.INTERNAL, 1, 1, [bool('cache.hit', false)]);
  // ODD: one span of unspecified kind, a quoted key, a name needing regex escapes.
  add('ODD', '0d00000000000001', '', 'edge', 'GET /api/v1/items?id=7', SpanKind.UNSPECIFIED, 0, 7,
    [str('my key', 'a"b'), str('http.route', '/api/v1/items'), str('note', 'Hello World')]);
  return spans;
}

const ALL: TraceName[] = [...TRACE_NAMES];
type Case = [query: string, expected: TraceName[] | { error: string }];

/** query → the traces it matches (any order here; the search answers newest first). */
export const TRACEQL_CASES: Case[] = [
  // intrinsics
  ['{ name = "SELECT" }', ['CHECKOUT', 'BROWSE', 'SEARCH']],
  ['{ name != "SELECT" }', ALL],
  ['{ status = error }', ['CHECKOUT', 'SEARCH', 'PARTIAL']],
  ['{ status = ok }', ['LOGIN']],
  ['{ status = unset && kind = consumer }', ['BATCH']],
  ['{ status != unset && kind = internal }', ['LOGIN']],
  ['{ kind = server }', ['CHECKOUT', 'BROWSE', 'LOGIN', 'SEARCH', 'PARTIAL']],
  ['{ kind = unspecified }', ['ODD']],
  ['{ kind = producer }', ['BATCH']],
  ['{ kind != client && kind != server && kind != internal }', ['BATCH', 'ODD']],
  ['{ duration > 1s }', ['SEARCH', 'BATCH']],
  ['{ duration >= 1100ms && duration < 1200ms }', ['SEARCH']],
  ['{ duration <= 1ms }', ['PARTIAL']],
  ['{ duration = 15ms }', ['LOGIN']],
  ['{ duration > 0.5s && kind = client }', ['SEARCH']],
  ['{ traceDuration > 1500ms }', ['BATCH']],
  ['{ traceDuration < 10ms }', ['ODD']],
  ['{ traceDuration >= 300ms && traceDuration <= 1.2s && kind = internal }', ['CHECKOUT']],
  ['{ rootServiceName = "web" }', ['CHECKOUT', 'BROWSE', 'SEARCH']],
  ['{ rootServiceName = "api" }', ['PARTIAL']],
  ['{ rootName = "process" && name = "publish" }', ['BATCH']],
  ['{ rootName =~ "GET .*" && kind = client }', ['CHECKOUT', 'BROWSE', 'SEARCH']],
  ['{ span:name = "hash" }', ['LOGIN']],
  ['{ trace:rootService = "worker" }', ['BATCH']],
  ['{ span:duration > 1900ms }', ['BATCH']],
  // attributes: types, scopes
  ['{ span.http.status_code >= 500 }', ['CHECKOUT', 'PARTIAL']],
  ['{ span.http.status_code < 300 }', ['CHECKOUT', 'BROWSE', 'SEARCH']],
  ['{ span.http.status_code = 401 }', ['LOGIN']],
  ['{ span.http.status_code != 200 }', ['CHECKOUT', 'LOGIN', 'PARTIAL']],
  ['{ span.http.status_code = "200" }', []],
  ['{ span.http.status_code > 199 && span.http.status_code <= 401 }', ['CHECKOUT', 'BROWSE', 'LOGIN', 'SEARCH']],
  ['{ .ratio > 0.2 }', ['CHECKOUT']],
  ['{ .ratio = 0.25 }', ['CHECKOUT']],
  ['{ span.retry = true }', ['CHECKOUT']],
  ['{ span.cache.hit = false }', ['PARTIAL']],
  ['{ span.cache.hit != true }', ['PARTIAL']],
  ['{ .hits = 42 }', ['SEARCH']],
  ['{ span.user.id = "u1" }', ['LOGIN']],
  ['{ resource.deployment.environment = "staging" }', ['BATCH']],
  ['{ resource.deployment.environment = "prod" && span.db.system = "postgres" }', []],
  ['{ resource.deployment.environment = "prod" } && { span.db.system = "postgres" }', ['CHECKOUT']],
  ['{ .deployment.environment = "prod" && kind = client }', ['CHECKOUT']],
  ['{ resource.host.name = "h2" }', ['BROWSE']],
  ['{ span.host.name = "h1" }', []],
  ['{ .service.name = "auth" }', ['LOGIN']],
  ['{ span.service.name = "auth" }', []],
  ['{ resource.service.name = "db" && status = error }', ['SEARCH']],
  ['{ resource.service.name = "web" && name = "render" }', ['CHECKOUT']],
  ['{ span."my key" = "a\\"b" }', ['ODD']],
  ['{ .note = "Hello World" }', ['ODD']],
  ['{ .note > "Hello" }', ['ODD']],
  ['{ .note < "Hello" }', []],
  // regular expressions: anchored at both ends
  ['{ .db.system =~ "post.*" }', ['CHECKOUT']],
  ['{ .db.system =~ "post" }', []],
  ['{ .db.system =~ ".*sql" }', ['SEARCH']],
  ['{ .db.system !~ "redis|mysql" }', ['CHECKOUT']],
  ['{ .db.system =~ "(?i)REDIS" }', ['BROWSE']],
  ['{ name =~ `GET /api/v1/items\\?id=[0-9]+` }', ['ODD']],
  ['{ name =~ "GET /api/v1/items?id=7" }', []],
  ['{ name =~ "GET.*" && name !~ ".*(browse|search)" }', ['CHECKOUT', 'ODD']],
  ['{ span.http.route =~ "/(check|brow).*" }', ['CHECKOUT', 'BROWSE']],
  // nil
  ['{ span.db.system != nil }', ['CHECKOUT', 'BROWSE', 'SEARCH']],
  ['{ span.db.system = nil && kind = client }', ['CHECKOUT']],
  ['{ span.queue != nil && kind = producer }', ['BATCH']],
  ['{ resource.deployment.environment = nil && kind = server }', ['LOGIN', 'PARTIAL']],
  // &&, ||, ! and parentheses inside a spanset
  ['{ name = "hash" || name = "cache" }', ['LOGIN', 'PARTIAL']],
  ['{ kind = client && !(status = error) }', ['CHECKOUT', 'BROWSE']],
  ['{ name = "render" || status = error && kind = server }', ['CHECKOUT', 'PARTIAL']],
  ['{ (name = "render" || status = error) && kind = server }', ['PARTIAL']],
  ['{ !name = "SELECT" && kind = client }', ['CHECKOUT']],
  ['{ true }', ALL],
  ['{ false }', []],
  ['{ }', ALL],
  ['{ !(true) }', []],
  // spanset operators
  ['{ name = "charge" } && { name = "render" }', ['CHECKOUT']],
  ['{ name = "hash" } || { name = "publish" }', ['LOGIN', 'BATCH']],
  ['{ name = "hash" } && { name = "publish" }', []],
  ['{ kind = server } > { kind = client }', ['CHECKOUT', 'BROWSE', 'SEARCH']],
  ['{ kind = server } > { name = "SELECT" }', ['BROWSE', 'SEARCH']],
  ['{ kind = server } >> { name = "SELECT" }', ['CHECKOUT', 'BROWSE', 'SEARCH']],
  ['{ name = "SELECT" } >> { }', []],
  ['{ resource.service.name = "web" } > { resource.service.name = "search" } > { status = error }', ['SEARCH']],
  ['{ rootServiceName = "api" } > { name = "cache" }', ['PARTIAL']],
  ['{ kind = consumer } >> { kind = producer }', ['BATCH']],
  ['({ name = "hash" } || { name = "cache" }) && { kind = server }', ['LOGIN', 'PARTIAL']],
  ['{ name = "hash" } || { name = "cache" } && { kind = consumer }', ['LOGIN']],
  ['{ resource.service.name = "web" && kind = server } > { resource.service.name = "payments" && kind = client } && { span.retry = true }', ['CHECKOUT']],
  // count() and select()
  ['{ kind = client } | count() = 2', ['CHECKOUT']],
  ['{ } | count() > 3', ['CHECKOUT']],
  ['{ } | count() < 2', ['ODD']],
  ['{ } | count() != 2', ['CHECKOUT', 'SEARCH', 'ODD']],
  ['{ resource.service.name = "db" } | count() >= 1 | select(span.db.system)', ['CHECKOUT', 'BROWSE', 'SEARCH']],
  // errors: line and column, what was expected
  ['{ status = "error" }', { error: 'invalid TraceQL query: 1:12: expected error, ok or unset after status =, found string "error"' }],
  ['{ .a = }', { error: "invalid TraceQL query: 1:8: expected a value (a string in quotes, a number, a duration, true, false or nil) after .a =, found '}'" }],
  ['{ duration > 5 }', { error: "invalid TraceQL query: 1:14: expected a duration such as 100ms or 1.5s after duration >, found '5'" }],
  ['{ name = "a" }\n| count() > x', { error: "invalid TraceQL query: 2:13: expected an integer after count() comparison, found 'x'" }],
  ['{ name = "a" && }', { error: "invalid TraceQL query: 1:17: expected an attribute (span.x, resource.x, .x) or an intrinsic (name, status, kind, duration, rootServiceName, rootName, traceDuration), found '}'" }],
  ['{ .a =~ "(a+)+" }', { error: 'invalid TraceQL query: 1:9: nested quantifiers such as (a+)+ are refused' }],
  ['{ name = "a" } | avg(duration) > 1', { error: "invalid TraceQL query: 1:18: expected count() or select(…) after '|' (other pipeline stages are not supported), found 'avg'" }],
];

/**
 * Runs every case against a fresh storage from `open` holding the fixture: ids, newest first,
 * through `searchTraceQL` with limit 20 (all seven traces fit).
 */
export function runTraceQLCases(name: string, open: () => Promise<Storage>): void {
  describe(`TraceQL cases: ${name}`, () => {
    let storage: Storage;
    const base = nowUs() - 30 * MINUTE_US;
    beforeAll(async () => {
      storage = await open();
      await storage.writer.writeSpans(traceqlFixture(base));
    });
    afterAll(async () => {
      await storage?.close();
    });

    it(`has at least 60 cases (${TRACEQL_CASES.length})`, () => {
      expect(TRACEQL_CASES.length).toBeGreaterThanOrEqual(60);
    });

    for (const [query, expected] of TRACEQL_CASES) {
      it(query, async () => {
        const search = async () => searchTraceQL(storage.reader, parseTraceQL(query), {
          startUs: base - MINUTE_US, endUs: base + 10 * MINUTE_US, limit: 20, maxScanSpans: 100_000, maxCandidates: 1000,
        });
        if (!Array.isArray(expected)) {
          await expect(search()).rejects.toThrow(expected.error);
          return;
        }
        const r = await search();
        // Newest first: the fixture's traces start in TRACE_NAMES order.
        const want = [...expected].sort((a, b) => TRACE_NAMES.indexOf(b) - TRACE_NAMES.indexOf(a)).map((n) => TRACE_ID[n]);
        expect(r.matches.map((m) => m.index.trace.traceId)).toEqual(want);
        expect(r.stoppedEarly).toBeUndefined();
      });
    }
  });
}
