/**
 * A plain `node:http` server with the Component lifecycle the receivers need: `start` listens
 * (and fails cleanly, e.g. on EADDRINUSE), `shutdown` stops accepting, lets in-flight requests
 * finish (their spans get written and answered; a request still uploading after a grace period is
 * cut off), then closes the idle keep-alive connections.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

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
}): HttpListener {
  const { logger } = opts;
  const inFlight = new Set<Promise<void>>();
  let closing = false;

  const server = http.createServer((req, res) => {
    // During shutdown, tell keep-alive clients not to reuse this connection.
    if (closing) res.setHeader('Connection', 'close');
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
      if (!started || closing) return;
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // A client still uploading could hold shutdown for the whole request timeout: after a grace
      // period its connection is cut (its spans were never acknowledged, so it will retry).
      let graceOver = false;
      const grace = setTimeout(() => {
        graceOver = true;
        server.closeAllConnections();
      }, opts.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS);
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      clearTimeout(grace);
      // What is left are keep-alive connections that went idle after their last response.
      if (!graceOver) server.closeAllConnections();
      await closed;
    },
    address() {
      const a = server.address() as AddressInfo | null;
      if (!a) throw new Error('the receiver is not listening');
      return { host: a.address, port: a.port };
    },
  };
}
