/**
 * `GET /metrics`: the server's own Prometheus metrics (authentication failures by listener and
 * reason). Open like `/health` and `/ready` — it holds counters, never trace data — so a scraper
 * needs no credential (see README, "Security").
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';

export const prometheusRoutes: FastifyPluginAsync<{ registry: Registry }> = async (app, { registry }) => {
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
};
