/** Liveness and readiness for orchestrators (Jaeger serves the same on its admin port). */
import type { FastifyPluginAsync } from 'fastify';

export const healthRoutes: FastifyPluginAsync<{ isReady: () => boolean }> = async (app, { isReady }) => {
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_req, reply) => {
    if (!isReady()) return reply.code(503).send({ status: 'starting' });
    return { status: 'ready' };
  });
};
