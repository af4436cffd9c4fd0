import { createServer, type Server, type ServerOptions } from 'node:http';
import type { ProxyMetrics } from './metrics.js';
import type { ReloadOutcome } from './reload.js';

/**
 * The admin listener (Envoy's :15000 reduced): `GET /ready` → 200 `LIVE` while serving, 503
 * `DRAINING` once shutdown began; `GET /config` → the running configuration as JSON;
 * `GET /metrics` → Prometheus text; `POST /config/reload` → re-reads the configuration and answers
 * the outcome as JSON (proxy/reload.ts ReloadOutcome): 200 when applied or unchanged, 400 with
 * the problems when rejected. Anything else → 404.
 */
export interface AdminDeps {
  metrics: ProxyMetrics;
  config(): unknown;
  ready(): boolean;
  reload?(): ReloadOutcome;
  /** The listeners' downstream timeouts (listeners/listener.ts downstreamServerOptions): the admin port is a port slow clients can hold too. */
  serverOptions?: ServerOptions;
}

export function createAdminServer(d: AdminDeps): Server {
  return createServer(d.serverOptions ?? {}, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/config/reload' && d.reload) {
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('method not allowed: POST /config/reload\n');
        return;
      }
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
