import type { FastifyInstance, FastifyRequest } from 'fastify';
import { applyRequestSchema, rollbackRequestSchema } from '../api.js';
import type { ControlPlane } from '../control-plane.js';
import { InvalidRequestError, issueLines } from '../errors.js';

/** The versioned mesh config: reads open, apply and rollback token-guarded. */
export function configRoutes(o: { cp: ControlPlane; guard: (req: FastifyRequest) => Promise<void> }) {
  return async (app: FastifyInstance) => {
    app.get('/v1/config', async () => o.cp.config);
    app.get('/v1/config/history', async () => ({ versions: o.cp.history() }));
    app.post('/v1/config', { preHandler: o.guard }, async (req, reply) => {
      const r = applyRequestSchema.safeParse(req.body);
      if (!r.success) throw new InvalidRequestError('expected { "config": { … } }', issueLines(r.error.issues));
      return reply.code(201).send({ version: o.cp.apply(r.data.config) });
    });
    app.post('/v1/config/rollback', { preHandler: o.guard }, async (req, reply) => {
      const r = rollbackRequestSchema.safeParse(req.body);
      if (!r.success) throw new InvalidRequestError('expected { "version": N }', issueLines(r.error.issues));
      return reply.code(201).send({ version: o.cp.rollback(r.data.version) });
    });
  };
}
