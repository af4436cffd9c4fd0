/**
 * Grafana Tempo's HTTP API, registered under `/tempo`, so Grafana's Tempo data source works
 * unchanged with the URL `http://host:16686/tempo` (TraceQL search, trace by id, tag
 * autocomplete). Shapes follow Tempo 2.x (docs/search.md lists every route and what differs).
 *
 * - GET /api/search?q=<TraceQL>&start=<unix s>&end=<unix s>&limit=<n>&spss=<n>
 *   → `{traces: [TraceSearchMetadata], metrics: {inspectedTraces, inspectedSpans, …}}`; when a
 *   bound ended the search early, `warnings: [text]` (a meshtrace addition Grafana ignores).
 * - GET /api/traces/:id → `{batches: [ResourceSpans]}` (OTLP JSON); /api/v2/traces/:id →
 *   `{trace: {resourceSpans}}`, plus `status: "partial"` and `message` when the span budget cut it.
 *   With `Accept: application/protobuf` (what Grafana sends) both answer protobuf: OTLP TracesData
 *   (= tempopb.Trace), for v2 wrapped as TraceByIDResponse.trace.
 * - GET /api/search/tags, /api/v2/search/tags[?scope=span|resource|intrinsic],
 *   /api/search/tag/:tag/values, /api/v2/search/tag/:tag/values
 * - GET /api/echo → `echo`; /api/status/buildinfo → Tempo's build info (a 2.x version so
 *   Grafana enables its TraceQL features).
 * Errors: Tempo answers them as plain text; query/app.ts's one error handler does that for /tempo.
 */
import type { FastifyPluginAsync } from 'fastify';
import { BadRequestError, NotFoundError } from '../errors.js';
import { normalizeTraceId } from '../jaeger/ids.js';
import { cutTraceWarning } from '../limits.js';
import { spansToOtlpJson } from '../otlp-json/from-model.js';
import { encodeTracesDataProtobuf, wrapAsField1 } from '../otlp-json/to-protobuf.js';
import { one, type QueryString } from '../query-params.js';
import type { QueryService } from '../trace-service.js';
import { mentionedFields } from '../traceql/evaluate.js';
import { MAX_QUERY_LENGTH } from '../traceql/parser.js';
import { parseTraceQLRequest, runTraceQLRequest, secondsParamUs } from '../traceql/request.js';
import { toTempoMetadata } from '../traceql/tempo-shapes.js';
import { intrinsicTagNames, tagValues } from '../traceql/tag-values.js';

/** Tempo's default `limit`. */
const TEMPO_DEFAULT_LIMIT = 20;
/** The Tempo version reported: the 2.x API this plugin implements. */
export const TEMPO_API_VERSION = '2.4.0';
const SCOPES = ['span', 'resource', 'intrinsic', 'none'] as const;

function traceIdParam(raw: string): string {
  const id = normalizeTraceId(raw);
  if (!id) throw new BadRequestError(`malformed trace id '${raw}': expecting 1-32 hex characters`);
  return id;
}

/** Parameters Grafana sends with tag requests that only narrow Tempo's own scan: checked, not used. */
function checkTagParams(q: QueryString): void {
  const text = one(q, 'q');
  if (text !== undefined && text.length > MAX_QUERY_LENGTH) throw new BadRequestError(`unable to parse param 'q': at most ${MAX_QUERY_LENGTH} characters, got ${text.length}`);
  secondsParamUs(q, 'start');
  secondsParamUs(q, 'end');
}

export const tempoRoutes: FastifyPluginAsync<{ query: QueryService; version?: string }> = async (app, { query, version }) => {
  app.get<{ Querystring: QueryString }>('/api/search', async (req) => {
    const r = parseTraceQLRequest(req.query, { timeUnit: 's', defaultLimit: TEMPO_DEFAULT_LIMIT, maxLimit: query.limits.maxLimit });
    const result = await runTraceQLRequest(query, r);
    const fields = mentionedFields(r.query);
    return {
      traces: result.matches.map((m) => toTempoMetadata(m, fields, r.spss)),
      metrics: { inspectedTraces: result.inspectedTraces, inspectedSpans: String(result.inspectedSpans), inspectedBytes: '0', completedJobs: 1, totalJobs: 1 },
      ...(result.stoppedEarly ? { warnings: [result.stoppedEarly] } : {}),
    };
  });

  const traceById = async (rawId: string, q: QueryString) => {
    const id = traceIdParam(rawId);
    const { traces, budget } = await query.getTraces([id], { startTimeMinUs: secondsParamUs(q, 'start'), startTimeMaxUs: secondsParamUs(q, 'end') });
    const trace = traces[0];
    if (!trace || trace.spans.length === 0) throw new NotFoundError('trace not found', id);
    const cut = budget.cutTraces.get(id);
    return { otlp: spansToOtlpJson(trace.spans), cut: cut ? cutTraceWarning(cut.loaded, cut.total, budget.maxSpans) : undefined };
  };
  // Grafana's Tempo data source asks for protobuf (`Accept: application/protobuf`) and decodes the
  // body as OTLP TracesData; other clients get Tempo's JSON.
  const wantsProtobuf = (accept: string | undefined) => /application\/(x-)?protobuf/.test(accept ?? '');
  app.get<{ Params: { id: string }; Querystring: QueryString }>('/api/traces/:id', async (req, reply) => {
    const { otlp } = await traceById(req.params.id, req.query);
    if (wantsProtobuf(req.headers.accept)) return reply.type('application/protobuf').send(encodeTracesDataProtobuf(otlp));
    return { batches: otlp.resourceSpans };
  });
  app.get<{ Params: { id: string }; Querystring: QueryString }>('/api/v2/traces/:id', async (req, reply) => {
    const { otlp, cut } = await traceById(req.params.id, req.query);
    // TraceByIDResponse { Trace trace = 1; … }: the partial-status fields are left out of the protobuf form.
    if (wantsProtobuf(req.headers.accept)) return reply.type('application/protobuf').send(wrapAsField1(encodeTracesDataProtobuf(otlp)));
    return { trace: otlp, ...(cut ? { status: 'partial', message: cut } : {}) };
  });

  const names = async () => (await query.reader.getTagNames?.()) ?? { span: [], resource: [] };
  app.get<{ Querystring: QueryString }>('/api/search/tags', async (req) => {
    checkTagParams(req.query);
    const n = await names();
    return { tagNames: [...new Set([...n.span, ...n.resource])].sort() };
  });
  app.get<{ Querystring: QueryString }>('/api/v2/search/tags', async (req) => {
    checkTagParams(req.query);
    const scope = one(req.query, 'scope') ?? 'none';
    if (!(SCOPES as readonly string[]).includes(scope)) throw new BadRequestError(`unable to parse param 'scope': expecting one of ${SCOPES.join(', ')}, got "${scope}"`);
    const n = await names();
    const all = [
      { name: 'span', tags: n.span },
      { name: 'resource', tags: n.resource },
      { name: 'intrinsic', tags: intrinsicTagNames() },
    ];
    return { scopes: scope === 'none' ? all : all.filter((s) => s.name === scope) };
  });
  app.get<{ Params: { tag: string }; Querystring: QueryString }>('/api/search/tag/:tag/values', async (req) => {
    checkTagParams(req.query);
    // v1 tags are unscoped attribute names.
    const values = await tagValues(query, `.${req.params.tag}`);
    return { tagValues: values.map((v) => v.value) };
  });
  app.get<{ Params: { tag: string }; Querystring: QueryString }>('/api/v2/search/tag/:tag/values', async (req) => {
    checkTagParams(req.query);
    return { tagValues: await tagValues(query, req.params.tag) };
  });

  app.get('/api/echo', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('echo'));
  app.get('/api/status/buildinfo', async () => ({
    version: TEMPO_API_VERSION,
    revision: `meshtrace-${version ?? 'dev'}`,
    branch: 'meshtrace',
    buildUser: 'meshtrace',
    buildDate: '',
    goVersion: '',
  }));
};

export default tempoRoutes;
