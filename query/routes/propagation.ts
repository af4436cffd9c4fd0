/**
 * meshtrace extension: `GET /api/ext/propagation?endTs=<ms>&lookback=<ms>&limit=<n>` names the
 * services whose apps drop trace context (the most common reason traces break in a mesh), from the
 * CLIENT spans the sidecar's propagation doctor marked `meshtrace.propagation=broken`.
 *
 * `data`: `[{service, brokenCalls, traces, reasons, fix, exampleTraceIDs}]`, worst first, where
 * `brokenCalls` counts marked spans in the `traces` most recent traces scanned (at most `limit`,
 * default 200), `reasons` the distinct `meshtrace.propagation.reason` values and `fix` the doctor's
 * advice. Built on `TraceReader.findTraces` (a tag search across services), no SQL. `endTs` and
 * `lookback` are bounded as in `/api/dependencies`; the traces read are held to the span budget,
 * and `errors` says when it left traces out (`traces` then counts fewer).
 */
import type { FastifyPluginAsync } from 'fastify';
import { attributeValueAsString, findAttribute } from '../../model/span.js';
import { envelope } from '../envelope.js';
import { jaegerTraceId } from '../jaeger/ids.js';
import { boundedInt, durationMsParam, timeMsParam } from '../limits.js';
import type { QueryString } from '../query-params.js';
import { searchBudgetErrors } from './traces.js';
import type { QueryService } from '../trace-service.js';

export interface PropagationProblem {
  service: string;
  brokenCalls: number;
  traces: number;
  reasons: string[];
  fix: string;
  exampleTraceIDs: string[];
}

const DEFAULT_LOOKBACK_MS = 3600 * 1000;
const DEFAULT_LIMIT = 200;
const MAX_LIMIT = 5000;
const MAX_EXAMPLES = 5;

export const propagationRoutes: FastifyPluginAsync<{ query: QueryService }> = async (app, { query }) => {
  app.get<{ Querystring: QueryString }>('/api/ext/propagation', async (req) => {
    const endTs = timeMsParam(req.query, 'endTs') ?? Date.now();
    const lookback = durationMsParam(req.query, 'lookback', 0) ?? DEFAULT_LOOKBACK_MS;
    const limit = boundedInt(req.query, 'limit', 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
    const { traces, budget } = await query.findTraces({
      tags: { 'meshtrace.propagation': 'broken' },
      startTimeMinUs: (endTs - lookback) * 1000,
      startTimeMaxUs: endTs * 1000,
      limit,
    }, { raw: true });
    const byService = new Map<string, PropagationProblem & { traceSet: Set<string> }>();
    for (const t of traces) {
      for (const s of t.spans) {
        const mark = findAttribute(s.attributes, 'meshtrace.propagation');
        if (!mark || attributeValueAsString(mark) !== 'broken') continue;
        const service = s.resource.serviceName;
        let p = byService.get(service);
        if (!p) {
          p = { service, brokenCalls: 0, traces: 0, reasons: [], fix: '', exampleTraceIDs: [], traceSet: new Set() };
          byService.set(service, p);
        }
        p.brokenCalls++;
        p.traceSet.add(t.traceId);
        const reason = findAttribute(s.attributes, 'meshtrace.propagation.reason');
        if (reason && !p.reasons.includes(attributeValueAsString(reason))) p.reasons.push(attributeValueAsString(reason));
        const fix = findAttribute(s.attributes, 'meshtrace.propagation.fix');
        if (fix && !p.fix) p.fix = attributeValueAsString(fix);
        if (p.exampleTraceIDs.length < MAX_EXAMPLES && !p.exampleTraceIDs.includes(jaegerTraceId(t.traceId))) p.exampleTraceIDs.push(jaegerTraceId(t.traceId));
      }
    }
    const data = [...byService.values()]
      .map(({ traceSet, ...p }) => ({ ...p, traces: traceSet.size }))
      .sort((a, b) => b.brokenCalls - a.brokenCalls || a.service.localeCompare(b.service));
    return envelope(data, { total: data.length, errors: searchBudgetErrors(traces.length, budget) });
  });
};
