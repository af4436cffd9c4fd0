import type { ProxyConfig } from '../config.js';
import type { ProxyMetrics } from '../metrics.js';
import type { Exchange, HttpFilter } from './types.js';

/**
 * Istio standard metrics for every exchange. Inbound reports as `destination`, outbound as
 * `source`; the far side's workload comes from peer metadata (`unknown` outside the mesh).
 */
export function statsFilter(c: ProxyConfig, metrics: ProxyMetrics): HttpFilter {
  return {
    name: 'istio-stats',
    onComplete(ex) {
      metrics.observe({
        labels: istioLabels(c, ex),
        durationMs: (ex.endMs ?? ex.startMs) - ex.startMs,
        requestBytes: ex.requestBytes,
        responseBytes: ex.responseBytes,
      });
    },
  };
}

export function istioLabels(c: ProxyConfig, ex: Exchange) {
  const inbound = ex.listener === 'inbound';
  const ct = ex.req.headers['content-type'];
  return {
    reporter: inbound ? 'destination' : 'source',
    source_workload: inbound ? ex.peer.workload : c.service,
    source_version: inbound ? ex.peer.version : c.serviceVersion,
    destination_service: inbound ? c.service : ex.upstream?.service ?? 'unknown',
    destination_workload: inbound ? c.service : ex.peer.workload,
    destination_version: inbound ? c.serviceVersion : ex.peer.version,
    request_protocol: typeof ct === 'string' && ct.startsWith('application/grpc') ? 'grpc' : 'http',
    response_code: String(ex.status),
    response_flags: ex.responseFlags.length ? ex.responseFlags.join(',') : '-',
    // Destination reporter: mutual_tls when the caller's connection was mTLS (Istio's meaning).
    connection_security_policy: inbound && ex.peerIdentity ? 'mutual_tls' : 'none',
  };
}
