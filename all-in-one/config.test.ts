import { describe, expect, it } from 'vitest';
import { DEFAULT_QUERY_LIMITS } from '../query/limits.js';
import { defaultSpanLimits } from '../collector/span-limits.js';
import { ConfigError, parseAllInOneConfig, spanLimitsOf } from './config.js';

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

describe('span limits configuration', () => {
  it('defaults to the collector defaults; env and flags set them; 0 is no limit; negative values are named by flag', () => {
    expect(spanLimitsOf(parseAllInOneConfig({}))).toEqual(defaultSpanLimits());
    const c = parseAllInOneConfig({ spanMaxEvents: '0', traceMaxSpans: '10' }, { MESHTRACE_SPAN_MAX_ATTRIBUTES: '64', MESHTRACE_SPAN_MAX_ATTRIBUTE_LENGTH: '1024' });
    expect(spanLimitsOf(c)).toEqual({ maxAttributes: 64, maxAttributeValueLength: 1024, maxEvents: 0, maxLinks: 128, maxSpansPerTrace: 10 });
    expect(() => parseAllInOneConfig({ spanMaxLinks: '-1', spanMaxAttributeLength: '1.5' })).toThrow(ConfigError);
    try {
      parseAllInOneConfig({ spanMaxLinks: '-1', spanMaxAttributeLength: '1.5' });
    } catch (e) {
      expect((e as ConfigError).problems).toEqual([
        "--span-max-attribute-length (MESHTRACE_SPAN_MAX_ATTRIBUTE_LENGTH): must be an integer (got '1.5')",
        "--span-max-links (MESHTRACE_SPAN_MAX_LINKS): must not be negative (0 = no limit) (got '-1')",
      ]);
    }
  });
});
