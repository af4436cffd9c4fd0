import type { HostPort, ProxyConfig } from '../config.js';
import type { UpstreamTlsClient } from '../mtls/outbound.js';
import { decideFault } from '../traffic/fault.js';
import { compileRoutes, matchRoute, pickDestination, routesFor, type CompiledRoute } from '../traffic/routes.js';
import { TrafficState, type UpstreamState } from '../traffic/state.js';
import type { Exchange, HttpFilter, LocalReply } from './types.js';

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
      // From this chain's configuration, so a chain rebuilt from a reloaded config applies its timeout.
      ex.timeoutMs = c.timeoutMs;
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
 * as HTTP_PROXY clients send) or else the Host header. A host with `routes` is routed by them
 * (first match wins; none matches → 404 `NR`) to a weighted pick of their destinations; else a
 * host named in `upstreams` (with or without its port) goes to that upstream; any other
 * host:port is forwarded as is (port 80 when absent). No target, or a target that is this
 * listener itself → 404 `NR`. An upstream's endpoints take turns (round-robin, one turn per
 * request, skipping endpoints outlier detection ejected: none left → 503 `UH`); its
 * `maxRequests`/`maxPendingRequests` overflow → 503 `UO`. Turns, ejections and request counts
 * live in `traffic`, which outlives this filter (a reloaded configuration builds a new one).
 * An upstream in `tls` (ISTIO_MUTUAL) gets its mTLS client on `ex.upstream.tls`.
 */
export function outboundRouteFilter(
  c: ProxyConfig, self: () => { host: string; port: number }, traffic: TrafficState = new TrafficState(),
  tls: ReadonlyMap<string, UpstreamTlsClient> = new Map(),
): HttpFilter {
  const upstreams = new Map(Object.entries(c.upstreams).map(([name, e]) => {
    const list = Array.isArray(e) ? e : [e as HostPort];
    return [name, traffic.upstream(name, list, c.upstreamPolicies[name], c.maxConnectionsPerUpstream)] as const;
  }));
  const routes = compileRoutes(c.routes);

  /**
   * Sends `ex` to upstream `us`, under `route` when one matched. `service` is the logical
   * destination (metrics' `destination_service`, the span's `peer.service`): the host the app
   * called when a route picked the upstream (`reviews`, whichever version's upstream it chose, as
   * Istio reports a VirtualService's subsets), else the upstream's name.
   */
  const toUpstream = (ex: Exchange, us: UpstreamState, route: CompiledRoute | undefined, service = us.name): LocalReply | undefined => {
    const policy = us.policy;
    ex.samplingRate = c.sampling.upstreams[us.name] ?? c.sampling.rate;
    const r = route?.route;
    if (r?.name !== undefined) ex.route = r.name;
    if (route) { ex.trafficRoute = route; ex.destination = us.name; }
    if (r?.timeoutMs !== undefined) ex.timeoutMs = r.timeoutMs;
    if (!policy && !r?.retries && !r?.fault) {
      // No policy: today's path, one turn of the balancer and a plain forward.
      const e = us.pick()!;
      ex.upstream = { cluster: us.cluster, service, host: e.host, port: e.port };
      return undefined;
    }
    // Refusals are executed by the router (TrafficDecision.reject) so that tracing still runs.
    if (us.limited && !us.tryAcquire()) {
      ex.upstream = { cluster: us.cluster, service, host: '-', port: 0 };
      ex.traffic = {
        upstream: us, endpoint: us.endpoints[0], holdsSlot: false, active: true,
        reject: { status: 503, body: 'upstream connect error or disconnect/reset before headers. reset reason: overflow', flag: 'UO', headers: { 'x-envoy-overloaded': 'true' } },
        overflow: us.overflowCause(),
      };
      return undefined;
    }
    const e = us.pick();
    const fault = r?.fault ? decideFault(r.fault, traffic.random) : undefined;
    ex.traffic = {
      upstream: us, endpoint: e ?? us.endpoints[0], retry: r?.retries, fault, holdsSlot: us.limited,
      active: !!(r?.retries || fault || policy?.outlierDetection || !e),
    };
    if (!e) {
      ex.upstream = { cluster: us.cluster, service, host: '-', port: 0 };
      ex.traffic.reject = { status: 503, body: 'no healthy upstream', flag: 'UH' };
      return undefined;
    }
    ex.upstream = { cluster: us.cluster, service, host: e.host, port: e.port, tls: tls.get(us.name) };
    return undefined;
  };

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
      // From this chain's configuration (a route may override it), so a chain rebuilt from a reloaded config applies its timeout.
      ex.timeoutMs = c.timeoutMs;
      const { host, port } = splitAuthority(authority);
      const hostRoutes = routesFor(routes, host, port);
      if (hostRoutes) {
        const route = matchRoute(hostRoutes, ex.method, ex.path, ex.headers);
        if (!route) return { status: 404, body: `no route: no route for ${host} matches the request`, flag: 'NR' };
        // Validated at load: every destination names an upstream.
        return toUpstream(ex, upstreams.get(pickDestination(route, traffic.random()))!, route, host);
      }
      const us = upstreams.get(host) ?? (port !== undefined ? upstreams.get(`${host}:${port}`) : undefined);
      if (us) return toUpstream(ex, us, undefined);
      const p = port ?? 80;
      const me = self();
      if (p === me.port && (host === me.host || host === 'localhost' || host === '127.0.0.1')) {
        return { status: 404, body: 'no route: request targets the outbound listener itself', flag: 'NR' };
      }
      ex.upstream = { cluster: 'PassthroughCluster', service: host, host, port: p };
      ex.samplingRate = c.sampling.rate;
      return undefined;
    },
    onComplete(ex) {
      // The request slot is the exchange's until it is over, whichever chain (config) it started in.
      if (ex.traffic?.holdsSlot) { ex.traffic.holdsSlot = false; ex.traffic.upstream.release(); }
    },
  };
}
