/**
 * Jaeger's api_v3 over HTTP (the grpc-gateway JSON form): services, operations, a trace by id and
 * trace search, returning OTLP JSON `TracesData` under `result`. Errors use api_v3's shape
 * `{"error": {"httpCode", "message"}}` (see the error handler in query/app.ts).
 * Query parameters are accepted in lowerCamelCase and snake_case (`query.serviceName`,
 * `query.service_name`), as grpc-gateway does. Every parameter is bounded (query/limits.ts); when
 * the server's span budget cut the answer, a top-level `warnings` array (next to `result`, which
 * keeps OTLP's shape) says what was left out.
 */
import type { FastifyPluginAsync } from 'fastify';
import { spanKindFromName } from '../../model/span.js';
import type { TraceQuery } from '../../storage/api.js';
import type { SpanBudget } from '../../storage/span-budget.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { normalizeTraceId } from '../jaeger/ids.js';
import { spansToOtlpJson } from '../otlp-json/from-model.js';
import {
  checkTagCount, cutTraceWarning, DEFAULT_QUERY_LIMITS, goDurationUs, MAX_TIME_US, omittedTracesMessage, type QueryLimits, searchLimit,
} from '../limits.js';
import { bool, one, type QueryString } from '../query-params.js';
import { parseTagsParam } from '../tags.js';
import type { QueryService } from '../trace-service.js';

const DEFAULT_SEARCH_DEPTH = 100;

/** The first present spelling of a parameter. */
function param(q: QueryString, ...names: string[]): string | undefined {
  return spelled(q, ...names)?.value;
}

/** The first present spelling of a parameter and which spelling it was (errors name what the client sent). */
function spelled(q: QueryString, ...names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = one(q, name);
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

/** RFC 3339 with up to nanosecond fractions → µs since epoch. */
export function parseRfc3339Us(raw: string, name: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(raw.trim());
  const ms = m ? Date.parse(`${m[1]}${m[3].toUpperCase()}`) : NaN;
  if (!m || Number.isNaN(ms)) throw new BadRequestError(`malformed parameter '${name}': expecting an RFC 3339 timestamp, got '${raw}'`);
  const fractionUs = m[2] ? Math.trunc(Number(`0.${m[2]}`) * 1_000_000) : 0;
  const us = ms * 1000 + fractionUs;
  if (us < 0 || us > MAX_TIME_US) throw new BadRequestError(`malformed parameter '${name}': must be between 1970-01-01T00:00:00Z and 2200-01-01T00:00:00Z, got '${raw}'`);
  return us;
}

function durationParam(q: QueryString, name: string, alias: string): number | undefined {
  const p = spelled(q, name, alias);
  return p === undefined ? undefined : goDurationUs(p.value, p.name);
}

function attributesParam(q: QueryString): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  // grpc-gateway map encoding: query.attributes[key]=value
  for (const [k, v] of Object.entries(q)) {
    const m = /^query\.attributes\[(.+)\]$/.exec(k);
    if (m && v !== undefined) out[m[1]] = Array.isArray(v) ? v[v.length - 1] : v;
  }
  const json = param(q, 'query.attributes');
  if (json !== undefined) Object.assign(out, parseTagsParam(json));
  checkTagCount(Object.keys(out).length, 'query.attributes');
  return Object.keys(out).length > 0 ? out : undefined;
}

export function parseV3TraceQuery(q: QueryString, limits: QueryLimits = DEFAULT_QUERY_LIMITS): TraceQuery {
  const min = param(q, 'query.startTimeMin', 'query.start_time_min');
  const max = param(q, 'query.startTimeMax', 'query.start_time_max');
  if (min === undefined) throw new BadRequestError("parameter 'query.start_time_min' is required");
  if (max === undefined) throw new BadRequestError("parameter 'query.start_time_max' is required");
  const depth = spelled(q, 'query.searchDepth', 'query.search_depth', 'query.numTraces', 'query.num_traces');
  if (depth !== undefined && !/^\d{1,15}$/.test(depth.value)) throw new BadRequestError(`malformed parameter '${depth.name}': '${depth.value}'`);
  const limit = searchLimit(depth && Number(depth.value), depth?.name ?? 'query.search_depth', DEFAULT_SEARCH_DEPTH, limits);
  const durationMinUs = durationParam(q, 'query.duration_min', 'query.durationMin');
  const durationMaxUs = durationParam(q, 'query.duration_max', 'query.durationMax');
  if (durationMinUs !== undefined && durationMaxUs !== undefined && durationMaxUs < durationMinUs) {
    throw new BadRequestError("'query.duration_max' should be greater than 'query.duration_min'");
  }
  const startTimeMinUs = parseRfc3339Us(min, 'query.start_time_min');
  const startTimeMaxUs = parseRfc3339Us(max, 'query.start_time_max');
  if (startTimeMinUs > startTimeMaxUs) throw new BadRequestError("'query.start_time_min' should be before 'query.start_time_max'");
  return {
    serviceName: param(q, 'query.serviceName', 'query.service_name'),
    operationName: param(q, 'query.operationName', 'query.operation_name'),
    tags: attributesParam(q),
    startTimeMinUs,
    startTimeMaxUs,
    durationMinUs,
    durationMaxUs,
    limit,
  };
}

/** What api_v3 says beside `result` when the span budget cut the answer (OTLP has no place for it). */
function budgetWarnings(returned: number, budget: SpanBudget): { warnings?: string[] } {
  const warnings = [...budget.cutTraces].map(([, c]) => cutTraceWarning(c.loaded, c.total, budget.maxSpans));
  if (budget.omittedTraceIds.length > 0) warnings.push(omittedTracesMessage(returned, budget.omittedTraceIds.length, budget.maxSpans, 'query.num_traces'));
  return warnings.length > 0 ? { warnings } : {};
}

export const apiV3Routes: FastifyPluginAsync<{ query: QueryService }> = async (app, { query }) => {
  app.get('/api/v3/services', async () => ({ services: await query.reader.getServices() }));

  app.get<{ Querystring: QueryString }>('/api/v3/operations', async (req) => {
    const service = one(req.query, 'service');
    if (!service) throw new BadRequestError("parameter 'service' is required");
    const kindRaw = param(req.query, 'spanKind', 'span_kind');
    const spanKind = kindRaw === undefined ? undefined : spanKindFromName(kindRaw);
    if (kindRaw !== undefined && spanKind === undefined) throw new BadRequestError(`unsupported span kind: '${kindRaw}'`);
    const ops = await query.reader.getOperations({ serviceName: service, spanKind });
    return { operations: ops.map((o) => ({ name: o.name, spanKind: o.spanKind })) };
  });

  app.get<{ Params: { traceID: string }; Querystring: QueryString }>('/api/v3/traces/:traceID', async (req) => {
    const id = normalizeTraceId(req.params.traceID);
    if (!id) throw new BadRequestError(`malformed trace id '${req.params.traceID}'`);
    const startRaw = param(req.query, 'startTime', 'start_time');
    const endRaw = param(req.query, 'endTime', 'end_time');
    const { traces, budget } = await query.getTraces([id], {
      raw: bool(req.query, 'rawTraces') || bool(req.query, 'raw_traces'),
      startTimeMinUs: startRaw ? parseRfc3339Us(startRaw, 'start_time') : undefined,
      startTimeMaxUs: endRaw ? parseRfc3339Us(endRaw, 'end_time') : undefined,
    });
    if (traces.length === 0) throw new NotFoundError('trace not found', id);
    return { result: spansToOtlpJson(traces[0].spans), ...budgetWarnings(1, budget) };
  });

  app.get<{ Querystring: QueryString }>('/api/v3/traces', async (req) => {
    const raw = bool(req.query, 'query.rawTraces') || bool(req.query, 'query.raw_traces');
    const { traces, budget } = await query.findTraces(parseV3TraceQuery(req.query, query.limits), { raw });
    return { result: spansToOtlpJson(traces.flatMap((t) => t.spans)), ...budgetWarnings(traces.length, budget) };
  });
};
