/**
 * Serves the built UI (`ui/dist`, made by `npm run build:ui`) under a base path, like
 * jaeger-query's `--query.ui-base-path`.
 *
 * - `<basePath>assets/*`: Vite's content-hashed files, `Cache-Control: public, max-age=31536000, immutable`.
 * - `<basePath>` and the UI's deep links (`search`, `trace/:id`, `dependencies`, `monitor`, `mesh`, `compare/:a...:b`):
 *   index.html with `Cache-Control: no-cache` (so a new build is picked up at once), its
 *   `<base href>` set to the base path and its `meshtrace-api-base` meta set to `apiBasePath`.
 *   The file is re-read when its mtime changes, so rebuilding the UI needs no restart.
 * - `<basePath>trace/:id` also gets `<link rel="preload">` for the trace's compact form (meshtrace
 *   extension), so the server reads the trace while the browser is still loading the scripts.
 *   Off with `preloadTrace: false` (e.g. when the extensions are not registered) and with tenancy.
 * - When `basePath` is not `/`, `GET /` redirects to it.
 * - If the UI was never built, those pages answer 503 with the command that builds it.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

export interface UiRoutesOptions {
  /** URL path the UI lives under, e.g. `/` or `/jaeger`; a trailing slash is added when missing. */
  basePath: string;
  /** Directory holding Vite's output (index.html and assets/). */
  distDir: string;
  /** URL path of the query API root the UI calls (`<apiBasePath>api/...`); default `/`. */
  apiBasePath?: string;
  /** Preload `api/ext/traces/:id/compact` on trace pages; default true. */
  preloadTrace?: boolean;
  /**
   * Tenancy on: the header the API wants, told to the UI in `<meta name="meshtrace-tenancy-header">`
   * so a tenant chosen with `?tenant=` can be sent in it (ui/src/api.ts). Undefined = tenancy off.
   */
  tenancyHeader?: string;
}

/** `jaeger` → `/jaeger/`, `/` → `/`. Rejects characters that would need escaping in HTML or URLs. */
export function normalizeBasePath(p: string, field = 'basePath'): string {
  const trimmed = p.trim().replace(/^\/+|\/+$/g, '');
  if (!/^[A-Za-z0-9._~\-/]*$/.test(trimmed) || trimmed.split('/').some((s) => s === '..' || s === '.')) {
    throw new Error(`'${field}' must be a URL path like /jaeger (letters, digits, - . _ ~ /), got ${JSON.stringify(p)}`);
  }
  return trimmed ? `/${trimmed}/` : '/';
}

/** Deep links the SPA handles itself (relative to the base path). */
export const SPA_ROUTES = ['', 'search', 'trace/:id', 'dependencies', 'monitor', 'mesh', 'compare/:pair', 'index.html'];

// Defense in depth against injected markup: scripts and connections only from this origin.
const CSP = "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'";

export const uiRoutes: FastifyPluginAsync<UiRoutesOptions> = async (app, opts) => {
  const base = normalizeBasePath(opts.basePath);
  const apiBase = normalizeBasePath(opts.apiBasePath ?? '/', 'apiBasePath');
  const indexPath = join(opts.distDir, 'index.html');
  let cached: { mtimeMs: number; html: string } | undefined;

  const indexHtml = (): string | undefined => {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(indexPath).mtimeMs;
    } catch {
      return undefined;
    }
    if (cached?.mtimeMs !== mtimeMs) {
      const html = readFileSync(indexPath, 'utf8')
        .replace(/<base href="[^"]*"\s*\/?>/, `<base href="${base}" />`)
        .replace(/<meta name="meshtrace-api-base" content="[^"]*"\s*\/?>/, `<meta name="meshtrace-api-base" content="${apiBase}" />`)
        // A header name is a token (tenancy/tenancy.ts): nothing in it needs escaping in an attribute.
        .replace('</head>', opts.tenancyHeader && /^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(opts.tenancyHeader) ? `  <meta name="meshtrace-tenancy-header" content="${opts.tenancyHeader}" />\n  </head>` : '</head>');
      cached = { mtimeMs, html };
    }
    return cached.html;
  };

  const sendIndex = (reply: FastifyReply, traceId?: string) => {
    let html = indexHtml();
    // Only a plain hex id goes into the markup; anything else gets no preload (the page reports the bad id).
    // Not with tenancy: a preload carries no tenant header of the page's choosing, and Chromium hands
    // its 401 to the page's own fetch (which has the header) as if it were the answer.
    if (html !== undefined && traceId && opts.preloadTrace !== false && !opts.tenancyHeader && /^[0-9a-fA-F]{1,32}$/.test(traceId)) {
      const href = `${apiBase}api/ext/traces/${traceId}/compact`;
      html = html.replace('</head>', `  <link rel="preload" href="${href}" as="fetch" crossorigin="anonymous" />\n  </head>`);
    }
    if (html === undefined) {
      return reply.code(503).type('text/plain; charset=utf-8').header('cache-control', 'no-store')
        .send(`meshtrace UI is not built (${indexPath} is missing): run \`npm run build:ui\`.\n`);
    }
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'same-origin')
      .send(html);
  };

  for (const route of SPA_ROUTES) {
    app.get<{ Params: { id?: string } }>(`${base}${route}`, (req, reply) => sendIndex(reply, route === 'trace/:id' ? req.params.id : undefined));
  }
  if (base !== '/') app.get('/', (_req, reply) => reply.redirect(base, 302));

  await app.register(fastifyStatic, {
    root: join(opts.distDir, 'assets'),
    prefix: `${base}assets/`,
    decorateReply: false,
    index: false,
    // Vite puts a content hash in every asset name: a changed file has a new URL.
    immutable: true,
    maxAge: '365d',
    cacheControl: true,
  });
};

export default uiRoutes;
