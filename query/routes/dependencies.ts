/**
 * `/api/dependencies?endTs=<ms>&lookback=<ms>`: service call graph edges, duplicate pairs summed.
 * `endTs` is a Unix time in [0, year 2200], `lookback` at most 100 years (query/limits.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import { envelope } from '../envelope.js';
import type { JaegerDependencyLink } from '../jaeger/model.js';
import { durationMsParam, timeMsParam } from '../limits.js';
import type { QueryString } from '../query-params.js';
import type { QueryService } from '../trace-service.js';

const DEFAULT_LOOKBACK_MS = 24 * 3600 * 1000;

export const dependenciesRoutes: FastifyPluginAsync<{ query: QueryService }> = async (app, { query }) => {
  app.get<{ Querystring: QueryString }>('/api/dependencies', async (req) => {
    const endTs = timeMsParam(req.query, 'endTs') ?? Date.now();
    const lookback = durationMsParam(req.query, 'lookback', 0) ?? DEFAULT_LOOKBACK_MS;
    const links = await query.dependencies.getDependencies({ startUs: (endTs - lookback) * 1000, endUs: endTs * 1000 });
    const merged = new Map<string, JaegerDependencyLink>();
    for (const l of links) {
      const key = `${l.parent}\u0000${l.child}`;
      const m = merged.get(key);
      if (m) {
        m.callCount += l.callCount;
        m.errorCount = (m.errorCount ?? 0) + (l.errorCount ?? 0);
      } else merged.set(key, { parent: l.parent, child: l.child, callCount: l.callCount, errorCount: l.errorCount ?? 0 });
    }
    return envelope([...merged.values()]);
  });
};
