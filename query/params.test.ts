import { describe, expect, it } from 'vitest';
import { parseGoDurationUs } from './duration.js';
import { normalizeTraceId, jaegerTraceId } from './jaeger/ids.js';
import { parseLogfmt, parseTagParam, parseTagsParam } from './tags.js';

describe('Go durations', () => {
  it.each([
    ['300us', 300], ['300µs', 300], ['1.2ms', 1200], ['2s', 2_000_000], ['1m', 60_000_000],
    ['1h30m', 5_400_000_000], ['1500ns', 1], ['0', 0], ['.5s', 500_000], ['-1s', -1_000_000],
  ])('%s → %d µs', (s, us) => expect(parseGoDurationUs(s)).toBe(us));
  it.each(['', '1', '1x', 's', '1s2', 'abc', '1 s'])('rejects %j', (s) => expect(parseGoDurationUs(s)).toBeUndefined());
});

describe('tag parameters', () => {
  it('splits tag=k:v on the first colon', () => {
    expect(parseTagParam('http.url:http://x:80/a')).toEqual(['http.url', 'http://x:80/a']);
    expect(() => parseTagParam('novalue')).toThrow("malformed 'tag' parameter, expecting key:value");
    expect(() => parseTagParam(':v')).toThrow(/malformed/);
  });
  it('parses tags as JSON or logfmt', () => {
    expect(parseTagsParam('{"error":"true","http.status_code":"500"}')).toEqual({ error: 'true', 'http.status_code': '500' });
    expect(parseTagsParam('error=true msg="a b \\"c\\""')).toEqual({ error: 'true', msg: 'a b "c"' });
    expect(() => parseTagsParam('{"a":')).toThrow(/malformed 'tags'/);
    expect(() => parseTagsParam('{"a":{"b":1}}')).toThrow(/must be a string/);
    expect(() => parseLogfmt('novalue')).toThrow(/expected key=value/);
  });
});

describe('trace ids', () => {
  it('normalizes 16/32-char ids of any case and rejects junk', () => {
    expect(normalizeTraceId('00000000000000000123456789ABCDEF')).toBe('00000000000000000123456789abcdef');
    expect(normalizeTraceId('123456789abcdef')).toBe('0000000000000000' + '0123456789abcdef');
    expect(normalizeTraceId('0'.repeat(32))).toBeUndefined();
    expect(normalizeTraceId('xyz')).toBeUndefined();
    expect(normalizeTraceId('1'.repeat(33))).toBeUndefined();
    expect(jaegerTraceId('0000000000000000abcdef0123456789')).toBe('abcdef0123456789');
    expect(jaegerTraceId('1000000000000000abcdef0123456789')).toBe('1000000000000000abcdef0123456789');
  });
});

describe('regressions found by fuzzing', () => {
  it('sums Go durations exactly, as Go does, and never answers -0', () => {
    expect(parseGoDurationUs('999ns5000.0h')).toBe(18_000_000_000_000);
    expect(parseGoDurationUs('4.35ms')).toBe(4_350);
    expect(parseGoDurationUs('1.0000019s')).toBe(1_000_001);
    expect(Object.is(parseGoDurationUs('-.0ns'), 0)).toBe(true);
    expect(parseGoDurationUs('.s')).toBeUndefined();
  });

  it('keeps a tag named __proto__ (plain assignment dropped it)', () => {
    expect(Object.entries(parseLogfmt('__proto__=x a=b'))).toEqual([['__proto__', 'x'], ['a', 'b']]);
    expect(Object.entries(parseTagsParam('{"__proto__":"x"}'))).toEqual([['__proto__', 'x']]);
  });
});
