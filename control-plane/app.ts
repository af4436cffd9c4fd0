import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { HEARTBEAT_INTERVAL_MS, LEASE_TTL_MS, type ErrorBody } from './api.js';
import { tokenGuard } from './auth.js';
import type { ControlPlane } from './control-plane.js';
import { configRoutes } from './routes/config.js';
import { instanceRoutes } from './routes/instances.js';
import { statusRoutes } from './routes/status.js';
import { watchRoutes } from './routes/watch.js';

export interface ControlPlaneAppDeps {
  cp: ControlPlane;
  /** Required on writes when set. */
  token?: string;
  leaseTtlMs?: number;
  heartbeatMs?: number;
  logger?: FastifyServerOptions['loggerInstance'];
}

/**
 * The control plane's HTTP API (control-plane/api.ts): one plugin per route group and the only
 * error handler, which maps typed errors (control-plane/errors.ts) to their status with the
 * problem list, and hides the message of anything else.
 */
export async function buildControlPlaneApp(d: ControlPlaneAppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(d.logger ? { loggerInstance: d.logger } : { logger: false }),
    // Every sidecar heartbeats once a second: no log line per request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 4 * 1024 * 1024,
  });
  app.setErrorHandler((err, req, reply) => {
    const e = err as { statusCode?: number; message: string; problems?: string[] };
    const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500;
    if (status >= 500) req.log.error({ err, url: req.url }, 'control plane request failed');
    const body: ErrorBody = { error: status >= 500 ? 'internal error' : e.message, ...(e.problems?.length ? { problems: e.problems } : {}) };
    return reply.code(status).send(body);
  });
  // The UI (another origin in the all-in-one server) reads status and topology; reads are open anyway.
  app.addHook('onSend', async (req, reply) => {
    if (req.method === 'GET') reply.header('access-control-allow-origin', '*');
  });
  const guard = tokenGuard(d.token);
  await app.register(statusRoutes({ cp: d.cp }));
  await app.register(instanceRoutes({ cp: d.cp, guard, leaseTtlMs: d.leaseTtlMs ?? LEASE_TTL_MS, heartbeatMs: d.heartbeatMs ?? HEARTBEAT_INTERVAL_MS }));
  await app.register(configRoutes({ cp: d.cp, guard }));
  await app.register(watchRoutes({ cp: d.cp }));
  return app;
}
