import type { DownstreamRequest } from '../http/downstream.js';
import type { Extracted, PropagatorName, SpanContext } from '../propagation/index.js';
import type { AttributeValue, SpanEvent } from '../spans/span.js';
import type { AttemptRecord } from '../traffic/mesh-trace.js';
import type { CompiledRoute } from '../traffic/routes.js';
import type { PeerIdentity } from '../mtls/inbound.js';
import type { UpstreamTlsClient } from '../mtls/outbound.js';
import type { TrafficDecision } from '../traffic/state.js';

/** Headers as forwarded: lowercase names, hop-by-hop headers already removed. */
export type OutHeaders = Record<string, string | string[]>;

/** Where the terminal router sends the request. */
export interface Upstream {
  /** Envoy-style cluster name (`inbound|9080||`, an `--upstream` name, or `passthrough`). */
  cluster: string;
  /** Logical destination service (metrics `destination_service`, span `peer.service`). */
  service: string;
  host: string;
  port: number;
  /** ISTIO_MUTUAL: the router connects with mTLS through this client; absent = plaintext. */
  tls?: UpstreamTlsClient;
}

/** The trace state a request carries through the chain. */
export interface ExchangeTrace {
  /** This proxy's span: its ids are what was injected into the forwarded request. */
  context: SpanContext;
  /** The caller's context, when it sent a valid one. */
  parent?: SpanContext;
  extracted: Extracted;
  /**
   * Set once a call under a retry policy is retried: the id of the logical CLIENT span, parent of
   * one span per try. `context.spanId` is then the first try's span (the id it sent upstream).
   */
  logicalSpanId?: string;
  /** Formats injected (the router injects each retry try's own span id with them). */
  propagators: readonly PropagatorName[];
}

/**
 * One request/response passing through a listener. Filters read and write it; the router
 * forwards `headers` to `upstream`. Times are epoch ms with sub-ms precision.
 */
export interface Exchange {
  readonly listener: 'inbound' | 'outbound';
  readonly req: DownstreamRequest;
  readonly startMs: number;
  /** The downstream peer, captured at the start (the socket may be detached by the end). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Inbound over mTLS: the caller's verified identity (its SPIFFE id); absent for plaintext. */
  readonly peerIdentity?: PeerIdentity;
  method: string;
  /** Origin-form request target (path and query) sent upstream. */
  path: string;
  /** Host (authority) as the client sent it. */
  authority: string;
  headers: OutHeaders;
  requestId: string;
  upstream?: Upstream;
  /** Route name for `http.route`, when a configured route matched. */
  route?: string;
  /** Longest wait for response headers after the request ended (all tries), ms; 0 = none; absent = the listener's. Set by the route filter. */
  timeoutMs?: number;
  /** Retries, fault injection, circuit breaking, outlier detection for this request (outbound routes); absent = forward once. */
  traffic?: TrafficDecision;
  /** Probability of recording if this request starts a trace (set by the route filter). */
  samplingRate: number;
  trace?: ExchangeTrace;
  /** The other side's workload and version, when its sidecar told us (peer metadata). */
  peer: { workload: string; version: string };
  /** Envoy response flags (UF, UH, UT, DC, NR, UR, …). */
  responseFlags: string[];
  /** Status sent downstream; 0 when none was (client went away first). */
  status: number;
  requestBytes: number;
  responseBytes: number;
  /** Time to the upstream's response headers, ms. */
  upstreamServiceTimeMs?: number;
  endMs?: number;
  /** Extra span attributes contributed by filters. */
  attributes: Record<string, AttributeValue>;
  /** The traffic route that matched (for the `meshtrace.route` event, built only when the span is recorded). */
  trafficRoute?: CompiledRoute;
  /** The upstream a traffic route picked among its destinations. */
  destination?: string;
  /** Mesh decisions on this exchange's span (proxy/traffic/mesh-trace.ts); absent until the mesh acts on a sampled request. */
  events?: SpanEvent[];
  /** A retried call's tries, each its own CLIENT span under this (logical) one; absent unless a retry was decided. */
  attempts?: AttemptRecord[];
  /** Why the request failed, for the span's status message. */
  error?: string;
  /** TLS failure toward an ISTIO_MUTUAL upstream (Envoy's %UPSTREAM_TRANSPORT_FAILURE_REASON%). */
  transportFailureReason?: string;
}

/** A response the proxy makes itself (errors, rejections, fault injection, overflow). */
export interface LocalReply {
  status: number;
  body: string;
  /** Response flag to record (e.g. `NR`). */
  flag?: string;
  /** Extra response headers (e.g. `x-envoy-overloaded`). */
  headers?: OutHeaders;
}

/**
 * A filter in a listener's chain (Envoy's HTTP filter model, reduced to what a sidecar needs).
 * - `onRequest` runs in chain order when request headers have arrived; returning a LocalReply
 *   stops the chain and answers directly (later filters' `onRequest` do not run).
 * - `onResponse` runs in reverse order just before response headers go downstream (also for
 *   local replies); it may edit `headers`.
 * - `onComplete` runs in reverse order for every filter once the exchange is over (finished,
 *   failed or aborted); it must tolerate fields left unset by an early stop. Logs, metrics and
 *   spans live here.
 * Filters are synchronous: anything slow (export) is queued, never awaited on the request path.
 */
export interface HttpFilter {
  readonly name: string;
  onRequest?(ex: Exchange): LocalReply | undefined;
  onResponse?(ex: Exchange, headers: OutHeaders): void;
  onComplete?(ex: Exchange): void;
}
