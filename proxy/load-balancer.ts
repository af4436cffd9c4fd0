import type { HostPort } from './config.js';

/**
 * Endpoint selection for an upstream with several addresses (Envoy's cluster load balancer,
 * reduced to round-robin). Pure: no I/O, no timers, no health state of its own — without outlier
 * detection an endpoint that is down still gets its turn and the request fails with 503 `UF`, as
 * with a single endpoint; with it, the caller's `skip` passes over ejected endpoints.
 */
export interface LoadBalancer {
  /** Every endpoint, in configuration order (never empty). */
  readonly endpoints: readonly HostPort[];
  /** The endpoint for the next request: endpoints[0], [1], … [n-1], [0], … */
  pick(): HostPort;
  /** The next endpoint in turn that `skip` does not reject; undefined when it rejects them all. */
  pickHealthy(skip: (e: HostPort) => boolean): HostPort | undefined;
}

/** An upstream as configured: one address or a non-empty list of them. */
export type UpstreamEndpoints = HostPort | readonly HostPort[];

/** Round-robin over `endpoints` (one address: always that one). Throws on an empty list. */
export function roundRobin(endpoints: UpstreamEndpoints): LoadBalancer {
  const list: readonly HostPort[] = Array.isArray(endpoints) ? [...endpoints] : [endpoints as HostPort];
  if (list.length === 0) throw new Error('roundRobin: an upstream needs at least one endpoint');
  let next = 0;
  return {
    endpoints: list,
    pick() {
      const e = list[next];
      next = (next + 1) % list.length;
      return e;
    },
    pickHealthy(skip) {
      for (let i = 0; i < list.length; i++) {
        const e = list[next];
        next = (next + 1) % list.length;
        if (!skip(e)) return e;
      }
      return undefined;
    },
  };
}

/** One balancer per upstream name; each keeps its own turn. */
export function balancersFor(upstreams: Readonly<Record<string, UpstreamEndpoints>>): Map<string, LoadBalancer> {
  return new Map(Object.entries(upstreams).map(([name, e]) => [name, roundRobin(e)]));
}
