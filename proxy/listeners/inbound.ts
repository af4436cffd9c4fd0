import type { Logger } from 'pino';
import type { ProxyConfig } from '../config.js';
import { inflightTrackerFilter, type InflightTraces } from '../doctor.js';
import { accessLogFilter } from '../filters/access-log.js';
import { FilterChain } from '../filters/chain.js';
import { clientCertFilter } from '../filters/client-cert.js';
import { forwardedFilter } from '../filters/forwarded.js';
import { peerMetadataFilter } from '../filters/peer-metadata.js';
import { requestIdFilter } from '../filters/request-id.js';
import { inboundRouteFilter } from '../filters/route.js';
import { statsFilter } from '../filters/stats.js';
import { tracingFilter } from '../filters/tracing.js';
import type { Exchange, HttpFilter } from '../filters/types.js';
import type { ProxyMetrics } from '../metrics.js';
import type { UpstreamTlsClient } from '../mtls/outbound.js';
import type { TrafficState } from '../traffic/state.js';

export interface ChainDeps {
  config: ProxyConfig;
  metrics: ProxyMetrics;
  inflight: InflightTraces;
  /** Balancer turns, outlier ejections, request counts: created once per sidecar, kept across chains built from reloaded configs. */
  traffic: TrafficState;
  /** mTLS clients of the ISTIO_MUTUAL upstreams, by upstream name (built per config and material; proxy/mtls/outbound.ts). */
  upstreamTls: ReadonlyMap<string, UpstreamTlsClient>;
  /** This workload's SPIFFE id (its certificate's URI SAN) when mTLS material is loaded. */
  selfPrincipal?: string;
  accessLog?: Logger;
  record(ex: Exchange): void;
  onFilterError(filter: string, err: unknown): void;
}

/**
 * Inbound chain (callers → app). Order matters: the route sets the sampling rate tracing needs;
 * the doctor's tracker needs the trace id tracing chose; completion runs in reverse, so the
 * access log and stats see the final state.
 */
export function inboundChain(d: ChainDeps): FilterChain {
  const filters: HttpFilter[] = [];
  if (d.accessLog && d.config.accessLog) filters.push(accessLogFilter(d.accessLog));
  filters.push(
    statsFilter(d.config, d.metrics),
    requestIdFilter(),
    forwardedFilter(),
    ...(d.config.mtls.mode !== 'DISABLE' ? [clientCertFilter(d.selfPrincipal ?? '-')] : []),
    peerMetadataFilter({ service: d.config.service, version: d.config.serviceVersion }),
    inboundRouteFilter(d.config),
    tracingFilter({ propagators: d.config.propagators, record: d.record, onInvalid: (f) => d.metrics.invalidTraceContext('inbound', f) }),
    inflightTrackerFilter(d.inflight),
  );
  return new FilterChain(filters, d.onFilterError);
}
