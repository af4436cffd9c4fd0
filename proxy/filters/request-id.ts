import { randomUUID } from 'node:crypto';
import type { HttpFilter } from './types.js';

/** Ensures `x-request-id` (a UUID when the caller sent none), as Envoy does; echoed on the response. */
export const requestIdFilter = (): HttpFilter => ({
  name: 'request-id',
  onRequest(ex) {
    const v = ex.req.headers['x-request-id'];
    ex.requestId = typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : randomUUID();
    ex.headers['x-request-id'] = ex.requestId;
    return undefined;
  },
  // Envoy's always_set_request_id_in_response: callers can quote the id when reporting a problem.
  onResponse(ex, headers) {
    if (ex.requestId && headers['x-request-id'] === undefined) headers['x-request-id'] = ex.requestId;
  },
});
