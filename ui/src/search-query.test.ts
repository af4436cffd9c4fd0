import { describe, expect, it } from 'vitest';
import { defaultSearch, parseLogfmt, searchFromURL, searchToApi, searchToURL, validateSearch } from './search-query.js';

describe('search query', () => {
  it('parses logfmt tags with quotes and reports the bad token', () => {
    expect(parseLogfmt('http.status_code=500 error=true msg="a b \\"c\\""')).toEqual({ 'http.status_code': '500', error: 'true', msg: 'a b "c"' });
    expect(parseLogfmt('  ')).toEqual({});
    expect(() => parseLogfmt('a=1 oops')).toThrow('tags: expected key=value, got "oops"');
  });

  it('round-trips through the page URL in Jaeger UI form', () => {
    const s = { ...defaultSearch(), service: 'frontend', operation: 'GET /', tags: 'k=v x="y z"', lookback: '2h', minDuration: '10ms', limit: 50 };
    const url = searchToURL(s);
    expect(new URLSearchParams(url).get('tags')).toBe('{"k":"v","x":"y z"}');
    expect(searchFromURL(url)).toEqual(s);
  });

  it('builds the /api/traces query with a resolved window', () => {
    const q = new URLSearchParams(searchToApi({ ...defaultSearch(), service: 'a', tags: 'k=v', lookback: '1h' }, 10_000_000));
    expect(q.get('end')).toBe('10000000000');
    expect(q.get('start')).toBe(String(10_000_000_000 - 3_600_000_000));
    expect(q.get('tags')).toBe('{"k":"v"}');
    expect(q.get('limit')).toBe('20');
  });

  it('validates durations and limit, naming the field', () => {
    expect(validateSearch({ ...defaultSearch(), minDuration: '10 ms' })).toMatch(/^Min duration/);
    expect(validateSearch({ ...defaultSearch(), maxDuration: '1.5s' })).toBe('');
    expect(validateSearch({ ...defaultSearch(), limit: 0 })).toMatch(/^Limit/);
  });
});
