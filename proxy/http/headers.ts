import type { IncomingHttpHeaders } from 'node:http';
import type { OutHeaders } from '../filters/types.js';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1, plus the legacy ones proxies strip): they describe one
 * connection and must not be forwarded. `expect` is answered by this proxy's own server.
 */
export const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'http2-settings', 'expect',
]);

/** A copy of `h` without hop-by-hop headers, nor those the Connection header names. */
export function endToEndHeaders(h: IncomingHttpHeaders | Record<string, string | string[] | undefined>): OutHeaders {
  const out: OutHeaders = {};
  let named: Set<string> | undefined;
  const conn = h['connection'];
  if (conn) {
    const v = Array.isArray(conn) ? conn.join(',') : conn;
    named = new Set(v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
  }
  for (const k in h) {
    const v = h[k];
    if (v === undefined || HOP_BY_HOP.has(k) || named?.has(k)) continue;
    out[k] = v;
  }
  return out;
}

/**
 * Request smuggling guard: Node's parser already refuses Content-Length together with
 * Transfer-Encoding; this is the second line for servers built with `insecureHTTPParser`.
 * Returns an error message, or undefined when framing is unambiguous.
 */
export function framingError(h: IncomingHttpHeaders): string | undefined {
  const te = h['transfer-encoding'];
  const cl = h['content-length'];
  if (te !== undefined && cl !== undefined) return 'both Content-Length and Transfer-Encoding';
  if (te !== undefined && !/(^|,)\s*chunked\s*$/i.test(te)) return 'Transfer-Encoding must end with chunked';
  if (cl !== undefined && !/^\d+$/.test(cl)) return 'invalid Content-Length';
  return undefined;
}
