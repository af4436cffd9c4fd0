import type { HttpFilter } from './types.js';

/**
 * Appends the downstream address to `X-Forwarded-For` and sets `X-Forwarded-Proto` when absent
 * (the listeners speak plain HTTP). Inbound only: on the outbound side the client is the local app.
 */
export const forwardedFilter = (): HttpFilter => ({
  name: 'x-forwarded',
  onRequest(ex) {
    const addr = ex.remoteAddress;
    const prior = ex.headers['x-forwarded-for'];
    const list = Array.isArray(prior) ? prior.join(', ') : prior;
    if (addr) ex.headers['x-forwarded-for'] = list ? `${list}, ${addr}` : addr;
    if (!ex.headers['x-forwarded-proto']) ex.headers['x-forwarded-proto'] = 'http';
    return undefined;
  },
});
