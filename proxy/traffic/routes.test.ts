import { describe, expect, it } from 'vitest';
import { parseProxyConfig } from '../config.js';
import { compileRoutes, matchRoute, pickDestination, routesFor } from './routes.js';

const config = (routes: unknown[]) => parseProxyConfig({ service: 's', appPort: 1, upstreams: { v1: 'h:1', v2: 'h:2', v3: 'h:3' }, routes });

describe('route matching', () => {
  const table = compileRoutes(config([
    { name: 'jason', host: 'reviews', match: [{ headers: { 'End-User': { exact: 'jason' } } }], destinations: [{ upstream: 'v2' }] },
    { name: 'api', host: 'reviews', match: [{ pathPrefix: '/api/', method: 'post' }, { path: '/exact' }], destinations: [{ upstream: 'v3' }] },
    { name: 'rx', host: 'reviews', match: [{ headers: { 'x-build': { regex: '[0-9]+' }, 'x-canary': { present: true }, 'x-debug': { present: false } } }], destinations: [{ upstream: 'v3' }] },
    { name: 'pfx', host: 'reviews', match: [{ headers: { 'x-tenant': { prefix: 'acme-' } } }], destinations: [{ upstream: 'v3' }] },
    { name: 'default', host: 'reviews', destinations: [{ upstream: 'v1' }] },
    { name: 'pinned', host: 'ratings:9080', destinations: [{ upstream: 'v1' }] },
  ]).routes);
  const reviews = routesFor(table, 'reviews', undefined)!;
  const name = (method: string, path: string, headers: Record<string, string> = {}) => matchRoute(reviews, method, path, headers)?.route.name;

  it('takes the first route whose match holds, in configuration order', () => {
    expect(name('GET', '/x', { 'end-user': 'jason' })).toBe('jason');
    expect(name('GET', '/x', { 'end-user': 'jasonx' })).toBe('default');
    expect(name('POST', '/api/reviews', { 'end-user': 'jason' })).toBe('jason');
    expect(name('POST', '/api/reviews')).toBe('api');
  });
  it('ORs match entries and ANDs the fields of one; paths are compared without the query', () => {
    expect(name('GET', '/api/reviews')).toBe('default'); // method does not hold
    expect(name('GET', '/exact?q=1')).toBe('api');
    expect(name('GET', '/exact/more')).toBe('default');
  });
  it('anchors regexes and checks presence and absence', () => {
    expect(name('GET', '/', { 'x-build': '42', 'x-canary': '' })).toBe('rx');
    expect(name('GET', '/', { 'x-build': '42a', 'x-canary': '1' })).toBe('default');
    expect(name('GET', '/', { 'x-build': '42', 'x-canary': '1', 'x-debug': '1' })).toBe('default');
    expect(name('GET', '/', { 'x-build': '42' })).toBe('default');
    expect(name('GET', '/', { 'x-tenant': 'acme-eu' })).toBe('pfx');
  });
  it('finds a host with or without a pinned port', () => {
    expect(routesFor(table, 'ratings', 9080)?.[0].route.name).toBe('pinned');
    expect(routesFor(table, 'ratings', 9081)).toBeUndefined();
    expect(routesFor(table, 'reviews', 9080)).toBe(reviews);
    expect(routesFor(compileRoutes([]), 'reviews', undefined)).toBeUndefined();
  });
  it('gives no route when none matches', () => {
    const only = compileRoutes(config([{ host: 'a', match: [{ path: '/only' }], destinations: [{ upstream: 'v1' }] }]).routes);
    expect(matchRoute(routesFor(only, 'a', undefined)!, 'GET', '/other', {})).toBeUndefined();
  });
});

describe('weighted destinations', () => {
  const route = compileRoutes(config([{ host: 'r', destinations: [{ upstream: 'v1', weight: 80 }, { upstream: 'v2', weight: 20 }, { upstream: 'v3', weight: 0 }] }]).routes).get('r')![0];
  it('splits by weight for a uniform random number and never picks weight 0', () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) { const u = pickDestination(route, i / 1000); counts[u] = (counts[u] ?? 0) + 1; }
    expect(counts).toEqual({ v1: 800, v2: 200 });
    expect(pickDestination(route, 0.9999999999)).toBe('v2');
  });
  it('splits equally when no weight is given', () => {
    const eq = compileRoutes(config([{ host: 'r', destinations: [{ upstream: 'v1' }, { upstream: 'v2' }] }]).routes).get('r')![0];
    expect([0, 0.49, 0.5, 0.99].map((x) => pickDestination(eq, x))).toEqual(['v1', 'v1', 'v2', 'v2']);
  });
});

describe('outbound route filter rebuilt from a reloaded configuration', () => {
  it('continues the balancer turn and keeps slots from the shared TrafficState, taking the timeout from the new config', async () => {
    const { outboundRouteFilter } = await import('../filters/route.js');
    const { TrafficState } = await import('./state.js');
    const traffic = new TrafficState();
    const base = { service: 's', appPort: 1, upstreams: { reviews: '127.0.0.1:9081,127.0.0.1:9082,127.0.0.1:9083' }, upstreamPolicies: { reviews: { maxRequests: 2 } } };
    const self = () => ({ host: '127.0.0.1', port: 15001 });
    const before = outboundRouteFilter(parseProxyConfig({ ...base, timeoutMs: 1000 }), self, traffic);
    const after = outboundRouteFilter(parseProxyConfig({ ...base, timeoutMs: 2000, routes: [{ name: 'r', host: 'reviews', destinations: [{ upstream: 'reviews' }], timeoutMs: 3000 }] }), self, traffic);
    const route = (f: typeof before, url: string) => {
      const ex = { req: { url }, method: 'GET', authority: '', path: '/', headers: {}, samplingRate: 1, attributes: {}, responseFlags: [] } as unknown as Parameters<NonNullable<typeof f.onRequest>>[0];
      expect(f.onRequest!(ex)).toBeUndefined();
      return ex;
    };
    const a = route(before, 'http://reviews/a');
    expect([a.upstream!.port, a.timeoutMs]).toEqual([9081, 1000]);
    const b = route(after, 'http://reviews/b');
    expect([b.upstream!.port, b.timeoutMs, b.route]).toEqual([9082, 3000, 'r']);
    // Two requests hold the two slots across both chains: the third is refused (executed by the router).
    const c = route(after, 'http://reviews/c');
    expect(c.traffic?.reject?.flag).toBe('UO');
    before.onComplete!(a);
    expect(route(after, 'http://reviews/d').upstream!.port).toBe(9083);
  });
});
