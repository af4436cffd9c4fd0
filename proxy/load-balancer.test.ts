import { describe, expect, it } from 'vitest';
import { parseProxyConfig, parseUpstreamFlags } from './config.js';
import { balancersFor, roundRobin } from './load-balancer.js';

const a = { host: '127.0.0.1', port: 9081 };
const b = { host: '127.0.0.1', port: 9082 };
const c = { host: 'reviews-v3', port: 9080 };

describe('roundRobin', () => {
  it('cycles through the endpoints in configuration order', () => {
    const lb = roundRobin([a, b, c]);
    expect(Array.from({ length: 7 }, () => lb.pick())).toEqual([a, b, c, a, b, c, a]);
  });

  it('always picks the one endpoint of a single-address upstream', () => {
    const lb = roundRobin(a);
    expect([lb.pick(), lb.pick(), lb.pick()]).toEqual([a, a, a]);
    expect(lb.endpoints).toEqual([a]);
  });

  it('refuses an empty list', () => {
    expect(() => roundRobin([])).toThrow(/at least one endpoint/);
  });

  it('keeps a separate turn per upstream', () => {
    const m = balancersFor({ reviews: [a, b], ratings: c });
    expect(m.get('reviews')!.pick()).toEqual(a);
    expect(m.get('ratings')!.pick()).toEqual(c);
    expect(m.get('reviews')!.pick()).toEqual(b);
  });
});

describe('multi-endpoint upstreams in the proxy configuration', () => {
  it('parses --upstream name=h:p,h:p into a list and keeps a single address as one {host, port}', () => {
    const cfg = parseProxyConfig({ service: 's', appPort: 1, upstreams: parseUpstreamFlags(['reviews=127.0.0.1:9081, 127.0.0.1:9082,reviews-v3:9080', 'ratings=127.0.0.1:16006']) });
    expect(cfg.upstreams).toEqual({ reviews: [a, b, c], ratings: { host: '127.0.0.1', port: 16006 } });
    // A parsed configuration parses again unchanged (startSidecar re-validates).
    expect(parseProxyConfig(cfg).upstreams).toEqual(cfg.upstreams);
  });

  it('accepts the config-file form: a list of host:port strings or {host, port} objects', () => {
    const cfg = parseProxyConfig({ service: 's', appPort: 1, upstreams: { reviews: ['127.0.0.1:9081', { host: '127.0.0.1', port: 9082 }] } });
    expect(cfg.upstreams.reviews).toEqual([a, b]);
  });

  it('names the upstream when a list is empty or has a bad address', () => {
    expect(() => parseProxyConfig({ service: 's', appPort: 1, upstreams: { reviews: [] } })).toThrow(/upstreams\.reviews/);
    expect(() => parseProxyConfig({ service: 's', appPort: 1, upstreams: { reviews: '127.0.0.1:9081,nohost' } })).toThrow(/upstreams\.reviews\.1: expected host:port, got 'nohost'/);
    expect(() => parseProxyConfig({ service: 's', appPort: 1, upstreams: { reviews: 'nohost' } })).toThrow(/upstreams\.reviews: expected host:port, got 'nohost'/);
    expect(() => parseProxyConfig({ service: 's', appPort: 1, upstreams: { reviews: 5 } })).toThrow(/upstreams\.reviews: expected host:port or a list of them, got 5/);
  });
});

describe('outbound route filter with a multi-endpoint upstream', () => {
  it('sends successive requests for one upstream to its endpoints in turn, under one cluster', async () => {
    const { outboundRouteFilter } = await import('./filters/route.js');
    const cfg = parseProxyConfig({ service: 'productpage', appPort: 1, upstreams: { reviews: '127.0.0.1:9081,127.0.0.1:9082', details: '127.0.0.1:9090' } });
    const filter = outboundRouteFilter(cfg, () => ({ host: '127.0.0.1', port: 15001 }));
    const route = (url: string) => {
      const ex = { req: { url }, authority: '', path: '/', headers: {}, samplingRate: 1 } as unknown as Parameters<NonNullable<typeof filter.onRequest>>[0];
      expect(filter.onRequest!(ex)).toBeUndefined();
      return ex.upstream!;
    };
    const seen = [route('http://reviews/reviews/0'), route('http://reviews:9080/reviews/1'), route('http://details/details/0'), route('http://reviews/reviews/2')];
    expect(seen.map((u) => `${u.service} ${u.host}:${u.port} ${u.cluster}`)).toEqual([
      'reviews 127.0.0.1:9081 outbound|9081||reviews',
      'reviews 127.0.0.1:9082 outbound|9081||reviews',
      'details 127.0.0.1:9090 outbound|9090||details',
      'reviews 127.0.0.1:9081 outbound|9081||reviews',
    ]);
  });
});
