import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { ProxyMetrics } from './metrics.js';
import type { ReloadOutcome } from './reload.js';
import { bearerToken, secretEquals } from './secrets.js';

/**
 * The admin listener (Envoy's :15000 reduced): `GET /ready` → 200 `LIVE` while serving, 503
 * `DRAINING` once shutdown began; `GET /config` → the running configuration as JSON;
 * `GET /metrics` → Prometheus text; `POST /config/reload` → re-reads the configuration and answers
 * the outcome as JSON (proxy/reload.ts ReloadOutcome): 200 when applied or unchanged, 400 with
 * the problems when rejected. Anything else → 404.
 *
 * Mutating endpoints (every method but GET/HEAD; today `POST /config/reload`) pass `guard` first:
 * `open` (the admin is on loopback and no token file is set), `token` (`Authorization: Bearer
 * <token>` must match, compared in constant time; otherwise 401 with `WWW-Authenticate`), or
 * `refuse` (bound beyond loopback without a token file: 403 saying to set --admin-token-file).
 * Reads (`/ready`, `/config` with secrets redacted, `/metrics`) stay open, as Prometheus scrapes them.
 */
export type AdminGuard =
  | { kind: 'open' }
  | { kind: 'token'; token(): string }
  | { kind: 'refuse'; host: string };

export interface AdminDeps {
  metrics: ProxyMetrics;
  config(): unknown;
  ready(): boolean;
  reload?(): ReloadOutcome;
  /** The listeners' downstream timeouts (listeners/listener.ts downstreamServerOptions): the admin port is a port slow clients can hold too. */
  serverOptions?: ServerOptions;
  /** Who may call the mutating endpoints (default `open`). */
  guard?: AdminGuard;
  /** A refused mutating request: `missing`/`invalid` token, or `refused` (no token file while bound beyond loopback). */
  onAuthFailure?(reason: 'missing' | 'invalid' | 'refused'): void;
}

/** Whether a mutating request may proceed; when not, the answer has been sent. */
function authorize(d: AdminDeps, req: IncomingMessage, res: ServerResponse): boolean {
  const g = d.guard ?? { kind: 'open' };
  if (g.kind === 'open') return true;
  req.resume();
  if (g.kind === 'refuse') {
    d.onAuthFailure?.('refused');
    res.writeHead(403, { 'content-type': 'text/plain' })
      .end(`forbidden: the admin listens on ${g.host}, beyond loopback; set --admin-token-file (adminTokenFile) to allow ${req.method} ${req.url} with Authorization: Bearer <token>\n`);
    return false;
  }
  const given = bearerToken(req.headers.authorization);
  if (given !== undefined && secretEquals(given, g.token())) return true;
  d.onAuthFailure?.(given === undefined ? 'missing' : 'invalid');
  res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="meshtrace-admin"' })
    .end(given === undefined ? 'unauthorized: send Authorization: Bearer <the token in --admin-token-file>\n' : 'unauthorized: wrong token\n');
  return false;
}

export function createAdminServer(d: AdminDeps): Server {
  return createServer(d.serverOptions ?? {}, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/config/reload' && d.reload) {
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('method not allowed: POST /config/reload\n');
        return;
      }
      if (!authorize(d, req, res)) return;
      req.resume();
      const outcome = d.reload();
      res.writeHead(outcome.result === 'rejected' ? 400 : 200, { 'content-type': 'application/json' }).end(`${JSON.stringify(outcome, null, 2)}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    switch (path) {
      case '/ready': {
        const ok = d.ready();
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'LIVE\n' : 'DRAINING\n');
        return;
      }
      case '/config':
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(d.config(), null, 2));
        return;
      case '/metrics':
        d.metrics.text().then(
          (text) => res.writeHead(200, { 'content-type': d.metrics.contentType }).end(text),
          (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
        );
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /ready, /config, /metrics, POST /config/reload\n');
    }
  });
}
