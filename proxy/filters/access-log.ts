import type { Logger } from 'pino';
import { logRequest } from '../access-log.js';
import type { HttpFilter } from './types.js';

/** Writes the access-log line once the exchange is over (also for aborted and locally answered requests). */
export function accessLogFilter(logger: Logger): HttpFilter {
  return {
    name: 'access-log',
    onComplete(ex) {
      const xff = ex.req.headers['x-forwarded-for'];
      const ua = ex.req.headers['user-agent'];
      logRequest(logger, {
        direction: ex.listener,
        start_time: new Date(ex.startMs).toISOString(),
        method: ex.method,
        path: ex.path,
        protocol: `HTTP/${ex.req.httpVersion}`,
        response_code: ex.status,
        response_flags: ex.responseFlags.length ? ex.responseFlags.join(',') : '-',
        bytes_received: ex.requestBytes,
        bytes_sent: ex.responseBytes,
        duration: Math.round(((ex.endMs ?? ex.startMs) - ex.startMs) * 1000) / 1000,
        upstream_service_time: ex.upstreamServiceTimeMs !== undefined ? Math.round(ex.upstreamServiceTimeMs * 1000) / 1000 : '-',
        x_forwarded_for: typeof xff === 'string' ? xff : '-',
        user_agent: typeof ua === 'string' ? ua : '-',
        request_id: ex.requestId,
        authority: ex.authority,
        upstream_host: ex.upstream?.port ? `${ex.upstream.host}:${ex.upstream.port}` : '-',
        route_name: ex.route ?? '-',
        upstream_cluster: ex.upstream?.cluster ?? '-',
        downstream_remote_address: `${ex.remoteAddress}:${ex.remotePort}`,
        downstream_peer_uri_san: ex.peerIdentity?.principal ?? '-',
        downstream_peer_serial: ex.peerIdentity?.serial ?? '-',
        upstream_transport_failure_reason: ex.transportFailureReason ?? '-',
        trace_id: ex.trace?.context.traceId ?? '',
        span_id: ex.trace?.context.spanId ?? '',
        sampled: ex.trace?.context.sampled ?? false,
      });
    },
  };
}
