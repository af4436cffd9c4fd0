/** `/api/traces` (search or by repeated traceID) and `/api/traces/:traceID`, as jaeger-query serves them. */
import type { FastifyPluginAsync } from 'fastify';
import type { TraceQuery } from '../../storage/api.js';
import { parseGoDurationUs } from '../duration.js';
import { envelope } from '../envelope.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { normalizeTraceId } from '../jaeger/ids.js';
import { toJaegerTrace } from '../jaeger/from-model.js';
import type { JaegerError } from '../jaeger/model.js';
import { all, bool, integer, one, type QueryString } from '../query-params.js';
import { parseTagParam, parseTagsParam } from '../tags.js';
import type { QueryService } from '../trace-service.js';

const DEFAULT_LIMIT = 100;
const DEFAULT_WINDOW_US = 48 * 3600 * 1_000_000;

function duration(q: QueryString, name: string): number | undefined {
  const raw = one(q, name);
  if (raw === undefined) return undefined;
  const us = parseGoDurationUs(raw);
  if (us === undefined) throw new BadRequestError(`unable to parse param '${name}': time: invalid duration "${raw}"`);
  return us;
}

function traceIdParam(raw: string): string {
  const id = normalizeTraceId(raw);
  if (!id) throw new BadRequestError(`malformed 'traceID' parameter: '${raw}' is not a 1-32 character hex trace id`);
  return id;
}

/** Parses `/api/traces` search parameters into a storage query (exported for the UI extension routes). */
export function parseTraceQuery(q: QueryString, nowUs = Date.now() * 1000): TraceQuery {
  const tags: Record<string, string> = {};
  for (const t of all(q, 'tag')) {
    const [k, v] = parseTagParam(t);
    tags[k] = v;
  }
  for (const t of all(q, 'tags')) Object.assign(tags, parseTagsParam(t));
  const endUs = integer(q, 'end') ?? nowUs;
  const startUs = integer(q, 'start') ?? endUs - DEFAULT_WINDOW_US;
  if (startUs > endUs) throw new BadRequestError("'start' should be before 'end'");
  const durationMinUs = duration(q, 'minDuration');
  const durationMaxUs = duration(q, 'maxDuration');
  if (durationMinUs !== undefined && durationMaxUs !== undefined && durationMaxUs < durationMinUs) {
    throw new BadRequestError("'maxDuration' should be greater than 'minDuration'");
  }
  const limit = integer(q, 'limit') ?? DEFAULT_LIMIT;
  if (limit < 0) throw new BadRequestError("'limit' must not be negative");
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
    limit: limit === 0 ? DEFAULT_LIMIT : limit,
  };
}

export const tracesRoutes: FastifyPluginAsync<{ query: QueryService }> = async (app, { query }) => {
  app.get<{ Querystring: QueryString }>('/api/traces', async (req) => {
    const raw = bool(req.query, 'raw');
    const ids = all(req.query, 'traceID').filter((s) => s !== '').map(traceIdParam);
    if (ids.length > 0) {
      const traces = await query.getTraces(ids, { raw });
      const found = new Set(traces.map((t) => t.traceId));
      const errors: JaegerError[] = ids.filter((id) => !found.has(id)).map((id) => ({ msg: 'trace not found', traceID: id }));
      return envelope(traces.map(toJaegerTrace), { errors });
    }
    const traces = await query.findTraces(parseTraceQuery(req.query), { raw });
    return envelope(traces.map(toJaegerTrace));
  });

  app.get<{ Params: { traceID: string }; Querystring: QueryString }>('/api/traces/:traceID', async (req) => {
    const id = traceIdParam(req.params.traceID);
    const traces = await query.getTraces([id], {
      raw: bool(req.query, 'raw'),
      startTimeMinUs: integer(req.query, 'start'),
      startTimeMaxUs: integer(req.query, 'end'),
    });
    if (traces.length === 0) throw new NotFoundError('trace not found', id);
    return envelope(traces.map(toJaegerTrace));
  });
};
