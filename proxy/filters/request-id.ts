import { randomUUID } from 'node:crypto';
import type { HttpFilter } from './types.js';

/** Ensures `x-request-id` (a UUID when the caller sent none), as Envoy does. Forwarded both ways. */
export const requestIdFilter = (): HttpFilter => ({
  name: 'request-id',
  onRequest(ex) {
    const v = ex.req.headers['x-request-id'];
    ex.requestId = typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : randomUUID();
    ex.headers['x-request-id'] = ex.requestId;
    return undefined;
  },
});
