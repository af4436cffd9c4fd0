import { propagationDoctorFilter } from '../doctor.js';
import { accessLogFilter } from '../filters/access-log.js';
import { FilterChain } from '../filters/chain.js';
import { peerMetadataFilter } from '../filters/peer-metadata.js';
import { requestIdFilter } from '../filters/request-id.js';
import { outboundRouteFilter } from '../filters/route.js';
import { statsFilter } from '../filters/stats.js';
import { tracingFilter } from '../filters/tracing.js';
import type { HttpFilter } from '../filters/types.js';
import type { ChainDeps } from './inbound.js';

/** Outbound chain (app → upstreams): route, trace (CLIENT span), judge propagation, tag the peer. */
export function outboundChain(d: ChainDeps, self: () => { host: string; port: number }): FilterChain {
  const config = d.config;
  const filters: HttpFilter[] = [];
  if (d.accessLog && config.accessLog) filters.push(accessLogFilter(d.accessLog));
  filters.push(
    statsFilter(config, d.metrics),
    requestIdFilter(),
    outboundRouteFilter(config, self, d.traffic, d.upstreamTls),
    tracingFilter({ propagators: config.propagators, record: d.record, onInvalid: (f) => d.metrics.invalidTraceContext('outbound', f) }),
    propagationDoctorFilter(d.inflight, d.metrics),
    peerMetadataFilter({ service: config.service, version: config.serviceVersion }),
  );
  return new FilterChain(filters, d.onFilterError);
}
