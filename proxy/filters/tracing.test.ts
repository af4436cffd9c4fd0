import { describe, expect, it } from 'vitest';
import { diagnose, InflightTraces } from '../doctor.js';
import { extract } from '../propagation/index.js';
import { parseProxyConfig } from '../config.js';
import { matchSamplingRoute, outboundRouteFilter, splitAuthority } from './route.js';
import { tracingFilter } from './tracing.js';
import type { Exchange } from './types.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

/** The fields these filters read; the listeners build the real thing from an IncomingMessage. */
function exchange(headers: Record<string, string>, o: Partial<Exchange> = {}): Exchange {
  return {
    listener: 'inbound', req: { headers, url: o.path ?? '/' } as unknown as Exchange['req'], startMs: 0, remoteAddress: '', remotePort: 0,
    method: 'GET', path: '/', authority: headers['host'] ?? '', headers: { ...headers }, requestId: 'r', samplingRate: 1,
    peer: { workload: 'unknown', version: 'unknown' }, responseFlags: [], status: 0, requestBytes: 0, responseBytes: 0, attributes: {},
    ...o,
  };
}

describe('sampling decisions', () => {
  const run = (headers: Record<string, string>, rate: number, random = 0.5) => {
    const recorded: Exchange[] = [];
    const f = tracingFilter({ propagators: ['tracecontext'], record: (ex) => recorded.push(ex), random: () => random });
    const ex = exchange(headers, { samplingRate: rate });
    f.onRequest!(ex);
    f.onComplete!(ex);
    return { sampled: ex.trace!.context.sampled, recorded: recorded.length, ex };
  };
  it('new traces follow the rate', () => {
    expect(run({}, 1).sampled).toBe(true);
    expect(run({}, 0).sampled).toBe(false);
    expect(run({}, 0.3, 0.2).sampled).toBe(true);
    expect(run({}, 0.3, 0.4).sampled).toBe(false);
  });
  it("a caller's decision wins over the rate", () => {
    expect(run({ traceparent: `00-${T}-${S}-01` }, 0).sampled).toBe(true);
    expect(run({ traceparent: `00-${T}-${S}-00` }, 1).sampled).toBe(false);
    expect(run({ b3: '0' }, 1).sampled).toBe(false);
    expect(run({ 'uber-trace-id': `${T}:${S}:0:0` }, 1).sampled).toBe(false);
  });
  it('the debug header and B3/Jaeger debug flags force recording, and say so downstream', () => {
    const forced = run({ traceparent: `00-${T}-${S}-00`, 'x-meshtrace-debug': '1' }, 0);
    expect(forced).toMatchObject({ sampled: true, recorded: 1 });
    expect(forced.ex.headers['traceparent']).toMatch(/-01$/);
    expect(run({ b3: `${T}-${S}-d` }, 0).sampled).toBe(true);
    expect(run({ 'x-b3-flags': '1' }, 0).sampled).toBe(true);
    expect(run({ 'uber-trace-id': `${T}:${S}:0:2` }, 0).sampled).toBe(true);
  });
  it('unsampled exchanges are not recorded but still carry a context', () => {
    const r = run({}, 0);
    expect(r.recorded).toBe(0);
    expect(r.ex.headers['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });
});

describe('routes', () => {
  it('longest matching prefix wins; method filters apply', () => {
    const routes = [{ pathPrefix: '/', rate: 1 }, { pathPrefix: '/api', rate: 0.5 }, { pathPrefix: '/api/admin', method: 'POST', rate: 0 }];
    expect(matchSamplingRoute(routes, 'GET', '/api/admin/x')?.rate).toBe(0.5);
    expect(matchSamplingRoute(routes, 'POST', '/api/admin/x')?.rate).toBe(0);
    expect(matchSamplingRoute(routes, 'GET', '/other')?.rate).toBe(1);
    expect(matchSamplingRoute([], 'GET', '/')).toBeUndefined();
  });
  it('splits authorities', () => {
    expect(splitAuthority('Ratings:9080')).toEqual({ host: 'ratings', port: 9080 });
    expect(splitAuthority('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(splitAuthority('svc')).toEqual({ host: 'svc', port: undefined });
  });
  it('outbound: named upstreams (with their own sampling rate), passthrough, no host', () => {
    const c = parseProxyConfig({ service: 's', appPort: 1, upstreams: { ratings: '10.0.0.1:9080' }, sampling: { rate: 1, upstreams: { ratings: 0.25 } } });
    const f = outboundRouteFilter(c, () => ({ host: '127.0.0.1', port: 15001 }));
    const named = exchange({ host: 'ratings:9080' }, { listener: 'outbound' });
    expect(f.onRequest!(named)).toBeUndefined();
    expect(named.upstream).toEqual({ cluster: 'outbound|9080||ratings', service: 'ratings', host: '10.0.0.1', port: 9080 });
    expect(named.samplingRate).toBe(0.25);
    const abs = exchange({ host: 'ignored' }, { listener: 'outbound', path: 'http://example.internal:8080/x?y=1' });
    expect(f.onRequest!(abs)).toBeUndefined();
    expect(abs).toMatchObject({ path: '/x?y=1', authority: 'example.internal:8080', upstream: { cluster: 'PassthroughCluster', host: 'example.internal', port: 8080 } });
    expect(f.onRequest!(exchange({}, { listener: 'outbound' }))).toMatchObject({ status: 404, flag: 'NR' });
    expect(f.onRequest!(exchange({ host: 'localhost:15001' }, { listener: 'outbound' }))).toMatchObject({ status: 404, flag: 'NR' });
    expect(f.onRequest!(exchange({}, { listener: 'outbound', path: 'https://secure/' }))).toMatchObject({ status: 400 });
  });
});

describe('propagation doctor verdicts', () => {
  it('judges outbound calls against in-flight inbound traces', () => {
    const inflight = new InflightTraces();
    expect(diagnose(inflight, extract({}))).toBe('idle');
    inflight.enter(T);
    inflight.enter(T);
    expect(diagnose(inflight, extract({}))).toBe('missing');
    expect(diagnose(inflight, extract({ traceparent: `00-${T}-${S}-01` }))).toBe('ok');
    expect(diagnose(inflight, extract({ traceparent: `00-${'1'.repeat(32)}-${S}-01` }))).toBe('different_trace');
    inflight.leave(T);
    expect(inflight.has(T)).toBe(true);
    inflight.leave(T);
    expect(inflight.size).toBe(0);
  });
});
