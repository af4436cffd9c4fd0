import type { ProxyConfig } from '../config.js';
import { balancersFor } from '../load-balancer.js';
import type { HttpFilter } from './types.js';

/**
 * Route filters decide `ex.upstream`, `ex.route` and the sampling rate for new traces.
 * They run before tracing (which needs the rate) and the terminal router (which needs the upstream).
 */

/** Longest matching prefix wins; a method filter must match when given. */
export function matchSamplingRoute(routes: ProxyConfig['sampling']['routes'], method: string, path: string) {
  let best: ProxyConfig['sampling']['routes'][number] | undefined;
  for (const r of routes) {
    if (r.method && r.method.toUpperCase() !== method) continue;
    if (!path.startsWith(r.pathPrefix)) continue;
    if (!best || r.pathPrefix.length > best.pathPrefix.length) best = r;
  }
  return best;
}

/** Inbound: everything goes to the local app (Istio names that cluster `inbound|<port>||`). */
export function inboundRouteFilter(c: ProxyConfig): HttpFilter {
  const upstream = { cluster: `inbound|${c.appPort}||`, service: c.service, host: c.appHost, port: c.appPort };
  return {
    name: 'inbound-route',
    onRequest(ex) {
      ex.upstream = upstream;
      const r = matchSamplingRoute(c.sampling.routes, ex.method, ex.path);
      ex.samplingRate = r ? r.rate : c.sampling.rate;
      if (r?.route) ex.route = r.route;
      return undefined;
    },
  };
}

/** Splits `host[:port]` (IPv6 in brackets); port undefined when absent or invalid. */
export function splitAuthority(authority: string): { host: string; port?: number } {
  const m = /^(\[[^\]]+\]|[^:]*)(?::(\d{1,5}))?$/.exec(authority.trim());
  if (!m) return { host: authority };
  const port = m[2] !== undefined ? Number(m[2]) : undefined;
  return { host: m[1].replace(/^\[|\]$/g, '').toLowerCase(), port: port && port <= 65535 ? port : undefined };
}

/**
 * Outbound: the target comes from an absolute-form request target (`GET http://ratings/x`,
 * as HTTP_PROXY clients send) or else the Host header. A host named in `upstreams` (with or
 * without its port) goes to that address (several addresses: round-robin, one turn per request);
 * any other host:port is forwarded as is (port 80 when absent). No target, or a target that is
 * this listener itself → 404 `NR`.
 */
export function outboundRouteFilter(c: ProxyConfig, self: () => { host: string; port: number }): HttpFilter {
  const balancers = balancersFor(c.upstreams);
  return {
    name: 'outbound-route',
    onRequest(ex) {
      let authority = ex.authority;
      const target = ex.req.url ?? '/';
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
        let u: URL;
        try { u = new URL(target); } catch { return { status: 400, body: 'bad request target', flag: 'NR' }; }
        if (u.protocol !== 'http:') return { status: 400, body: `only http:// targets are proxied; use CONNECT for ${u.protocol}`, flag: 'NR' };
        authority = u.host;
        ex.path = `${u.pathname}${u.search}`;
        ex.authority = u.host;
        ex.headers['host'] = u.host;
      }
      if (!authority) return { status: 404, body: 'no route: request names no host', flag: 'NR' };
      const { host, port } = splitAuthority(authority);
      const name = balancers.has(host) ? host : port !== undefined && balancers.has(`${host}:${port}`) ? `${host}:${port}` : undefined;
      const lb = name !== undefined ? balancers.get(name) : undefined;
      if (lb && name) {
        // The cluster is named after the first endpoint, so all of an upstream's endpoints share one.
        const named = lb.pick();
        ex.upstream = { cluster: `outbound|${lb.endpoints[0].port}||${name}`, service: name, host: named.host, port: named.port };
        ex.samplingRate = c.sampling.upstreams[name] ?? c.sampling.rate;
      } else {
        const p = port ?? 80;
        const me = self();
        if (p === me.port && (host === me.host || host === 'localhost' || host === '127.0.0.1')) {
          return { status: 404, body: 'no route: request targets the outbound listener itself', flag: 'NR' };
        }
        ex.upstream = { cluster: 'PassthroughCluster', service: host, host, port: p };
        ex.samplingRate = c.sampling.rate;
      }
      return undefined;
    },
  };
}
