/**
 * The UI and the API extensions it uses, registered on the query server after the Jaeger routes.
 */
import type { FastifyInstance } from 'fastify';
import { uiExtensionRoutes } from '../query/routes/ui-extensions.js';
import { uiRoutes } from '../query/routes/ui.js';
import type { QueryService } from '../query/trace-service.js';

export function uiPlugins(opts: { basePath: string; distDir: string }): ((app: FastifyInstance, query: QueryService) => Promise<void>)[] {
  return [
    async (app, query) => {
      await app.register(uiExtensionRoutes, { reader: query.reader, dependencies: query.dependencies, adjust: (t) => query.adjust(t) });
    },
    async (app) => {
      await app.register(uiRoutes, { basePath: opts.basePath, distDir: opts.distDir });
    },
  ];
}
