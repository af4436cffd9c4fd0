/**
 * CORS for receivers that browser SDKs post to. Simple requests get the allow-origin header;
 * preflights (OPTIONS with `Access-Control-Request-Method`) are answered here. A disallowed
 * origin gets no CORS headers (the browser then blocks the call), as rs/cors in the OTel Collector.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Cors {
  /** Adds the response headers for the request's origin, if any and allowed. */
  apply(req: IncomingMessage, res: ServerResponse): void;
  /** True when `req` is a CORS preflight; the response has then been sent. */
  handlePreflight(req: IncomingMessage, res: ServerResponse): boolean;
}

const PREFLIGHT_MAX_AGE_SECONDS = 7200;

export function createCors(opts: { allowedOrigins: readonly string[]; methods: string }): Cors {
  const any = opts.allowedOrigins.includes('*');
  const allowed = new Set(opts.allowedOrigins);
  const isAllowed = (origin: string | undefined): origin is string => origin !== undefined && (any || allowed.has(origin));

  return {
    apply(req, res) {
      if (allowed.size === 0) return;
      res.setHeader('Vary', 'Origin');
      const origin = req.headers.origin;
      if (!isAllowed(origin)) return;
      // Echo the origin even for '*': a literal '*' is refused for credentialed requests (sendBeacon).
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Expose-Headers', 'Retry-After');
    },
    handlePreflight(req, res) {
      if (req.method !== 'OPTIONS' || req.headers['access-control-request-method'] === undefined) return false;
      res.setHeader('Vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
      const origin = req.headers.origin;
      if (isAllowed(origin)) {
        res.setHeader('Access-Control-Allow-Origin', origin);
        res.setHeader('Access-Control-Allow-Methods', opts.methods);
        const requested = req.headers['access-control-request-headers'];
        res.setHeader('Access-Control-Allow-Headers', requested ?? 'Content-Type, Content-Encoding');
        res.setHeader('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_SECONDS));
      }
      res.statusCode = 204;
      res.end();
      return true;
    },
  };
}
