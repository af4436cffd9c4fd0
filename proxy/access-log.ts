import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * One JSON line per finished request, Envoy's default access-log fields in snake_case plus the
 * trace and span id, so a log line leads to its trace. Times: `start_time` ISO-8601,
 * `duration` and `upstream_service_time` in ms; `-` where Envoy prints `-`.
 */
export interface AccessLogEntry {
  direction: 'inbound' | 'outbound';
  start_time: string;
  method: string;
  path: string;
  protocol: string;
  response_code: number;
  response_flags: string;
  bytes_received: number;
  bytes_sent: number;
  duration: number;
  upstream_service_time: number | '-';
  x_forwarded_for: string | '-';
  user_agent: string | '-';
  request_id: string;
  authority: string;
  upstream_host: string | '-';
  upstream_cluster: string | '-';
  /** The matched route's name (Envoy's %ROUTE_NAME%). */
  route_name: string | '-';
  downstream_remote_address: string;
  /** Inbound over mTLS: the caller's SPIFFE id (Envoy's %DOWNSTREAM_PEER_URI_SAN%). */
  downstream_peer_uri_san: string | '-';
  /** Its certificate's serial number, hex (Envoy's %DOWNSTREAM_PEER_SERIAL%). */
  downstream_peer_serial: string | '-';
  /** A TLS failure toward the upstream (Envoy's %UPSTREAM_TRANSPORT_FAILURE_REASON%). */
  upstream_transport_failure_reason: string | '-';
  trace_id: string;
  span_id: string;
  sampled: boolean;
}

export function createAccessLogger(dest?: DestinationStream): Logger {
  // No pid, hostname or time keys: start_time says when. (pino always writes `level`; an empty
  // level formatter makes it emit invalid JSON.)
  return pino({ base: null, timestamp: false }, dest ?? pino.destination({ dest: 1, sync: false }));
}

export function logRequest(logger: Logger, e: AccessLogEntry): void {
  logger.info(e);
}
