import { describe, expect, it } from 'vitest';
import { parseRoute } from './router.js';

describe('parseRoute', () => {
  it('maps Jaeger UI paths to pages', () => {
    expect(parseRoute('', '')).toEqual({ page: 'search', query: '' });
    expect(parseRoute('search', 'service=a')).toEqual({ page: 'search', query: 'service=a' });
    expect(parseRoute('trace/abc', 'uiFind=x')).toEqual({ page: 'trace', id: 'abc', query: 'uiFind=x' });
    expect(parseRoute('dependencies', '')).toEqual({ page: 'dependencies', query: '' });
    expect(parseRoute('monitor', 'service=a')).toEqual({ page: 'monitor', query: 'service=a' });
    expect(parseRoute('compare/aa...bb', '')).toEqual({ page: 'compare', a: 'aa', b: 'bb' });
    expect(parseRoute('trace/aa...bb', 'cohort=aa&cohort=bb')).toEqual({ page: 'compare', a: 'aa', b: 'bb' });
    expect(parseRoute('nope/x', '')).toEqual({ page: 'notfound', path: 'nope/x' });
  });
});
