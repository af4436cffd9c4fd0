/**
 * `GET /api/ext/search?q=<TraceQL>&start=<µs>&end=<µs>&limit=<n>` — TraceQL search in the Jaeger
 * envelope, for the meshtrace UI: `data` is Jaeger trace objects (adjusted like `/api/traces`),
 * each with `matchedSpanIDs` (the spans the query matched, for highlighting). `start`/`end` are µs
 * as in `/api/traces`; default the last 48 h; `limit` default 20, at most `--query-max-limit`.
 * `errors` says when a search bound ended the search early or the span budget left traces out.
 * A syntax error is a 400 whose message is `invalid TraceQL query: line:column: expected …`.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Span } from '../../model/span.js';
import { SpanBudget } from '../../storage/span-budget.js';
import { envelope } from '../envelope.js';
import { BadRequestError } from '../errors.js';
import { toJaegerTrace } from '../jaeger/from-model.js';
import type { JaegerError } from '../jaeger/model.js';
import { cutTraceWarning, omittedTracesMessage } from '../limits.js';
import { one, type QueryString } from '../query-params.js';
import type { QueryService } from '../trace-service.js';
import { parseTraceQLRequest, runTraceQLRequest } from '../traceql/request.js';
import { intrinsicTagNames, tagValues } from '../traceql/tag-values.js';

const DEFAULT_LIMIT = 20;

export const traceqlSearchRoutes: FastifyPluginAsync<{ query: QueryService }> = async (app, { query }) => {
  app.get<{ Querystring: QueryString }>('/api/ext/search', async (req) => {
    const r = parseTraceQLRequest(req.query, { timeUnit: 'us', defaultLimit: DEFAULT_LIMIT, maxLimit: query.limits.maxLimit });
    const result = await runTraceQLRequest(query, r);
    // The answer carries whole traces: held to the response span budget like /api/traces.
    const budget = new SpanBudget(query.limits.maxSpans);
    const data = [];
    for (const m of result.matches) {
      const trace = m.index.trace;
      const admitted = budget.admit(trace.traceId, trace.spans.length);
      if (admitted === 0) continue;
      let spans: Span[] = trace.spans;
      const warnings = [...(trace.warnings ?? [])];
      if (admitted < spans.length) {
        spans = [...spans].sort((a, b) => a.startTimeUs - b.startTimeUs).slice(0, admitted);
        warnings.push(cutTraceWarning(admitted, trace.spans.length, budget.maxSpans));
      }
      const adjusted = query.adjust({ traceId: trace.traceId, spans, warnings });
      data.push({ ...toJaegerTrace(adjusted), matchedSpanIDs: m.spans.map((s) => s.spanId) });
    }
    const errors: JaegerError[] = [];
    if (result.stoppedEarly) errors.push({ msg: result.stoppedEarly });
    if (budget.omittedTraceIds.length) errors.push({ msg: omittedTracesMessage(data.length, budget.omittedTraceIds.length, budget.maxSpans) });
    return envelope(data, { total: data.length, errors });
  });

  /**
   * `GET /api/ext/search/tags` → `data: {span: [names], resource: [names], intrinsic: [names]}`;
   * `GET /api/ext/search/tag-values?tag=<span.x|resource.x|.x|intrinsic>` → `data: [{type, value}]`.
   * Autocomplete for the UI's query field (same sources as the Tempo tag routes).
   */
  app.get('/api/ext/search/tags', async () => {
    const names = (await query.reader.getTagNames?.()) ?? { span: [], resource: [] };
    return envelope({ ...names, intrinsic: intrinsicTagNames() });
  });
  app.get<{ Querystring: QueryString }>('/api/ext/search/tag-values', async (req) => {
    const tag = one(req.query, 'tag');
    if (tag === undefined) throw new BadRequestError("parameter 'tag' is required");
    const values = await tagValues(query, tag);
    return envelope(values, { total: values.length });
  });
};

export default traceqlSearchRoutes;
