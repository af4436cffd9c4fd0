import { describe, expect, it } from 'vitest';
import { TraceQLError } from './errors.js';
import { parseTraceQL } from './parser.js';

/** The error a query raises (fails the test when it parses). */
function errorOf(q: string): TraceQLError {
  try {
    parseTraceQL(q);
  } catch (e) {
    if (e instanceof TraceQLError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(q)} not to parse`);
}

describe('TraceQL parser', () => {
  it('parses every comparison operator on attributes', () => {
    for (const op of ['=', '!=', '<', '<=', '>', '>=']) {
      const q = parseTraceQL(`{ span.http.status_code ${op} 500 }`);
      expect(q.spanset).toEqual({ type: 'filter', expr: { type: 'compare', field: { kind: 'attr', scope: 'span', name: 'http.status_code' }, op, value: { type: 'number', value: 500 } } });
    }
    const re = parseTraceQL('{ resource.k8s.pod-name =~ "web-.*" && .db.system !~ "redis|memcached" }');
    expect(re.spanset).toMatchObject({ type: 'filter', expr: { type: 'and',
      left: { type: 'compare', field: { scope: 'resource', name: 'k8s.pod-name' }, op: '=~', value: { type: 'regex', source: 'web-.*' } },
      right: { type: 'compare', field: { scope: '', name: 'db.system' }, op: '!~', value: { type: 'regex', source: 'redis|memcached' } } } });
  });

  it('types intrinsic values: status, kind, durations, strings', () => {
    const q = parseTraceQL('{ status = error && kind = server && duration > 1.5s && name = "GET /" && rootServiceName = "web" && rootName != "x" && traceDuration <= 250ms }');
    const values: unknown[] = [];
    const walk = (e: any): void => { if (e.type === 'and') { walk(e.left); walk(e.right); } else values.push([e.field.name, e.value]); };
    walk((q.spanset as any).expr);
    expect(values).toEqual([
      ['status', { type: 'status', code: 2 }], ['kind', { type: 'kind', kind: 2 }], ['duration', { type: 'duration', us: 1_500_000 }],
      ['name', { type: 'string', value: 'GET /' }], ['rootServiceName', { type: 'string', value: 'web' }], ['rootName', { type: 'string', value: 'x' }],
      ['traceDuration', { type: 'duration', us: 250_000 }],
    ]);
    expect(parseTraceQL('{ span:name = "a" && trace:duration > 1m }').spanset).toMatchObject({ expr: { left: { field: { name: 'name' } }, right: { field: { name: 'traceDuration' }, value: { us: 60_000_000 } } } });
  });

  it('parses nil, booleans, negative and float numbers, quoted attribute names and escapes', () => {
    expect(parseTraceQL('{ span.x != nil }').spanset).toMatchObject({ expr: { op: '!=', value: { type: 'nil' } } });
    expect(parseTraceQL('{ .ok = true }').spanset).toMatchObject({ expr: { value: { type: 'bool', value: true } } });
    expect(parseTraceQL('{ .t > -1.25 }').spanset).toMatchObject({ expr: { value: { type: 'number', value: -1.25 } } });
    expect(parseTraceQL('{ span."my key" = "a\\"b" }').spanset).toMatchObject({ expr: { field: { name: 'my key' }, value: { value: 'a"b' } } });
    expect(parseTraceQL('{ .x = `raw\\n` }').spanset).toMatchObject({ expr: { value: { value: 'raw\\n' } } });
  });

  it('gives ! and && precedence over || inside a spanset, and honours parentheses', () => {
    const q = parseTraceQL('{ .a = 1 || .b = 2 && !.c = 3 }');
    expect(q.spanset).toMatchObject({ expr: { type: 'or', left: { field: { name: 'a' } }, right: { type: 'and', right: { type: 'not', expr: { field: { name: 'c' } } } } } });
    const p = parseTraceQL('{ (.a = 1 || .b = 2) && .c = 3 }');
    expect(p.spanset).toMatchObject({ expr: { type: 'and', left: { type: 'or' } } });
    expect(parseTraceQL('{ }').spanset).toEqual({ type: 'filter', expr: null });
    expect(parseTraceQL('{ true }').spanset).toEqual({ type: 'filter', expr: { type: 'const', value: true } });
  });

  it('parses spanset operators: structural binds tighter than &&, && than ||', () => {
    const q = parseTraceQL('{ .a = 1 } || { .b = 2 } && { .c = 3 } >> { .d = 4 } > { .e = 5 }');
    expect(q.spanset).toMatchObject({
      type: 'spansetOp', op: '||',
      right: { op: '&&', right: { op: '>', left: { op: '>>', left: { expr: { field: { name: 'c' } } } }, right: { expr: { field: { name: 'e' } } } } },
    });
    expect(parseTraceQL('({ .a = 1 } || { .b = 2 }) > { }').spanset).toMatchObject({ op: '>', left: { op: '||' } });
  });

  it('parses count() and select() pipeline stages', () => {
    const q = parseTraceQL('{ } | count() > 2 | select(span.http.url, resource.host.name, duration)');
    expect(q.stages).toEqual([
      { type: 'count', op: '>', value: 2 },
      { type: 'select', fields: [{ kind: 'attr', scope: 'span', name: 'http.url' }, { kind: 'attr', scope: 'resource', name: 'host.name' }, { kind: 'intrinsic', name: 'duration' }] },
    ]);
    for (const op of ['=', '!=', '<', '<=', '>=']) expect(parseTraceQL(`{} | count() ${op} 3`).stages[0]).toMatchObject({ op, value: 3 });
  });
});

describe('TraceQL errors point at line:column with what was expected', () => {
  const cases: [string, string, string][] = [
    ['', '1:1', "expected a spanset such as '{ }', found end of query"],
    ['{ span.x = }', '1:12', "expected a value (a string in quotes, a number, a duration, true, false or nil) after span.x =, found '}'"],
    ['{ .a = 1 ', '1:10', "expected '}' closing the spanset, or '&&' / '||', found end of query"],
    ['{ foo = 1 }', '1:3', 'expected an attribute (span.x, resource.x, .x) or an intrinsic'],
    ['{ duration > 5 }', '1:14', "expected a duration such as 100ms or 1.5s after duration >, found '5'"],
    ['{ status = "error" }', '1:12', 'expected error, ok or unset after status =, found string "error"'],
    ['{ kind = sever }', '1:10', 'expected unspecified, internal, server, client, producer, consumer after kind =, found \'sever\''],
    ['{ status > error }', '1:12', 'status can only be compared with = or !='],
    ['{ .a = "x }', '1:8', 'unterminated string: expected a closing "'],
    ['{ .a = 1 } |', '1:13', 'expected count() or select(…) after \'|\''],
    ['{ .a = 1 } | avg(duration) > 1s', '1:14', 'expected count() or select(…)'],
    ['{ } | count() > 1.5', '1:17', 'expected an integer after count() comparison'],
    ['{ .a = 1 } { .b = 2 }', '1:12', "expected '&&', '||', '>', '>>', '|' or the end of the query, found '{'"],
    ['{ .a =~ "(?=x)" }', '1:9', 'lookahead and lookbehind are not RE2 syntax'],
    ['{ .a =~ "(a+)+" }', '1:9', 'nested quantifiers'],
    ['{ .a =~ "(" }', '1:9', 'invalid regular expression'],
    ['{ .a =~ "x\\\\z" }', '1:9', 'the RE2 escapes'],
    ['{ .a =~ "[[:alpha:]]+" }', '1:9', 'POSIX classes'],
    ['{ duration =~ "1" }', '1:15', '=~ needs a string field'],
    ['{ .a < nil }', '1:8', 'nil can only be compared with = or !='],
    ['{ .a = 1 # }', '1:10', "unexpected character '#'"],
  ];
  for (const [query, at, message] of cases) {
    it(`${JSON.stringify(query)} → ${at}`, () => {
      const e = errorOf(query);
      expect(`${e.position.line}:${e.position.column}`).toBe(at);
      expect(e.detail).toContain(message);
      expect(e.message).toBe(`invalid TraceQL query: ${at}: ${e.detail}`);
      expect(e.statusCode).toBe(400);
    });
  }

  it('counts lines and columns in a multi-line query', () => {
    const e = errorOf('{ .a = 1 }\n  &&\n  { .b = }');
    expect(e.position).toMatchObject({ line: 3, column: 10 });
  });
});
