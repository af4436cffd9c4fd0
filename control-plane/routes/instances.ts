import type { FastifyInstance, FastifyRequest } from 'fastify';
import { instanceIdSchema, registrationSchema, type Lease } from '../api.js';
import type { ControlPlane } from '../control-plane.js';
import { InvalidRequestError, issueLines } from '../errors.js';

/** Registration, heartbeat and deregistration (writes: token-guarded). */
export function instanceRoutes(o: { cp: ControlPlane; guard: (req: FastifyRequest) => Promise<void>; leaseTtlMs: number; heartbeatMs: number }) {
  return async (app: FastifyInstance) => {
    const idOf = (req: FastifyRequest) => {
      const r = instanceIdSchema.safeParse((req.params as { id: string }).id);
      if (!r.success) throw new InvalidRequestError('invalid instance id', issueLines(r.error.issues).map((p) => `id${p.slice(p.indexOf(':'))}`));
      return r.data;
    };
    app.put('/v1/instances/:id', { preHandler: o.guard }, async (req) => {
      const id = idOf(req);
      const r = registrationSchema.safeParse(req.body);
      if (!r.success) throw new InvalidRequestError('invalid registration', issueLines(r.error.issues));
      o.cp.heartbeat(id, r.data);
      const lease: Lease = { instance: id, ttlMs: o.leaseTtlMs, heartbeatMs: o.heartbeatMs };
      return lease;
    });
    app.delete('/v1/instances/:id', { preHandler: o.guard }, async (req, reply) => {
      o.cp.deregister(idOf(req));
      return reply.code(204).send();
    });
  };
}
