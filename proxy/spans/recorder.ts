import { hostname } from 'node:os';
import type { Exchange } from '../filters/types.js';
import { ApiSpanKind, SpanStatus, type AttributeValue, type Resource, type Scope, type SpanInit } from './span.js';

/**
 * Turns a finished exchange into a SERVER (inbound) or CLIENT (outbound) span with OpenTelemetry
 * HTTP semantic-convention attributes plus Envoy's `upstream_cluster` and `response_flags`.
 * Status ERROR on 5xx and on failures without a response (connection failure, timeout, reset).
 */
export const PROXY_SCOPE: Scope = { name: 'meshtrace-proxy', version: '0.1.0' };

export function proxyResource(service: string, version: string, instanceId?: string): Resource {
  return {
    attributes: {
      'service.name': service,
      'service.version': version,
      'service.instance.id': instanceId ?? `${hostname()}-${process.pid}`,
      'telemetry.sdk.name': 'meshtrace-proxy',
      'telemetry.sdk.language': 'nodejs',
      'telemetry.sdk.version': '0.1.0',
    },
  };
}

export function exchangeToSpan(ex: Exchange): SpanInit | undefined {
  const t = ex.trace;
  if (!t) return undefined;
  const q = ex.path.indexOf('?');
  const path = q === -1 ? ex.path : ex.path.slice(0, q);
  const a: Record<string, AttributeValue> = {
    'http.request.method': ex.method,
    'url.path': path,
    'url.scheme': 'http',
    'network.protocol.version': ex.req.httpVersion,
    'upstream_cluster': ex.upstream?.cluster ?? '-',
    'response_flags': ex.responseFlags.length ? ex.responseFlags.join(',') : '-',
    'http.request.body.size': ex.requestBytes,
    'http.response.body.size': ex.responseBytes,
    'guid:x-request-id': ex.requestId,
    'component': 'proxy',
  };
  if (q !== -1) a['url.query'] = ex.path.slice(q + 1);
  if (ex.status) a['http.response.status_code'] = ex.status;
  if (ex.route) a['http.route'] = ex.route;
  const ua = ex.req.headers['user-agent'];
  if (typeof ua === 'string') a['user_agent.original'] = ua;
  if (ex.remoteAddress) a['network.peer.address'] = ex.remoteAddress;
  if (ex.remotePort) a['network.peer.port'] = ex.remotePort;
  if (ex.listener === 'inbound') {
    const { host, port } = authorityParts(ex.authority);
    if (host) a['server.address'] = host;
    if (port) a['server.port'] = port;
    if (ex.peer.workload !== 'unknown') a['client.service'] = ex.peer.workload;
    if (ex.peerIdentity) {
      a['meshtrace.peer.principal'] = ex.peerIdentity.principal;
      a['connection_security_policy'] = 'mutual_tls';
    }
  } else if (ex.upstream) {
    // Port 0: no endpoint was chosen (overflow, none healthy).
    if (ex.upstream.port) {
      a['server.address'] = ex.upstream.host;
      a['server.port'] = ex.upstream.port;
    }
    a['peer.service'] = ex.upstream.service;
    if (ex.upstream.tls) a['meshtrace.upstream.tls'] = 'ISTIO_MUTUAL';
    if (ex.transportFailureReason) a['meshtrace.upstream.transport_failure_reason'] = ex.transportFailureReason;
  }
  Object.assign(a, ex.attributes);
  const failed = ex.status >= 500 || (ex.status === 0 && ex.responseFlags.length > 0 && !ex.responseFlags.includes('DC'));
  if (ex.error) a['error.type'] = ex.error;
  else if (ex.status >= 500) a['error.type'] = String(ex.status);
  return {
    traceId: t.context.traceId,
    spanId: t.context.spanId,
    parentSpanId: t.parent?.spanId ?? '',
    parentIsRemote: true,
    traceState: t.context.traceState,
    name: ex.route ? `${ex.method} ${ex.route}` : `${ex.method} ${path}`,
    kind: ex.listener === 'inbound' ? ApiSpanKind.SERVER : ApiSpanKind.CLIENT,
    startMs: ex.startMs,
    endMs: ex.endMs ?? ex.startMs,
    attributes: a,
    statusCode: failed ? SpanStatus.ERROR : SpanStatus.UNSET,
    statusMessage: failed ? ex.error ?? `HTTP ${ex.status}` : undefined,
  };
}

function authorityParts(authority: string): { host?: string; port?: number } {
  const m = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(authority);
  if (!m) return {};
  return { host: m[1] || undefined, port: m[2] ? Number(m[2]) : undefined };
}
