import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MAX_WATCH_MS, registrationSchema } from '../api.js';
import type { ControlPlane } from '../control-plane.js';
import { InvalidRequestError, issueLines } from '../errors.js';

const watchQuerySchema = z.object({
  service: registrationSchema.shape.service,
  /** The watching sidecar's instance id: its own registration (mTLS mode) shapes its config (auto mTLS). */
  instance: z.string().max(200).optional(),
  /** The epoch and revision the sidecar last applied; absent = answer at once. */
  epoch: z.string().optional(),
  revision: z.coerce.number().int().min(0).optional(),
  waitMs: z.coerce.number().int().min(0).max(MAX_WATCH_MS).default(MAX_WATCH_MS),
});

/**
 * The long-poll watch (resume by version): a sidecar passes what it has; if that is not current
 * (another revision, or another epoch: the control plane restarted) it gets the snapshot at once,
 * else the request waits for the next change or `waitMs` and then answers the (same) snapshot.
 * Open to reads: the snapshot holds addresses and routing, no secrets (see the threat model).
 */
export function watchRoutes(o: { cp: ControlPlane }) {
  return async (app: FastifyInstance) => {
    app.get('/v1/watch', async (req) => {
      const r = watchQuerySchema.safeParse(req.query);
      if (!r.success) throw new InvalidRequestError('invalid watch parameters', issueLines(r.error.issues));
      const q = r.data;
      const current = () => q.epoch === o.cp.epoch && q.revision === o.cp.registry.revision;
      if (current() && q.waitMs > 0) {
        const closed = new AbortController();
        const onClose = () => closed.abort();
        req.raw.socket.once('close', onClose);
        try { await o.cp.registry.waitForChange(q.waitMs, closed.signal); } finally { req.raw.socket.off('close', onClose); }
      }
      return o.cp.snapshot(q.service, q.instance);
    });
  };
}
