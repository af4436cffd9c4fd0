import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyServerOptions } from 'fastify';
import { LEASE_TTL_MS } from './api.js';
import { buildControlPlaneApp } from './app.js';
import { ControlPlane } from './control-plane.js';

export interface ControlPlaneServerOptions {
  host: string;
  /** 0 = a free port. */
  port: number;
  /** Directory of the SQLite database (`meshtrace.db`, the all-in-one server's file name). */
  dataDir: string;
  token?: string;
  leaseTtlMs?: number;
  logger?: FastifyServerOptions['loggerInstance'];
}

export interface ControlPlaneServer {
  url: string;
  port: number;
  cp: ControlPlane;
  /** Ends held watches, stops listening, closes the database. Idempotent. */
  close(): Promise<void>;
}

/** `meshtrace control-plane`, and the all-in-one server's `--control-plane-port`. */
export async function startControlPlane(o: ControlPlaneServerOptions): Promise<ControlPlaneServer> {
  mkdirSync(o.dataDir, { recursive: true });
  const leaseTtlMs = o.leaseTtlMs ?? LEASE_TTL_MS;
  const cp = new ControlPlane({ dbPath: join(o.dataDir, 'meshtrace.db'), leaseTtlMs });
  let app;
  try {
    app = await buildControlPlaneApp({ cp, token: o.token, leaseTtlMs, logger: o.logger });
    await app.listen({ host: o.host, port: o.port });
  } catch (err) {
    cp.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const h = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host.includes(':') ? `[${o.host}]` : o.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${h}:${port}`,
    port,
    cp,
    close: () => (closing ??= (async () => {
      cp.registry.bump(); // answer held watches now
      const force = setTimeout(() => app.server.closeAllConnections(), 2_000);
      try { await app.close(); } finally { clearTimeout(force); cp.close(); }
    })()),
  };
}
