/** Liveness and readiness for orchestrators (Jaeger serves the same on its admin port). */
import type { FastifyPluginAsync } from 'fastify';

export const healthRoutes: FastifyPluginAsync<{ isReady: () => boolean; unreadyReason?: () => string | undefined }> = async (app, { isReady, unreadyReason }) => {
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_req, reply) => {
    if (!isReady()) return reply.code(503).send({ status: 'starting' });
    const reason = unreadyReason?.();
    if (reason !== undefined) return reply.code(503).send({ status: 'unavailable', reason });
    return { status: 'ready' };
  });
};
