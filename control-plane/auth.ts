import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from './errors.js';

/**
 * The mesh token guards every write (registration, heartbeat, deregistration, apply, rollback).
 * Compared as SHA-256 digests with timingSafeEqual: equal lengths, and no timing signal about
 * how much of a guess matched. No token configured = writes are open (a local dev mesh).
 */
export function tokenGuard(token: string | undefined): (req: FastifyRequest) => Promise<void> {
  const want = token ? createHash('sha256').update(token).digest() : undefined;
  return async (req) => {
    if (!want) return;
    const h = req.headers.authorization;
    const got = typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7) : undefined;
    if (got === undefined || !timingSafeEqual(createHash('sha256').update(got).digest(), want)) throw new UnauthorizedError();
  };
}
