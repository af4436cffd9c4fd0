/**
 * The UI and the API extensions it uses. With a base path (`--ui-base-path /jaeger`) the UI lives
 * under it and the API is served there too (as jaeger-query's `--query.base-path` does), while the
 * root `/api` keeps working for clients configured without the prefix.
 */
import type { FastifyInstance } from 'fastify';
import { uiExtensionRoutes } from '../query/routes/ui-extensions.js';
import { uiRoutes } from '../query/routes/ui.js';
import type { QueryService } from '../query/trace-service.js';

type Plugin = (app: FastifyInstance, query: QueryService) => Promise<void>;

/** `tenancyHeader`: set when tenancy is on (the UI may then send a tenant chosen with `?tenant=`). */
export function uiPlugins(opts: { basePath: string; distDir: string; tenancyHeader?: string }): { apiPrefixes: string[]; extraApiPlugins: Plugin[]; extraPlugins: ((app: FastifyInstance) => Promise<void>)[] } {
  return {
    apiPrefixes: opts.basePath === '/' ? [] : [opts.basePath],
    extraApiPlugins: [
      async (scope, query) => {
        await scope.register(uiExtensionRoutes, { reader: query.reader, dependencies: query.dependencies, adjust: (t) => query.adjust(t), maxSpans: query.limits.maxSpans });
      },
    ],
    extraPlugins: [
      async (app) => {
        await app.register(uiRoutes, { basePath: opts.basePath, distDir: opts.distDir, apiBasePath: opts.basePath, tenancyHeader: opts.tenancyHeader });
      },
    ],
  };
}
