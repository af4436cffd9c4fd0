import type { HostPort } from '../config.js';
import type { LocalReply } from '../filters/types.js';
import { roundRobin, type LoadBalancer } from '../load-balancer.js';
import type { FaultDecision } from './fault.js';
import { isEjected, newEndpointHealth, recordResult, type EndpointHealth } from './outlier.js';
import type { RetryPolicy, UpstreamPolicy } from './schema.js';

/**
 * Traffic state that must outlive a configuration reload: balancer turns, outlier ejections and
 * active-request counts, by upstream name and endpoint. One TrafficState is created per sidecar
 * (startSidecar) and handed to every chain it builds; a chain built from a new configuration
 * calls `upstream()` again and gets the same UpstreamState, refreshed with the new endpoints and
 * policy. Endpoint health is keyed by `host:port`, so an endpoint kept across a reload keeps its
 * ejection; the round-robin turn restarts only when the endpoint list changed.
 */

/** Counters the sidecar exports (proxy/metrics.ts). */
export interface TrafficEvents {
  upstreamOverflow(upstream: string): void;
  outlierEjection(upstream: string): void;
  upstreamRetry(upstream: string): void;
}

const noEvents: TrafficEvents = { upstreamOverflow() {}, outlierEjection() {}, upstreamRetry() {} };

/** Which circuit-breaker limit refused a request, and the count it was at. */
export interface OverflowCause { limit: 'maxRequests' | 'maxPendingRequests'; max: number; current: number }

/** An outlier ejection one try's result caused. */
export interface Ejection { endpoint: string; consecutiveErrors: number; durationMs: number; timesEjected: number }

export const endpointKey = (e: HostPort): string => `${e.host}:${e.port}`;

export class UpstreamState {
  /** Envoy-style cluster name, after the first endpoint: `outbound|<port>||<name>`. */
  cluster = '';
  policy: UpstreamPolicy | undefined;
  /** Requests holding a slot (counted only while the policy limits requests). */
  active = 0;
  private lb!: LoadBalancer;
  private endpointsKey = '';
  private connectionsPerEndpoint = 1;
  private readonly health = new Map<string, EndpointHealth>();

  constructor(readonly name: string, readonly owner: TrafficState) {}

  get endpoints(): readonly HostPort[] { return this.lb.endpoints; }

  /** Applies a (re)loaded configuration; keeps turn and health where the endpoints did not change. */
  update(endpoints: readonly HostPort[], policy: UpstreamPolicy | undefined, connectionsPerEndpoint: number): void {
    const key = endpoints.map(endpointKey).join(',');
    if (key !== this.endpointsKey) {
      this.lb = roundRobin(endpoints);
      this.endpointsKey = key;
      const keep = new Set(endpoints.map(endpointKey));
      for (const k of this.health.keys()) if (!keep.has(k)) this.health.delete(k);
    }
    this.cluster = `outbound|${endpoints[0].port}||${this.name}`;
    this.policy = policy;
    this.connectionsPerEndpoint = connectionsPerEndpoint;
  }

  /** Whether requests are counted against limits (the only case where acquire/release matter). */
  get limited(): boolean { return this.policy?.maxRequests !== undefined || this.policy?.maxPendingRequests !== undefined; }

  /**
   * Takes a request slot; false (and an overflow counted) when `maxRequests` are in flight or the
   * requests beyond the pool's connections already fill `maxPendingRequests`.
   */
  tryAcquire(): boolean {
    const p = this.policy;
    if (p?.maxRequests !== undefined && this.active >= p.maxRequests) return this.overflow();
    if (p?.maxPendingRequests !== undefined) {
      const pending = this.active - this.connectionsPerEndpoint * this.lb.endpoints.length;
      if (pending >= p.maxPendingRequests) return this.overflow();
    }
    this.active++;
    return true;
  }

  release(): void { if (this.active > 0) this.active--; }

  /** Which limit refused the request `tryAcquire` just refused (for the `meshtrace.overflow` span event). */
  overflowCause(): OverflowCause {
    const p = this.policy;
    if (p?.maxRequests !== undefined && this.active >= p.maxRequests) return { limit: 'maxRequests', max: p.maxRequests, current: this.active };
    return { limit: 'maxPendingRequests', max: p?.maxPendingRequests ?? 0, current: Math.max(0, this.active - this.connectionsPerEndpoint * this.lb.endpoints.length) };
  }

  private overflow(): false {
    this.owner.events.upstreamOverflow(this.name);
    return false;
  }

  /** Next endpoint in turn, skipping ejected ones; undefined when every endpoint is ejected. */
  pick(): HostPort | undefined {
    if (!this.policy?.outlierDetection || this.health.size === 0) return this.lb.pick();
    const now = this.owner.now();
    return this.lb.pickHealthy((e) => isEjected(this.health.get(endpointKey(e)), now));
  }

  /**
   * One try's result at `endpoint` (failed = 5xx, connect failure, reset or per-try timeout).
   * Returns what the ejection was when this result ejected the endpoint (for the span event).
   */
  report(endpoint: HostPort, failed: boolean): Ejection | undefined {
    const od = this.policy?.outlierDetection;
    if (!od) return undefined;
    const key = endpointKey(endpoint);
    let h = this.health.get(key);
    if (!h) {
      if (!failed) return undefined;
      this.health.set(key, h = newEndpointHealth());
    }
    const now = this.owner.now();
    if (!recordResult(od, h, this.health.values(), this.lb.endpoints.length, failed, now)) return undefined;
    this.owner.events.outlierEjection(this.name);
    return { endpoint: key, consecutiveErrors: od.consecutive5xxErrors, durationMs: h.ejectedUntil - now, timesEjected: h.timesEjected };
  }

  /** Endpoints ejected now (admin/tests). */
  ejected(): string[] {
    const now = this.owner.now();
    return [...this.health].filter(([, h]) => isEjected(h, now)).map(([k]) => k);
  }
}

export class TrafficState {
  /** Source of [0, 1) numbers for weights, fault percentages and back-off jitter (tests inject one). */
  readonly random: () => number;
  /** Epoch ms (tests inject a clock for ejection times). */
  readonly now: () => number;
  readonly events: TrafficEvents;
  private readonly upstreams = new Map<string, UpstreamState>();

  constructor(o: { random?: () => number; now?: () => number; events?: TrafficEvents } = {}) {
    this.random = o.random ?? Math.random;
    this.now = o.now ?? Date.now;
    this.events = o.events ?? noEvents;
  }

  /** The long-lived state of upstream `name`, refreshed with the current configuration. */
  upstream(name: string, endpoints: readonly HostPort[], policy: UpstreamPolicy | undefined, connectionsPerEndpoint: number): UpstreamState {
    let u = this.upstreams.get(name);
    if (!u) this.upstreams.set(name, u = new UpstreamState(name, this));
    u.update(endpoints, policy, connectionsPerEndpoint);
    return u;
  }

  /** An upstream's state if one was configured (tests, admin). */
  get(name: string): UpstreamState | undefined { return this.upstreams.get(name); }
}

/**
 * What the route filter decided for one outbound request beyond its first endpoint; the router
 * (proxy/traffic/router.ts) executes it. Absent on an exchange = forward once, as before.
 */
export interface TrafficDecision {
  upstream: UpstreamState;
  /** Endpoint of the current try (health is reported against it). */
  endpoint: HostPort;
  retry?: RetryPolicy;
  fault?: FaultDecision;
  /** Holds one of the upstream's request slots; released when the exchange completes. */
  holdsSlot: boolean;
  /** Whether the router must run (retry, fault, outlier detection or a rejection); false = plain forward. */
  active: boolean;
  /**
   * Answer locally instead of forwarding (circuit breaker overflow `UO`, no healthy endpoint `UH`).
   * The router sends it rather than the route filter, so that later filters (tracing) still run
   * and the refused request gets its span like any other.
   */
  reject?: LocalReply;
  /** Set with a circuit-breaker `reject`: which limit refused it. */
  overflow?: OverflowCause;
}
