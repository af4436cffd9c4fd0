import { describe, expect, it } from 'vitest';
import { ConfigError, parseProxyConfig } from '../config.js';

function problems(extra: Record<string, unknown>): string[] {
  try { parseProxyConfig({ service: 's', appPort: 1, upstreams: { 'reviews-v1': 'h:1', 'reviews-v2': 'h:2' }, ...extra }); } catch (e) { if (e instanceof ConfigError) return e.problems; throw e; }
  return [];
}

describe('traffic configuration', () => {
  it('accepts a full example and fills outlier detection defaults', () => {
    const c = parseProxyConfig({
      service: 's', appPort: 1, upstreams: { 'reviews-v1': 'h:1', 'reviews-v2': 'h:2' },
      routes: [{
        name: 'reviews-jason', host: 'reviews', match: [{ pathPrefix: '/reviews', method: 'GET', headers: { 'end-user': { exact: 'jason' } } }],
        destinations: [{ upstream: 'reviews-v2' }], timeoutMs: 2000,
        retries: { attempts: 2, perTryTimeoutMs: 500, retryOn: ['5xx', 'connect-failure'] },
        fault: { delay: { percent: 10, fixedDelayMs: 100 }, abort: { percent: 1, httpStatus: 503 } },
      }, { host: 'reviews', destinations: [{ upstream: 'reviews-v1', weight: 80 }, { upstream: 'reviews-v2', weight: 20 }] }],
      upstreamPolicies: { 'reviews-v1': { maxRequests: 100, outlierDetection: { consecutive5xxErrors: 3 } } },
    });
    expect(c.upstreamPolicies['reviews-v1'].outlierDetection).toEqual({ consecutive5xxErrors: 3, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 10 });
    expect(parseProxyConfig(c)).toEqual(c);
    expect(parseProxyConfig({ service: 's', appPort: 1 })).toMatchObject({ routes: [], upstreamPolicies: {} });
  });

  it('names a destination or policy for an unknown upstream', () => {
    expect(problems({ routes: [{ host: 'reviews', destinations: [{ upstream: 'reviews-v1' }, { upstream: 'reviews-v9' }] }] }))
      .toEqual(["routes.0.destinations.1.upstream: no upstream named 'reviews-v9'"]);
    expect(problems({ upstreamPolicies: { ghost: { maxRequests: 1 } } })).toEqual(["upstreamPolicies.ghost: no upstream named 'ghost'"]);
  });

  it('names every invalid field by its path', () => {
    const p = problems({
      routes: [
        { host: 'reviews', match: [{ headers: { 'end-user': { regex: '(' } } }], destinations: [{ upstream: 'reviews-v1', weight: 0 }, { upstream: 'reviews-v2', weight: 0 }] },
        { host: 'reviews', destinations: [{ upstream: 'reviews-v1' }], retries: { attempts: -1, retryOn: ['sometimes'] }, fault: { abort: { percent: 101, httpStatus: 99 } } },
        { host: '', destinations: [], match: [{ path: '/a', pathPrefix: '/a', headers: { x: { exact: 'a', prefix: 'b' } } }], pathprefix: '/typo' },
      ],
      upstreamPolicies: { 'reviews-v1': { maxRequests: 0, outlierDetection: { consecutive5xxErrors: 0, maxEjectionPercent: 120 } } },
    });
    expect(p.map((x) => x.split(': ')[0]).sort()).toEqual([
      'routes.0.destinations', 'routes.0.match.0.headers.end-user.regex',
      'routes.1.fault.abort.httpStatus', 'routes.1.fault.abort.percent', 'routes.1.retries.attempts', 'routes.1.retries.retryOn.0',
      'routes.2', 'routes.2.destinations', 'routes.2.host', 'routes.2.match.0.headers.x', 'routes.2.match.0.path',
      'upstreamPolicies.reviews-v1.maxRequests', 'upstreamPolicies.reviews-v1.outlierDetection.consecutive5xxErrors', 'upstreamPolicies.reviews-v1.outlierDetection.maxEjectionPercent',
    ]);
    expect(p).toContain('routes.0.destinations: weights sum to 0; at least one destination needs a weight > 0');
    expect(p.find((x) => x.startsWith('routes.0.match.0.headers.end-user.regex'))).toMatch(/invalid regular expression/);
    expect(p.find((x) => x.startsWith('routes.2:'))).toMatch(/pathprefix/);
  });
});
