import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.js';

/** `istioctl proxy-status` and the mesh page's topology; open reads (the UI polls them). */
export function statusRoutes(o: { cp: ControlPlane }) {
  return async (app: FastifyInstance) => {
    app.get('/health', async () => ({ status: 'ok' }));
    app.get('/v1/status', async () => o.cp.status());
    app.get('/v1/topology', async () => o.cp.topology());
  };
}
