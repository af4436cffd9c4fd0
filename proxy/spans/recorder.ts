import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { Exchange } from '../filters/types.js';
import { MeshEvent } from '../traffic/mesh-trace.js';
import { ApiSpanKind, SpanStatus, type AttributeValue, type Resource, type Scope, type SpanEvent, type SpanInit } from './span.js';

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
    if (ex.upstream.tls) {
      a['meshtrace.upstream.tls'] = 'ISTIO_MUTUAL';
      const principal = ex.upstream.tls.principalOf(ex.upstream.host, ex.upstream.port);
      if (principal) a['meshtrace.upstream.principal'] = principal;
    }
    if (ex.transportFailureReason) a['meshtrace.upstream.transport_failure_reason'] = ex.transportFailureReason;
  }
  Object.assign(a, ex.attributes);
  const events = meshEvents(ex);
  if (events) searchTags(events, a);
  // Tries are recorded only once a retry was decided (even one the route timeout then cut short).
  if (ex.attempts) a['meshtrace.retried'] = true;
  const failed = ex.status >= 500 || (ex.status === 0 && ex.responseFlags.length > 0 && !ex.responseFlags.includes('DC'));
  if (ex.error) a['error.type'] = ex.error;
  else if (ex.status >= 500) a['error.type'] = String(ex.status);
  return {
    traceId: t.context.traceId,
    // A retried call: the logical span over its tries (the first try keeps context.spanId).
    spanId: t.logicalSpanId ?? t.context.spanId,
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
    events,
  };
}

/**
 * The exchange's mesh events: those the router recorded, plus the route decision (built here,
 * only for recorded spans, so routing costs nothing per request) and a timeout that the plain
 * forward path ran into (it keeps no per-request hooks).
 */
function meshEvents(ex: Exchange): SpanEvent[] | undefined {
  let events = ex.events;
  const r = ex.trafficRoute;
  if (r) {
    const route: SpanEvent = {
      name: MeshEvent.route, timeMs: ex.startMs,
      attributes: {
        'meshtrace.route.name': r.route.name ?? `routes.${r.index}`, 'meshtrace.route.rule': `routes.${r.index}`,
        'meshtrace.route.match': r.matchText, 'meshtrace.route.destinations': r.destinationsText,
        'meshtrace.destination': ex.destination ?? '-',
      },
    };
    events = events ? [route, ...events] : [route];
  }
  if (ex.responseFlags.includes('UT') && !events?.some((e) => e.name === MeshEvent.timeout) && !ex.attempts) {
    const t: SpanEvent = { name: MeshEvent.timeout, timeMs: ex.endMs ?? ex.startMs, attributes: { 'meshtrace.timeout.kind': 'route', 'meshtrace.timeout.ms': ex.timeoutMs ?? 0 } };
    events = events ? [...events, t] : [t];
  }
  return events;
}

/**
 * Indexed span attributes that say the mesh acted, so that a tag search (Jaeger's too) finds
 * such traces: `meshtrace.fault=delay|abort|delay,abort`, `meshtrace.overflow=true`,
 * `meshtrace.ejection=true`, `meshtrace.no_healthy_upstream=true`, `meshtrace.timeout=route|per_try`.
 */
function searchTags(events: readonly SpanEvent[], a: Record<string, AttributeValue>): void {
  let fault = '';
  for (const e of events) {
    switch (e.name) {
      case MeshEvent.faultDelay: fault = fault ? `${fault},delay` : 'delay'; break;
      case MeshEvent.faultAbort: fault = fault ? `${fault},abort` : 'abort'; break;
      case MeshEvent.overflow: a['meshtrace.overflow'] = true; break;
      case MeshEvent.ejection: a['meshtrace.ejection'] = true; break;
      case MeshEvent.noHealthyUpstream: a['meshtrace.no_healthy_upstream'] = true; break;
      case MeshEvent.timeout: a['meshtrace.timeout'] = e.attributes['meshtrace.timeout.kind']; break;
    }
  }
  if (fault) a['meshtrace.fault'] = fault;
}

/**
 * Try `i` of a retried exchange, as a CLIENT span under the exchange's logical span (OpenTelemetry
 * HTTP client conventions: one span per physical request, `http.request.resend_count` from the
 * second on). The last try ends with the exchange and takes its outcome when it had none of its own.
 * A call that was not retried has no tries recorded: its one span is the call.
 */
export function attemptToSpan(ex: Exchange, i: number): SpanInit | undefined {
  const t = ex.trace;
  const at = ex.attempts?.[i];
  if (!t || !at) return undefined;
  const last = i === ex.attempts!.length - 1;
  const q = ex.path.indexOf('?');
  const path = q === -1 ? ex.path : ex.path.slice(0, q);
  const a: Record<string, AttributeValue> = {
    'http.request.method': ex.method,
    'url.path': path,
    'url.scheme': ex.upstream?.tls ? 'https' : 'http',
    'server.address': at.host,
    'server.port': at.port,
    'upstream_cluster': ex.upstream?.cluster ?? '-',
    'component': 'proxy',
    'guid:x-request-id': ex.requestId,
    'meshtrace.attempt': i + 1,
  };
  if (isIP(at.host)) { a['network.peer.address'] = at.host; a['network.peer.port'] = at.port; }
  if (ex.upstream) a['peer.service'] = ex.upstream.service;
  const tls = ex.upstream?.tls;
  if (tls) {
    a['meshtrace.upstream.tls'] = 'ISTIO_MUTUAL';
    const principal = tls.principalOf(at.host, at.port);
    if (principal) a['meshtrace.upstream.principal'] = principal;
  }
  if (i > 0) {
    a['http.request.resend_count'] = i;
    a['meshtrace.retry.backoff_ms'] = at.backoffMs;
  }
  if (at.status) a['http.response.status_code'] = at.status;
  let flag = at.flag;
  let errorType = at.errorType;
  if (last && !flag) {
    // The answering try: a reset mid-body or a client gone is the exchange's outcome.
    if (ex.responseFlags.includes('UR')) { flag = 'UR'; errorType ??= ex.error; }
    else if (ex.responseFlags.includes('DC')) flag = 'DC';
  }
  a['response_flags'] = flag ?? '-';
  if (errorType) a['error.type'] = errorType;
  if (at.events) searchTags(at.events, a);
  const failed = at.status >= 500 || (at.status === 0 && flag !== undefined && flag !== 'DC') || flag === 'UR';
  return {
    traceId: t.context.traceId,
    spanId: at.spanId,
    parentSpanId: t.logicalSpanId ?? t.context.spanId,
    parentIsRemote: false,
    traceState: t.context.traceState,
    name: ex.route ? `${ex.method} ${ex.route}` : `${ex.method} ${path}`,
    kind: ApiSpanKind.CLIENT,
    startMs: at.startMs,
    endMs: at.endMs || (ex.endMs ?? at.startMs),
    attributes: a,
    statusCode: failed ? SpanStatus.ERROR : SpanStatus.UNSET,
    statusMessage: failed ? errorType ?? `HTTP ${at.status}` : undefined,
    events: at.events,
  };
}

function authorityParts(authority: string): { host?: string; port?: number } {
  const m = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(authority);
  if (!m) return {};
  return { host: m[1] || undefined, port: m[2] ? Number(m[2]) : undefined };
}
