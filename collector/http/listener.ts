/**
 * A plain `node:http` server with the Component lifecycle the receivers need: `start` listens
 * (and fails cleanly, e.g. on EADDRINUSE), `shutdown` drains like Envoy does:
 *  1. stop accepting connections (a new connect is refused: the client knows nothing was received);
 *  2. answer every request already received — its spans are written (200) or refused (503) — with
 *     `Connection: close`, so the client does not reuse the connection;
 *  3. close a keep-alive connection with no request in progress only after it has stayed quiet for
 *     a moment. Closing it at once (what `server.close()` does since Node 19) resets a client that
 *     was already sending its next request: it sees ECONNRESET/EPIPE for a request it had sent.
 * A request still uploading after a grace period is cut off (it was never acknowledged).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { TlsSource } from '../../security/tls.js';

const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
/**
 * How long an idle keep-alive connection must stay quiet during shutdown before it is closed. A
 * client pipelining requests sends the next one within microseconds of the last answer; one that
 * has been silent this long is between batches.
 */
const SHUTDOWN_QUIET_MS = 250;

export interface HttpListener {
  start(): Promise<void>;
  shutdown(): Promise<void>;
  /** The bound address; valid after `start`. */
  address(): { host: string; port: number };
}

export function createHttpListener(opts: {
  host: string;
  port: number;
  /** Must not throw; errors it does not handle are logged and answered with a bare 500. */
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  logger: Logger;
  /** How long `shutdown` waits for in-flight requests before cutting their connections, ms. */
  shutdownGraceMs?: number;
  /**
   * Serve HTTPS with this material (reloaded when its files change); `mutual`: require a client
   * certificate from the source's client CA, when it has one.
   */
  tls?: { source: TlsSource; mutual: boolean };
}): HttpListener {
  const { logger } = opts;
  const inFlight = new Set<Promise<void>>();
  /** Responses not yet sent, so shutdown can mark them `Connection: close`. */
  const unanswered = new Set<ServerResponse>();
  /** Requests received and not yet answered, per connection; absent = idle. */
  const busy = new Map<Socket, number>();
  const connections = new Set<Socket>();
  let closing = false;

  const closeWhenQuiet = (socket: Socket) => {
    const timer = setTimeout(() => {
      // A request that arrived meanwhile is answered with `Connection: close`; Node closes then.
      if (!busy.has(socket)) socket.end();
    }, SHUTDOWN_QUIET_MS);
    socket.once('close', () => clearTimeout(timer));
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    unanswered.add(res);
    // During shutdown, tell keep-alive clients not to reuse this connection.
    if (closing) res.setHeader('Connection', 'close');
    res.once('close', () => {
      unanswered.delete(res);
      const n = (busy.get(socket) ?? 1) - 1;
      if (n > 0) return void busy.set(socket, n);
      busy.delete(socket);
      if (closing && !socket.destroyed) closeWhenQuiet(socket);
    });
    const p = opts.handler(req, res).catch((err: unknown) => {
      logger.error({ err }, 'unhandled error in request handler');
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end();
      } else {
        res.destroy();
      }
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  const tls = opts.tls;
  const server: http.Server = tls ? https.createServer(tls.source.serverOptions(tls.mutual), onRequest) : http.createServer(onRequest);
  const detachTls = tls?.source.attach(server as https.Server, tls.mutual);
  // TCP connections still in (or stuck before) their TLS handshake: the grace period cuts them too,
  // or one silent client would hold shutdown until the handshake timeout.
  const handshaking = new Set<Socket>();
  if (tls) {
    server.on('connection', (socket: Socket) => {
      handshaking.add(socket);
      socket.once('close', () => handshaking.delete(socket));
    });
  }
  // Requests come on the TLS socket, not the TCP one under it: track what `req.socket` will be.
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => {
      connections.delete(socket);
      busy.delete(socket);
    });
  });

  let started = false;
  return {
    start() {
      return new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        server.once('error', onError);
        server.listen(opts.port, opts.host, () => {
          server.off('error', onError);
          server.on('error', (err) => logger.error({ err }, 'HTTP server error'));
          started = true;
          resolve();
        });
      });
    },
    async shutdown() {
      detachTls?.();
      if (!started || closing) return;
      closing = true;
      // net.Server's close, not http.Server's: stop listening without resetting idle keep-alive
      // connections (see the module comment). It calls back once every connection has closed.
      const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
      for (const res of unanswered) if (!res.headersSent) res.setHeader('Connection', 'close');
      for (const socket of connections) if (!busy.has(socket)) closeWhenQuiet(socket);
      // A client still uploading could hold shutdown for the whole request timeout: after a grace
      // period its connection is cut (its spans were never acknowledged, so it will retry).
      const grace = setTimeout(() => {
        server.closeAllConnections();
        for (const socket of handshaking) socket.destroy();
      }, opts.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS);
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      // Every answer said `Connection: close`; the connections left close when quiet.
      await closed;
      clearTimeout(grace);
    },
    address() {
      const a = server.address() as AddressInfo | null;
      if (!a) throw new Error('the receiver is not listening');
      return { host: a.address, port: a.port };
    },
  };
}
