/**
 * `/api/traces` (search or by repeated traceID) and `/api/traces/:traceID`, as jaeger-query serves
 * them, with every parameter bounded (query/limits.ts) and each response held to the span budget:
 * what it left out is named in `errors` (search, ids) or a trace warning (a cut trace).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TraceQuery } from '../../storage/api.js';
import type { SpanBudget } from '../../storage/span-budget.js';
import { envelope } from '../envelope.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { normalizeTraceId } from '../jaeger/ids.js';
import { toJaegerTrace } from '../jaeger/from-model.js';
import type { JaegerError } from '../jaeger/model.js';
import {
  checkCount, checkSearchLookback, checkTagCount, DEFAULT_QUERY_LIMITS, goDurationUs, omittedTraceMessage, omittedTracesMessage,
  type QueryLimits, searchLimit, timeUsParam,
} from '../limits.js';
import { all, bool, integer, one, type QueryString } from '../query-params.js';
import { parseTagParam, parseTagsParam } from '../tags.js';
import type { QueryService } from '../trace-service.js';

const DEFAULT_LIMIT = 100;
const DEFAULT_WINDOW_US = 48 * 3600 * 1_000_000;

function duration(q: QueryString, name: string): number | undefined {
  const raw = one(q, name);
  return raw === undefined ? undefined : goDurationUs(raw, name);
}

function traceIdParam(raw: string): string {
  const id = normalizeTraceId(raw);
  if (!id) throw new BadRequestError(`malformed 'traceID' parameter: '${raw}' is not a 1-32 character hex trace id`);
  return id;
}

/** Parses `/api/traces` search parameters into a storage query (exported for the UI extension routes). */
export function parseTraceQuery(q: QueryString, nowUs = Date.now() * 1000, limits: QueryLimits = DEFAULT_QUERY_LIMITS): TraceQuery {
  const tags: Record<string, string> = {};
  for (const t of all(q, 'tag')) {
    const [k, v] = parseTagParam(t);
    tags[k] = v;
  }
  checkTagCount(Object.keys(tags).length, 'tag');
  for (const t of all(q, 'tags')) Object.assign(tags, parseTagsParam(t));
  checkTagCount(Object.keys(tags).length, 'tags');
  const endUs = timeUsParam(q, 'end') ?? nowUs;
  const startUs = timeUsParam(q, 'start') ?? Math.max(0, endUs - DEFAULT_WINDOW_US);
  if (startUs > endUs) throw new BadRequestError("'start' should be before 'end'");
  checkSearchLookback(q);
  const durationMinUs = duration(q, 'minDuration');
  const durationMaxUs = duration(q, 'maxDuration');
  if (durationMinUs !== undefined && durationMaxUs !== undefined && durationMaxUs < durationMinUs) {
    throw new BadRequestError("'maxDuration' should be greater than 'minDuration'");
  }
  const limit = searchLimit(integer(q, 'limit'), 'limit', DEFAULT_LIMIT, limits);
  const operationName = one(q, 'operation');
  const serviceName = one(q, 'service');
  if (operationName && !serviceName) throw new BadRequestError("parameter 'service' is required when 'operation' is given");
  return {
    serviceName,
    operationName,
    tags: Object.keys(tags).length > 0 ? tags : undefined,
    startTimeMinUs: startUs,
    startTimeMaxUs: endUs,
    durationMinUs,
    durationMaxUs,
    limit,
  };
}

/** A search's `errors` when the span budget left traces out. */
export function searchBudgetErrors(returned: number, budget: SpanBudget): JaegerError[] {
  return budget.omittedTraceIds.length > 0 ? [{ msg: omittedTracesMessage(returned, budget.omittedTraceIds.length, budget.maxSpans) }] : [];
}

export const tracesRoutes: FastifyPluginAsync<{ query: QueryService }> = async (app, { query }) => {
  app.get<{ Querystring: QueryString }>('/api/traces', async (req) => {
    const raw = bool(req.query, 'raw');
    const ids = all(req.query, 'traceID').filter((s) => s !== '').map(traceIdParam);
    if (ids.length > 0) {
      checkCount('traceID', ids.length, query.limits.maxLimit, "the server's --query-max-limit");
      const { traces, budget } = await query.getTraces(ids, { raw });
      const found = new Set(traces.map((t) => t.traceId));
      const omitted = new Set(budget.omittedTraceIds);
      const errors: JaegerError[] = ids.filter((id) => !found.has(id)).map((id) => ({
        msg: omitted.has(id) ? omittedTraceMessage(budget.maxSpans) : 'trace not found',
        traceID: id,
      }));
      return envelope(traces.map(toJaegerTrace), { errors });
    }
    const { traces, budget } = await query.findTraces(parseTraceQuery(req.query, undefined, query.limits), { raw });
    return envelope(traces.map(toJaegerTrace), { errors: searchBudgetErrors(traces.length, budget) });
  });

  app.get<{ Params: { traceID: string }; Querystring: QueryString }>('/api/traces/:traceID', async (req) => {
    const id = traceIdParam(req.params.traceID);
    const { traces } = await query.getTraces([id], {
      raw: bool(req.query, 'raw'),
      startTimeMinUs: timeUsParam(req.query, 'start'),
      startTimeMaxUs: timeUsParam(req.query, 'end'),
    });
    // A trace larger than the budget comes back cut, with a trace warning saying so.
    if (traces.length === 0) throw new NotFoundError('trace not found', id);
    return envelope(traces.map(toJaegerTrace));
  });
};
