/**
 * The mesh control plane inside the all-in-one server (`--control-plane-port`), and the two read
 * routes the UI's mesh page uses on the query port (`/api/ext/mesh/status`, `/api/ext/mesh/topology`),
 * so the page needs no second origin. Kept out of server.ts, which only calls these.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { startControlPlane, type ControlPlaneServer } from '../control-plane/server.js';
import { ConfigError, type AllInOneConfig } from './config.js';

/**
 * Starts it unless `--control-plane-port off`. The default port (15010) taken is a warning, not a
 * failure: a second all-in-one on one machine (tests, a second checkout) still runs its trace
 * store; a port given explicitly must be free, like every other listener's.
 */
export async function startAllInOneControlPlane(config: AllInOneConfig, given: { controlPlanePort?: unknown }, env: NodeJS.ProcessEnv, logger: Logger): Promise<ControlPlaneServer | undefined> {
  if (config.controlPlanePort === null) return undefined;
  let token = env['MESHTRACE_MESH_TOKEN'] || undefined;
  if (config.meshTokenFile) {
    try { token = readFileSync(config.meshTokenFile, 'utf8').trim() || undefined; } catch (err) {
      throw new ConfigError([`--mesh-token-file (MESHTRACE_MESH_TOKEN_FILE): cannot read ${config.meshTokenFile}: ${(err as Error).message}`]);
    }
  }
  const explicit = given.controlPlanePort !== undefined || env['MESHTRACE_CONTROL_PLANE_PORT'] !== undefined;
  if (!token && !['127.0.0.1', '::1', 'localhost'].includes(config.host)) {
    logger.warn({ host: config.host }, 'the mesh control plane accepts registrations and config changes from anyone who reaches it: set MESHTRACE_MESH_TOKEN or --mesh-token-file, or --host 127.0.0.1');
  }
  try {
    return await startControlPlane({ host: config.host, port: config.controlPlanePort, dataDir: config.dataDir, token, logger: logger.child({ component: 'control-plane' }) });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
    if (explicit) throw new ConfigError([`--control-plane-port (MESHTRACE_CONTROL_PLANE_PORT): cannot listen on ${config.host}:${config.controlPlanePort}: ${(err as Error).message}`]);
    logger.warn({ port: config.controlPlanePort }, `control plane not started: port ${config.controlPlanePort} is taken (set --control-plane-port to another port, or off)`);
    return undefined;
  }
}

/** Read-only mesh routes on the query API for the UI; 404 while no control plane runs. */
export function meshApiPlugin(get: () => ControlPlaneServer | undefined) {
  return async (scope: FastifyInstance) => {
    const cp = () => {
      const s = get();
      if (!s) throw Object.assign(new Error('no control plane in this server (--control-plane-port off, or its port was taken)'), { statusCode: 404 });
      return s.cp;
    };
    scope.get('/api/ext/mesh/status', async () => ({ ...cp().status(), controlPlaneUrl: get()!.url }));
    scope.get('/api/ext/mesh/topology', async () => cp().topology());
  };
}
