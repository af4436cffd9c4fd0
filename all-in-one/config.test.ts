import { describe, expect, it } from 'vitest';
import { DEFAULT_QUERY_LIMITS } from '../query/limits.js';
import { ConfigError, parseAllInOneConfig } from './config.js';

describe('query limits configuration', () => {
  it('defaults to the query API defaults; env and flags set them; non-positive values are named by flag', () => {
    const d = parseAllInOneConfig({});
    expect({ maxLimit: d.queryMaxLimit, maxSpans: d.queryMaxSpans }).toEqual(DEFAULT_QUERY_LIMITS);
    expect(parseAllInOneConfig({}, { MESHTRACE_QUERY_MAX_LIMIT: '50', MESHTRACE_QUERY_MAX_SPANS: '1000' })).toMatchObject({ queryMaxLimit: 50, queryMaxSpans: 1000 });
    expect(parseAllInOneConfig({ queryMaxLimit: '70' }, { MESHTRACE_QUERY_MAX_LIMIT: '50' }).queryMaxLimit).toBe(70);
    let err: unknown;
    try {
      parseAllInOneConfig({ queryMaxLimit: '0', queryMaxSpans: 'many' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      "--query-max-limit (MESHTRACE_QUERY_MAX_LIMIT): must be greater than zero (got '0')",
      expect.stringMatching(/^--query-max-spans \(MESHTRACE_QUERY_MAX_SPANS\): .* \(got 'many'\)$/),
    ]);
  });
});
