/**
 * The query server: Jaeger's HTTP JSON API (so jaeger-ui and Grafana's Jaeger data source work
 * unchanged), api_v3, health, and the UI. Dependencies are passed in, so tests use any storage.
 * This is the only place that sets an error handler: typed errors become Jaeger's envelope
 * (or api_v3's error shape), everything else a 500 whose message is logged, not leaked.
 */
import type { Server as HttpServer } from 'node:http';
import https from 'node:https';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerFactory, type FastifyServerOptions, LogController } from 'fastify';
import type { Registry } from 'prom-client';
import { type Authenticator, WWW_AUTHENTICATE } from '../security/authenticator.js';
import type { TlsSource } from '../security/tls.js';
import type { TenantGuard } from '../tenancy/tenancy.js';
import type { DependencyReader, SpanMetricsReader, TraceReader } from '../storage/api.js';
import type { Adjuster } from './adjusters/index.js';
import { errorEnvelope } from './envelope.js';
import { DEFAULT_QUERY_LIMITS, type QueryLimits } from './limits.js';
import { apiV3Routes } from './routes/api-v3.js';
import { dependenciesRoutes } from './routes/dependencies.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { prometheusRoutes } from './routes/prometheus.js';
import { propagationRoutes } from './routes/propagation.js';
import { servicesRoutes } from './routes/services.js';
import { tempoRoutes } from './routes/tempo.js';
import { traceqlSearchRoutes } from './routes/traceql-search.js';
import { tracesRoutes } from './routes/traces.js';
import { QueryService } from './trace-service.js';

/** What the API reads: one store's readers. */
export interface QueryStores {
  reader: TraceReader;
  dependencies: DependencyReader;
  /** RED metrics for `/api/metrics/*`; without it those routes answer 501 (metrics disabled). */
  spanMetrics?: SpanMetricsReader;
}

/**
 * Tenancy on: every API route is registered once per tenant with that tenant's stores, and a
 * request reaches the copy whose tenant its header names (a fastify route constraint), so a
 * route cannot read another tenant's store, nor share a cache with it. A request that names no
 * valid tenant matches no API route: 401 with the guard's message (Jaeger's answer). `/health`,
 * `/ready` and the UI's static files stay open.
 */
export interface QueryTenancy {
  guard: TenantGuard;
  /** Exactly the guard's tenants. */
  stores: ReadonlyMap<string, QueryStores>;
}

export type QueryAppDeps = QueryAppOptions & ((QueryStores & { tenancy?: never }) | { tenancy: QueryTenancy; reader?: never; dependencies?: never; spanMetrics?: never });

interface QueryAppOptions {
  adjusters: readonly Adjuster[];
  logger?: FastifyServerOptions['loggerInstance'];
  /**
   * Per-response bounds (`--query-max-limit`, `--query-max-spans`): the most traces a search may
   * ask for and the most spans one response carries. Defaults: `DEFAULT_QUERY_LIMITS`.
   */
  limits?: Partial<QueryLimits>;
  /** meshtrace's version, reported by `/tempo/api/status/buildinfo`. */
  version?: string;
  /** Readiness probe for `/ready`; defaults to always ready. */
  isReady?: () => boolean;
  /** Why `/ready` answers 503 although everything started (e.g. storage refuses writes); undefined = no reason. */
  unreadyReason?: () => string | undefined;
  /**
   * Path prefixes the API is served under, besides the root: with a UI base path of `/jaeger` the
   * API is also at `/jaeger/api/…`, as jaeger-query's `--query.base-path` does. Default none.
   */
  apiPrefixes?: string[];
  /**
   * More API routes (extensions), registered at the root and under every `apiPrefixes` entry
   * (with tenancy: once per tenant, `query` reading that tenant's store).
   */
  extraApiPlugins?: ((scope: FastifyInstance, query: QueryService) => Promise<void>)[];
  /** Plugins registered once after the API, open to every caller (the UI's static files). */
  extraPlugins?: ((app: FastifyInstance) => Promise<void>)[];
  /**
   * Set: everything but `/health`, `/ready` and `/metrics` needs a credential with the `read` role
   * (Bearer or Basic); missing or wrong → 401 with a Basic challenge, so browsers ask for it.
   */
  auth?: Authenticator;
  /** Set: HTTPS with this material, reloaded when its files change (no client certificates: browsers). */
  tls?: TlsSource;
  /** Set: `GET /metrics` serves this registry in Prometheus text. */
  metrics?: Registry;
}

/** A request refused by the authenticator: 401 (with a challenge) or 403. */
export class AuthRequiredError extends Error {
  constructor(readonly statusCode: 401 | 403, message: string) {
    super(message);
    this.name = 'AuthRequiredError';
  }
}

/** An https server in fastify's default (http) server type: the two share the API fastify uses. */
function httpsFactory(tls: TlsSource): FastifyServerFactory<HttpServer> {
  return (handler) => https.createServer(tls.serverOptions(false), handler) as unknown as HttpServer;
}

/** Paths answered without a credential: probes and the metrics scrape, at the root and under every API prefix. */
function openPaths(prefixes: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const prefix of ['', ...prefixes.filter((p) => p && p !== '/').map((p) => p.replace(/\/+$/, ''))]) {
    for (const p of ['/health', '/ready', '/metrics']) out.add(prefix + p);
  }
  return out;
}

/** api_v3 routes answer errors in their own shape, at the root or under a base path. */
function isApiV3(url: string): boolean {
  return /^(\/[^?]*)?\/api\/v3\//.test(url);
}

/** Tempo's API (query/routes/tempo.ts) answers errors as plain text, as Tempo does; Grafana shows that text. */
function isTempo(url: string): boolean {
  return /^(\/[^?]*)?\/tempo\//.test(url);
}

function statusOf(err: unknown): number {
  const e = err as { statusCode?: number; validation?: unknown };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 600) return e.statusCode;
  return 500;
}

/** Routes by the tenant header: a route registered for tenant `a` matches only requests naming `a`. */
type ConstraintStrategy = NonNullable<NonNullable<FastifyServerOptions['routerOptions']>['constraints']>[string];

function tenantConstraint(header: string): ConstraintStrategy {
  return {
    name: 'tenant',
    storage() {
      const byTenant = new Map<string, ReturnType<ReturnType<ConstraintStrategy['storage']>['get']>>();
      return { get: (t: string) => byTenant.get(t) ?? null, set: (t, store) => void byTenant.set(t, store) };
    },
    // Node joins repeated headers with ', ': no tenant name contains one, so it matches nothing.
    deriveConstraint: (req) => {
      const v = req.headers[header];
      return typeof v === 'string' ? v : ''; // '' names no tenant
    },
    // Requests naming a tenant still reach the unconstrained routes (health, the UI's files).
    mustMatchWhenDerived: false,
    validate(value: unknown) {
      if (typeof value !== 'string') throw new Error('tenant constraint must be a string');
    },
  };
}

export async function buildQueryApp(deps: QueryAppDeps): Promise<FastifyInstance> {
  const tenancy = deps.tenancy;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    // Like jaeger-query: no log line per API call (the UI polls); errors are logged by the handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Jaeger UI sends repeated keys (tag=…&tag=…); fastify's default parser keeps them as arrays.
    routerOptions: { ignoreTrailingSlash: true, ...(tenancy ? { constraints: { tenant: tenantConstraint(tenancy.guard.header) } } : {}) },
    // HTTPS through the server factory, so the app keeps one type; the source swaps certificates.
    ...(deps.tls ? { serverFactory: httpsFactory(deps.tls) } : {}),
  });
  if (deps.tls) {
    const detach = deps.tls.attach(app.server as unknown as https.Server, false);
    app.addHook('onClose', async () => detach());
  }
  const limits: QueryLimits = { ...DEFAULT_QUERY_LIMITS, ...deps.limits };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`buildQueryApp: limits.${k} must be a positive integer, got ${v}`);
  }
  const storesByTenant: [string | undefined, QueryStores][] = tenancy
    ? [...tenancy.guard.tenants].map((t) => {
      const stores = tenancy.stores.get(t);
      if (!stores) throw new Error(`buildQueryApp: no stores for tenant '${t}'`);
      return [t, stores];
    })
    : [[undefined, { reader: deps.reader, dependencies: deps.dependencies, spanMetrics: deps.spanMetrics }]];

  app.setErrorHandler((err, req, reply) => {
    const status = statusOf(err);
    const expose = status < 500 || (err as { expose?: boolean }).expose === true;
    const message = expose ? (err as Error).message : 'internal error';
    if (!expose) req.log.error({ err, url: req.url }, 'query request failed');
    if (status === 401) void reply.header('WWW-Authenticate', WWW_AUTHENTICATE);
    if (isApiV3(req.url)) return reply.code(status).send({ error: { httpCode: status, message } });
    if (isTempo(req.url)) return reply.code(status).type('text/plain; charset=utf-8').send(message);
    return reply.code(status).send(errorEnvelope(status, message));
  });

  const sendError = (url: string, reply: FastifyReply, status: number, message: string) => {
    if (isApiV3(url)) return reply.code(status).send({ error: { httpCode: status, message } });
    if (isTempo(url)) return reply.code(status).type('text/plain; charset=utf-8').send(message);
    return reply.code(status).send(errorEnvelope(status, message));
  };

  app.setNotFoundHandler((req, reply) => {
    // With tenancy every API route is a tenant's: a request whose tenant is missing or unknown
    // matched none of them and lands here. Say why, as Jaeger does (401 for both).
    // headersDistinct keeps repeated headers apart; app.inject's requests lack it.
    const header = tenancy?.guard.header ?? '';
    const sent = req.raw.headersDistinct?.[header] ?? [req.headers[header] ?? []].flat();
    const refusal = tenancy?.guard.check(sent).refusal;
    if (refusal) return sendError(req.url, reply, 401, refusal.message);
    if (isApiV3(req.url)) return reply.code(404).send({ error: { httpCode: 404, message: `no route for ${req.method} ${req.url.split('?')[0]}` } });
    if (isTempo(req.url)) return reply.code(404).type('text/plain; charset=utf-8').send(`no route for ${req.method} ${req.url.split('?')[0]}`);
    return reply.code(404).send(errorEnvelope(404, `no route for ${req.method} ${req.url.split('?')[0]}`));
  });

  if (deps.auth) {
    const auth = deps.auth;
    const open = openPaths(deps.apiPrefixes ?? []);
    // Before routing, so the UI's files, every API and unknown paths alike need `read`.
    app.addHook('onRequest', async (req) => {
      const q = req.url.indexOf('?');
      const path = (q === -1 ? req.url : req.url.slice(0, q)).replace(/(.)\/+$/, '$1');
      if (open.has(path)) return;
      const d = await auth.check(req.headers.authorization, 'read', { listener: 'query', address: req.socket.remoteAddress ?? '' });
      if (!d.ok) throw new AuthRequiredError(d.status, d.message);
    });
  }

  // prettyPrint=true indents any JSON response, as jaeger-query does.
  app.addHook('onSend', async (req, reply, payload) => {
    const q = req.query as Record<string, unknown> | undefined;
    if (q?.prettyPrint === 'true' && typeof payload === 'string' && String(reply.getHeader('content-type')).startsWith('application/json')) {
      try {
        return JSON.stringify(JSON.parse(payload), null, 2);
      } catch {
        return payload;
      }
    }
    return payload;
  });

  // Per tenant (or once): its own QueryService, so caches in the routes are per tenant too.
  const registerTenantApi = async (scope: FastifyInstance, stores: QueryStores) => {
    const query = new QueryService({ ...stores, adjusters: deps.adjusters, limits });
    await scope.register(servicesRoutes, { query });
    await scope.register(tracesRoutes, { query });
    await scope.register(dependenciesRoutes, { query });
    await scope.register(metricsRoutes, { spanMetrics: stores.spanMetrics });
    await scope.register(apiV3Routes, { query });
    await scope.register(propagationRoutes, { query });
    await scope.register(traceqlSearchRoutes, { query });
    await scope.register(tempoRoutes, { query, version: deps.version, prefix: '/tempo' });
    for (const plugin of deps.extraApiPlugins ?? []) await plugin(scope, query);
  };
  const registerApi = async (scope: FastifyInstance) => {
    await scope.register(healthRoutes, { isReady: deps.isReady ?? (() => true), unreadyReason: deps.unreadyReason });
    if (deps.metrics) await scope.register(prometheusRoutes, { registry: deps.metrics });
    for (const [tenant, stores] of storesByTenant) {
      if (tenant === undefined) {
        await registerTenantApi(scope, stores);
        continue;
      }
      await scope.register(async (tenantScope) => {
        // Every route this scope (and what it registers) adds answers this tenant only.
        tenantScope.addHook('onRoute', (route) => {
          route.constraints = { ...route.constraints, tenant };
        });
        await registerTenantApi(tenantScope, stores);
      });
    }
  };
  await registerApi(app);
  for (const prefix of deps.apiPrefixes ?? []) {
    if (prefix && prefix !== '/') await app.register(registerApi, { prefix: prefix.replace(/\/+$/, '') });
  }
  for (const plugin of deps.extraPlugins ?? []) await plugin(app);
  return app;
}
