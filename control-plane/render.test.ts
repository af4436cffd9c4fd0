import { describe, expect, it } from 'vitest';
import { configFromOptions } from '../cli/proxy.js';
import { parseProxyConfig } from '../proxy/config.js';
import type { Endpoint } from './api.js';
import { renderForService, validateMeshConfig } from './render.js';

const ep = (instance: string, version: string, address: string): Endpoint => ({ instance, version, address, mtls: 'DISABLE' });
const endpoints = {
  reviews: [ep('r1', 'v1', '127.0.0.1:7001'), ep('r2', 'v1', '127.0.0.1:7002'), ep('r3', 'v3', '127.0.0.1:7003')],
  ratings: [ep('ra', 'v1', '127.0.0.1:7100')],
};
const canary = {
  timeoutMs: 5000,
  services: {
    productpage: {
      routes: [{ name: 'canary', host: 'reviews', destinations: [{ service: 'reviews', version: 'v1', weight: 90 }, { service: 'reviews', version: 'v3', weight: 10 }], retries: { attempts: 2 } }],
      upstreamPolicies: { 'reviews|v3': { maxRequests: 10 } },
    },
  },
};

describe('validateMeshConfig', () => {
  it('accepts demo-style configs with service/version destinations', () => {
    expect(validateMeshConfig(canary)).toEqual([]);
    expect(validateMeshConfig({})).toEqual([]);
  });

  it('names every bad field at once, in any layer', () => {
    const problems = validateMeshConfig({
      timeoutMs: -1,
      routes: [{ host: 'reviews', destinations: [{ service: 'reviews', version: '', weight: 1 }, { upstream: 'x', weight: -2 }] }],
      services: { ratings: { smapling: { rate: 2 }, sampling: { rate: 3 } }, reviews: { routes: 'nope' } },
    });
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^routes\.0\.destinations\.0\.version: /),
      expect.stringMatching(/^timeoutMs: /),
      expect.stringMatching(/^routes\.0\.destinations\.1\.weight: /),
      expect.stringMatching(/^services\.ratings\.smapling: unknown key/),
      expect.stringMatching(/^services\.ratings: sampling\.rate: /),
      expect.stringMatching(/^services\.reviews: routes: /),
    ]));
  });

  it('refuses a top-level service key and a non-object', () => {
    expect(validateMeshConfig({ service: 'x' })).toEqual([expect.stringMatching(/^service: not allowed/)]);
    expect(validateMeshConfig([1])).toEqual([expect.stringMatching(/^\(root\)/)]);
  });
});

describe('renderForService', () => {
  it('fills upstreams with every service and version subset and rewrites destinations; the sidecar accepts it', () => {
    const c = renderForService(canary, 'productpage', endpoints);
    expect(c['upstreams']).toEqual({
      reviews: ['127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003'],
      'reviews|v1': ['127.0.0.1:7001', '127.0.0.1:7002'],
      'reviews|v3': ['127.0.0.1:7003'],
      ratings: ['127.0.0.1:7100'],
      'ratings|v1': ['127.0.0.1:7100'],
    });
    expect((c['routes'] as { destinations: unknown }[])[0].destinations).toEqual([{ upstream: 'reviews|v1', weight: 90 }, { upstream: 'reviews|v3', weight: 10 }]);
    expect(() => parseProxyConfig({ ...c, service: 'productpage', appPort: 1 })).not.toThrow();
    // Another service gets the top level only.
    expect(renderForService(canary, 'details', endpoints)['routes']).toBeUndefined();
  });

  it('leaves out destinations, routes and policies whose subset has no instance, so the sidecar never rejects it for that', () => {
    const noV3 = { ...endpoints, reviews: endpoints.reviews.filter((e) => e.version !== 'v3') };
    const c = renderForService(canary, 'productpage', noV3);
    expect((c['routes'] as { destinations: unknown }[])[0].destinations).toEqual([{ upstream: 'reviews|v1', weight: 90 }]);
    expect(c['upstreamPolicies']).toEqual({});
    expect(() => parseProxyConfig({ ...c, service: 'productpage', appPort: 1 })).not.toThrow();
    const none = renderForService(canary, 'productpage', {});
    expect(none['routes']).toEqual([]);
    expect(() => parseProxyConfig({ ...none, service: 'productpage', appPort: 1 })).not.toThrow();
  });

  it('keeps the document\'s own upstreams over discovered ones', () => {
    const c = renderForService({ upstreams: { reviews: '127.0.0.1:9999' } }, 'productpage', endpoints);
    expect((c['upstreams'] as Record<string, unknown>)['reviews']).toBe('127.0.0.1:9999');
  });

  it('is a layer under the sidecar\'s own file and flags: a static --upstream wins over discovery for its name', () => {
    const layer = renderForService(canary, 'productpage', endpoints);
    const c = configFromOptions({ service: 'productpage', appPort: '1', upstream: ['reviews=127.0.0.1:9999'] }, {}, layer);
    expect(c.upstreams['reviews']).toEqual({ host: '127.0.0.1', port: 9999 });
    expect(c.upstreams['reviews|v1']).toEqual([{ host: '127.0.0.1', port: 7001 }, { host: '127.0.0.1', port: 7002 }]);
    expect(c.routes.map((r) => r.name)).toEqual(['canary']);
    // A flag wins over the control plane's value for its key too.
    expect(configFromOptions({ service: 'productpage', appPort: '1', timeout: '2s' }, {}, layer).timeoutMs).toBe(2000);
    expect(configFromOptions({ service: 'productpage', appPort: '1' }, {}, layer).timeoutMs).toBe(5000);
  });

  it('auto mTLS: a caller running mTLS gets ISTIO_MUTUAL towards services whose every instance accepts mTLS, unless a policy says otherwise', () => {
    const strict = { ...endpoints, reviews: endpoints.reviews.map((e) => ({ ...e, mtls: 'STRICT' as const })) };
    const policies = (c: Record<string, unknown>) => c['upstreamPolicies'] as Record<string, { tls?: { mode: string }; maxRequests?: number }>;
    const c = renderForService(canary, 'productpage', strict, { mtls: 'PERMISSIVE' });
    expect(policies(c)['reviews'].tls).toEqual({ mode: 'ISTIO_MUTUAL' });
    expect(policies(c)['reviews|v1'].tls).toEqual({ mode: 'ISTIO_MUTUAL' });
    expect(policies(c)['reviews|v3']).toEqual({ maxRequests: 10, tls: { mode: 'ISTIO_MUTUAL' } }); // merged into the doc's policy
    expect(policies(c)['ratings']).toBeUndefined(); // plaintext instances
    // A caller without mTLS (no certificate), or one whose policy sets tls, is left alone.
    expect(policies(renderForService(canary, 'productpage', strict, { mtls: 'DISABLE' }))['reviews']).toBeUndefined();
    const own = renderForService({ upstreamPolicies: { reviews: { tls: { mode: 'DISABLE' } } } }, 'productpage', strict, { mtls: 'STRICT' });
    expect(policies(own)['reviews'].tls).toEqual({ mode: 'DISABLE' });
    // One plaintext instance in a subset: no auto mTLS for the service, still for the all-mTLS subset.
    const mixed = { reviews: [...strict.reviews, ep('r4', 'v3', '127.0.0.1:7004')] };
    const m = policies(renderForService({}, 'productpage', mixed, { mtls: 'STRICT' }));
    expect(m['reviews']).toBeUndefined();
    expect(m['reviews|v1'].tls).toEqual({ mode: 'ISTIO_MUTUAL' });
    expect(m['reviews|v3']).toBeUndefined();
  });
});
