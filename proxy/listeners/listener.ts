import { createServer, type IncomingMessage, type Server, type ServerOptions } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { FilterChain } from '../filters/chain.js';
import type { Exchange } from '../filters/types.js';
import type { DownstreamRequest, DownstreamResponse } from '../http/downstream.js';
import { sendLocalReply } from '../http/forward.js';
import type { H1Pool } from '../http/h1-pool.js';
import { endToEndHeaders, framingError } from '../http/headers.js';
import { relayUpgrade } from '../http/upgrade.js';
import type { ProxyMetrics } from '../metrics.js';
import { peerOf, type InboundMtls } from '../mtls/inbound.js';
import { routeExchange } from '../traffic/router.js';
import { noteRequest } from '../young-generation.js';
import { H1FastPath, REQUEST_TIMEOUT_408 } from './h1-fast-path.js';

/**
 * An HTTP listener: one filter chain, the router at its end. Inbound and outbound listeners
 * differ only in their chains (see inbound.ts / outbound.ts).
 */
export interface ListenerOptions {
  name: 'inbound' | 'outbound';
  /**
   * `chain` and `timeoutMs` are read as each request starts: assigning new ones to this object
   * (a config reload, in one synchronous step) changes them for the requests that start
   * afterwards, while requests in flight finish on the chain and timeout they started with.
   */
  chain: FilterChain;
  /** Plaintext upstream connections (ISTIO_MUTUAL upstreams bring their own client). */
  dispatcher: H1Pool;
  timeoutMs: number;
  metrics: ProxyMetrics;
  /** Allow CONNECT tunnels (outbound: HTTPS through HTTP_PROXY). They are relayed, not traced. */
  allowConnect?: boolean;
  /** Inbound: mutual TLS termination (proxy/mtls/inbound.ts); absent = plaintext only, as before. */
  mtls?: InboundMtls;
  /** Config `downstream` (proxy/config.ts): request headers and keep-alive idle timeouts, ms, 0 = off. Fixed at creation. */
  downstream: { requestHeadersTimeoutMs: number; idleTimeoutMs: number };
  /**
   * Plaintext connections start on the fast path (proxy/listeners/h1-fast-path.ts) and move to
   * Node's HTTP server at the first request it does not take; false = Node's server for all.
   * Default: on, unless MESHTRACE_SIDECAR_FAST_PATH=0.
   */
  fastPath?: boolean;
}

/** The fast path's default: MESHTRACE_SIDECAR_FAST_PATH=0 turns it off (every request through Node's HTTP server). */
export const fastPathByDefault = (): boolean => process.env['MESHTRACE_SIDECAR_FAST_PATH'] !== '0';

/** Every downstream socket of a listener, including upgraded (WebSocket) and tunnelled ones the HTTP server no longer tracks. */
const openSockets = new WeakMap<Server, Set<Duplex>>();

/** Ends a listener's remaining connections (after the drain period), upgraded ones included. */
export function destroyConnections(server: Server): void {
  server.closeAllConnections();
  for (const s of openSockets.get(server) ?? []) s.destroy();
}

/** performance.now() in epoch ms, with sub-ms precision. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

function newExchange(name: 'inbound' | 'outbound', req: DownstreamRequest): Exchange {
  const host = req.headers['host'];
  return {
    listener: name,
    req,
    startMs: nowMs(),
    remoteAddress: req.socket.remoteAddress ?? '',
    remotePort: req.socket.remotePort ?? 0,
    peerIdentity: peerOf(req.socket),
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    authority: typeof host === 'string' ? host : '',
    headers: endToEndHeaders(req.headers),
    requestId: '',
    samplingRate: 1,
    peer: { workload: 'unknown', version: 'unknown' },
    responseFlags: [],
    status: 0,
    requestBytes: 0,
    responseBytes: 0,
    attributes: {},
  };
}

/** Node HTTP server options for config `downstream` (the listeners' and the admin server's). */
export function downstreamServerOptions({ requestHeadersTimeoutMs, idleTimeoutMs }: ListenerOptions['downstream']): ServerOptions {
  return {
    keepAliveTimeout: idleTimeoutMs,
    // No whole-request timeout from Node: a long upload or response is legitimate; the router's
    // timeout and the client decide.
    requestTimeout: 0,
    // Node measures it from the connection's start (a silent connection included) or a request's
    // first byte, and reports it as ERR_HTTP_REQUEST_TIMEOUT to `clientError` (answered 408).
    headersTimeout: requestHeadersTimeoutMs,
    // Node enforces headersTimeout only when it sweeps its connections, every 30 s by default, so a
    // slow client would keep its connection up to 30 s longer than configured; sweep at a quarter
    // of the timeout (at most once a second, at least every 50 ms).
    connectionsCheckingInterval: requestHeadersTimeoutMs > 0 ? Math.min(1000, Math.max(50, Math.floor(requestHeadersTimeoutMs / 4))) : 30_000,
  };
}

export function createListener(o: ListenerOptions): Server {
  const { metrics, name } = o;
  const server = createServer(downstreamServerOptions(o.downstream));
  // Node's own `connection` listener: connections reach it through the fast path or the mTLS
  // sniffer, which decide first.
  const own = server.listeners('connection');
  if (own.length !== 1) throw new Error(`expected the HTTP server's own connection listener only, found ${own.length}`);
  const nodeHttp = own[0] as (socket: Socket) => void;
  server.removeListener('connection', nodeHttp);
  const toHttp = (socket: Socket) => { nodeHttp.call(server, socket); };
  const fast = (o.fastPath ?? fastPathByDefault())
    ? new H1FastPath({
      onRequest: (req, res) => onRequest(req, res),
      handOff: (socket, reason) => { metrics.fastPathHandOff(name, reason); toHttp(socket); },
      ...o.downstream,
    })
    : undefined;
  const plaintext = fast ? (socket: Socket) => fast.accept(socket) : toHttp;
  if (o.mtls) o.mtls.attach(server, toHttp, plaintext);
  else server.on('connection', plaintext);
  if (fast) {
    // Closing (drain): Node's server closes its idle connections; the fast path's too.
    const closeIdle = server.closeIdleConnections.bind(server);
    server.closeIdleConnections = () => { closeIdle(); fast.closeIdle(); };
  }
  const active = metrics.activeRequests(name);
  const conns = metrics.activeConnections(name);

  const sockets = new Set<Duplex>();
  openSockets.set(server, sockets);
  server.on('connection', (socket: Duplex) => {
    conns.inc();
    sockets.add(socket);
    socket.once('close', () => { conns.dec(); sockets.delete(socket); });
  });

  const onRequest = (req: DownstreamRequest, res: DownstreamResponse): void => {
    const { chain, timeoutMs } = o;
    const ex = newExchange(name, req);
    active.inc();
    let completed = false;
    const complete = () => {
      if (completed) return;
      completed = true;
      ex.endMs = nowMs();
      // Closed before the response was complete, and not because the upstream reset: the client left.
      if (!res.writableFinished && !ex.responseFlags.includes('UR') && !ex.responseFlags.includes('DC')) ex.responseFlags.push('DC');
      active.dec();
      chain.complete(ex);
      noteRequest();
    };
    res.once('close', complete);
    // A request line without an HTTP version (`GET /`): Node's parser takes it as HTTP/0.9 and
    // would have it forwarded as an HTTP/1.1 request nobody sent. Envoy refuses it with 400.
    const bad = req.httpVersionMajor < 1 ? 'no HTTP version in the request line' : framingError(req.headers);
    if (bad) {
      ex.requestId = '-';
      res.shouldKeepAlive = false;
      sendLocalReply(ex, res, chain, { status: 400, body: `bad request: ${bad}` });
      return;
    }
    const reply = chain.request(ex);
    if (reply) {
      // Drain (bounded by the client) so keep-alive survives a rejected request with a body.
      req.resume();
      sendLocalReply(ex, res, chain, reply);
      return;
    }
    try {
      routeExchange(ex, req, res, chain, { dispatcher: o.dispatcher, timeoutMs });
    } catch (err) {
      ex.error = (err as Error).message;
      if (!res.headersSent) sendLocalReply(ex, res, chain, { status: 500, body: 'proxy error' });
      else res.destroy();
    }
  };
  server.on('request', onRequest);

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { chain } = o;
    const ex = newExchange(name, req);
    active.inc();
    relayUpgrade(ex, req, socket, head, chain, () => {
      ex.endMs = nowMs();
      active.dec();
      chain.complete(ex);
    });
  });

  if (o.allowConnect) {
    server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(req.url ?? '');
      // A CONNECT line without an HTTP version is refused like any other (see the request handler).
      if (!m || req.httpVersionMajor < 1) { socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n'); return; }
      const up = connect({ host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) });
      let established = false;
      up.once('connect', () => {
        established = true;
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length) up.write(head);
        socket.pipe(up);
        up.pipe(socket);
      });
      up.on('error', () => { if (!established) socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\r\n'); else socket.destroy(); });
      socket.on('error', () => up.destroy());
      up.once('close', () => socket.destroy());
      socket.once('close', () => up.destroy());
    });
  }

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Malformed requests (including Content-Length + Transfer-Encoding): refuse, close.
    if (err.code === 'ECONNRESET' || !socket.writable) { socket.destroy(); return; }
    // The headers did not arrive within downstream.requestHeadersTimeoutMs (Node's own answer is 408 too).
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.end(REQUEST_TIMEOUT_408);
      return;
    }
    socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: 11\r\n\r\nbad request');
  });
  return server;
}
