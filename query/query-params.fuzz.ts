/**
 * Fuzz targets of the query API's parameter parsers (see test/fuzz/target.ts): integers, booleans
 * and bounded parameters, Go durations (against an exact BigInt oracle), `tag`/`tags` (JSON and
 * logfmt, round-tripped), and the TraceQL lexer and parser. Each may only throw the API's
 * `BadRequestError` (a 400 naming the parameter); anything else would be a 500.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type FuzzTarget, mutatedString, onlyTyped, refusalLabel, textCodec, withSeeds } from '../test/fuzz/target.js';
import { parseGoDurationUs } from './duration.js';
import { BadRequestError } from './errors.js';
import { boundedInt, durationMsParam, goDurationUs, MAX_DURATION_US, timeUsParam } from './limits.js';
import { bool, integer } from './query-params.js';
import { parseLogfmt, parseTagParam, parseTagsParam } from './tags.js';
import { MAX_QUERY_LENGTH, parseTraceQL } from './traceql/parser.js';

const UNIT_NS: Record<string, bigint> = { ns: 1n, us: 1000n, 'µs': 1000n, 'μs': 1000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

/** Go's time.ParseDuration, exactly (BigInt nanoseconds), then truncated to µs; undefined when Go refuses. */
export function goDurationOracleUs(input: string): number | undefined {
  let s = input.trim();
  let neg = false;
  if (s[0] === '-' || s[0] === '+') { neg = s[0] === '-'; s = s.slice(1); }
  if (s === '0') return 0;
  if (s === '') return undefined;
  const re = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;
  let ns = 0n;
  while (re.lastIndex < s.length) {
    const at = re.lastIndex;
    const m = re.exec(s);
    if (!m || m.index !== at || (m[1] === '' && (m[2] ?? '') === '')) return undefined;
    const unit = UNIT_NS[m[3]];
    ns += BigInt(m[1] || '0') * unit;
    if (m[2]) ns += (BigInt(m[2]) * unit) / 10n ** BigInt(m[2].length);
  }
  const us = ns / 1000n;
  return Number(neg ? -us : us);
}

const durationPart = fc.tuple(
  fc.oneof(fc.nat({ max: 1000 }).map(String), fc.stringMatching(/^\d{1,6}\.\d{1,9}$/), fc.stringMatching(/^\.\d{1,6}$/)),
  fc.constantFrom('ns', 'us', 'µs', 'ms', 's', 'm', 'h'),
).map(([n, u]) => n + u);
const goDuration = fc.tuple(fc.constantFrom('', '-', '+'), fc.array(durationPart, { minLength: 1, maxLength: 3 })).map(([sign, parts]) => sign + parts.join(''));

const intLike = fc.oneof(fc.integer().map(String), fc.bigInt().map(String), fc.constantFrom('', ' 1', '1e3', '0x10', '-0', '9007199254740993', 'true', '1.5'));

const logfmtKey = fc.oneof(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !/[ ="]/.test(k)), fc.constantFrom('__proto__', 'constructor', 'toString', 'http.status_code'));
const logfmtValue = fc.string({ maxLength: 10 });
/** The canonical logfmt of `tags`: values quoted (with `\"`/`\\` escapes) when needed. */
export function toLogfmt(tags: Record<string, string>): string {
  return Object.entries(tags).map(([k, v]) => `${k}=${v === '' || /[ "\\]/.test(v) || v.startsWith('"') ? `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"` : v}`).join(' ');
}

/** TraceQL near the valid subset: a small grammar, then mutations of it. */
const tqlField = fc.constantFrom('.a', 'span.http.status_code', 'resource.service.name', 'name', 'status', 'kind', 'duration', 'span."my key"', 'rootServiceName', 'traceDuration', '.x');
const tqlValue = fc.constantFrom('1', '-1.25', '"x"', '"a\\"b"', '`raw`', 'error', 'server', '1.5s', '250ms', 'nil', 'true', '"web-.*"', '"(unclosed"', '"[a-"');
const tqlCond = fc.tuple(tqlField, fc.constantFrom('=', '!=', '<', '<=', '>', '>=', '=~', '!~'), tqlValue).map((p) => p.join(' '));
const tqlExpr = fc.array(fc.tuple(fc.constantFrom('', '!'), tqlCond), { minLength: 0, maxLength: 3 }).chain((cs) =>
  fc.array(fc.constantFrom('&&', '||'), { minLength: Math.max(0, cs.length - 1), maxLength: Math.max(0, cs.length - 1) })
    .map((ops) => cs.map(([n, c], i) => `${i ? `${ops[i - 1]} ` : ''}${n}${c}`).join(' ')));
const tqlSpanset = tqlExpr.map((e) => `{ ${e} }`);
const traceql = fc.tuple(fc.array(tqlSpanset, { minLength: 1, maxLength: 3 }), fc.constantFrom('&&', '||', '>', '>>'), fc.constantFrom('', ' | count() > 2', ' | select(span.http.url, duration)', ' | count() = 1 | select(.a)'))
  .map(([sets, op, pipe]) => sets.join(` ${op} `) + pipe);

export const queryParamFuzzTargets: FuzzTarget[] = [
  {
    name: 'query-params',
    arbitrary: () => fc.oneof(intLike, mutatedString(intLike), fc.string({ maxLength: 12 })).chain((v) => fc.tuple(fc.constant(v), fc.constantFrom<'single' | 'array'>('single', 'array'))),
    check([raw, shape]: [string, 'single' | 'array']) {
      const q = { p: shape === 'single' ? raw : ['ignored', raw] };
      const n = onlyTyped([BadRequestError], () => integer(q, 'p'));
      if ('ok' in n && n.ok !== undefined) {
        assert.ok(Number.isSafeInteger(n.ok));
        assert.equal(BigInt(n.ok), BigInt(raw.trim()));
      }
      const b = onlyTyped([BadRequestError], () => bool(q, 'p'));
      if ('ok' in b && raw !== '') assert.ok(['true', 'false', '1', '0'].includes(raw));
      const t = onlyTyped([BadRequestError], () => timeUsParam(q, 'p'));
      if ('ok' in t && t.ok !== undefined) assert.ok(t.ok >= 0);
      const d = onlyTyped([BadRequestError], () => durationMsParam(q, 'p', 1));
      if ('ok' in d && d.ok !== undefined) assert.ok(d.ok >= 1);
      const r = onlyTyped([BadRequestError], () => boundedInt(q, 'p', 1, 5));
      if ('refused' in r) assert.match(r.refused.message, /param 'p'/);
      return `${'ok' in n ? 'int' : 'notint'}:${'ok' in b}`;
    },
  } satisfies FuzzTarget<[string, 'single' | 'array']>,
  {
    name: 'go-duration',
    arbitrary: (seeds) => fc.oneof(goDuration, mutatedString(withSeeds(goDuration, seeds as string[]))),
    check(input: string) {
      const got = parseGoDurationUs(input);
      const want = goDurationOracleUs(input);
      assert.equal(got, want, `parseGoDurationUs(${JSON.stringify(input)})`);
      const checked = onlyTyped([BadRequestError], () => goDurationUs(input, 'minDuration'));
      if ('ok' in checked) assert.ok(checked.ok >= 0 && checked.ok <= MAX_DURATION_US);
      return got === undefined ? 'refused' : 'ok';
    },
    ...textCodec,
  } satisfies FuzzTarget<string>,
  {
    name: 'tags',
    cost: 2,
    arbitrary: (seeds) => {
      const valid = fc.oneof(
        fc.dictionary(logfmtKey, logfmtValue, { maxKeys: 4 }).map((d) => JSON.stringify(d)),
        fc.dictionary(logfmtKey, logfmtValue, { maxKeys: 4 }).map(toLogfmt),
        fc.tuple(logfmtKey, logfmtValue).map(([k, v]) => `${k}:${v}`),
      );
      return fc.oneof(valid, mutatedString(withSeeds(valid, seeds as string[])));
    },
    check(input: string) {
      const tag = onlyTyped([BadRequestError], () => parseTagParam(input));
      if ('ok' in tag) assert.equal(`${tag.ok[0]}:${tag.ok[1]}`, input);
      const tags = onlyTyped([BadRequestError], () => parseTagsParam(input));
      if ('refused' in tags) return refusalLabel(tags.refused);
      for (const [k, v] of Object.entries(tags.ok)) assert.ok(typeof k === 'string' && typeof v === 'string');
      return `ok:${input.trim().startsWith('{') ? 'json' : 'logfmt'}`;
    },
    ...textCodec,
  } satisfies FuzzTarget<string>,
  {
    name: 'logfmt-roundtrip',
    cost: 3,
    arbitrary: () => fc.dictionary(logfmtKey, logfmtValue, { maxKeys: 5 }).map((d) => ({ ...d })),
    check(tags: Record<string, string>) {
      const want = Object.fromEntries(Object.entries(tags));
      const got = parseLogfmt(toLogfmt(tags));
      assert.deepEqual(Object.entries(got), Object.entries(want), toLogfmt(tags));
      const json = parseTagsParam(JSON.stringify(tags));
      assert.deepEqual(Object.entries(json), Object.entries(want));
      return 'ok';
    },
  } satisfies FuzzTarget<Record<string, string>>,
  {
    name: 'traceql',
    cost: 3,
    arbitrary: (seeds) => fc.oneof(traceql, mutatedString(withSeeds(traceql, seeds as string[])), fc.string({ maxLength: 30 })),
    check(input: string) {
      const r = onlyTyped([BadRequestError], () => parseTraceQL(input));
      if ('refused' in r) {
        const pos = (r.refused as BadRequestError & { position?: { offset: number } }).position;
        if (pos) assert.ok(pos.offset >= 0 && pos.offset <= Math.min(input.length, MAX_QUERY_LENGTH), `error offset ${pos.offset} outside the query`);
        return refusalLabel(r.refused);
      }
      return `ok:${r.ok.stages.length}`;
    },
    ...textCodec,
  } satisfies FuzzTarget<string>,
];
