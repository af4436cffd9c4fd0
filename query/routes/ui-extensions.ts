/**
 * meshtrace extensions to the Jaeger query API, used by the meshtrace UI. They live under
 * `/api/ext/` so they can never collide with a Jaeger route; the Jaeger routes stay exact.
 * Responses use the Jaeger envelope `{data, total, limit, offset, errors}`; errors are thrown as
 * the query app's typed errors and rendered by its one error handler. Built only on the storage
 * interfaces (`TraceReader`, `DependencyReader`), no SQL.
 *
 * ## GET /api/ext/service-graph?endTs=<ms>&lookback=<ms>&sampleTraces=<n>
 * The service graph with latency and uninstrumented peers.
 * - `endTs`: end of the window, ms since the epoch (default now); `lookback`: window length, ms
 *   (default 24 h), as in `/api/dependencies`.
 * - `sampleTraces`: how many of the most recent traces in the window to read for latency and
 *   virtual nodes (default 500, 1…5000). 0 is invalid.
 * - `data`: `{nodes: [{id, kind: "service"|"database"|"external"}],
 *   edges: [{parent, child, callCount, errorCount, p50Us, p95Us}], tracesScanned}`.
 *   Service→service `callCount`/`errorCount` come from the dependency store (all calls in the
 *   window, as `/api/dependencies`); edges to virtual nodes and the latency percentiles (µs, the
 *   caller's view when the caller span is CLIENT/PRODUCER, null when not sampled) come from the
 *   `tracesScanned` sampled traces. Virtual nodes: CLIENT spans that no SERVER/CONSUMER span (and no
 *   span of another service) answers, named by `db.system`[/`db.name`] (kind database) or
 *   `peer.service` / `server.address` / `net.peer.name` / `http.host` (kind external).
 *   `mesh` (when a meshtrace sidecar's call on the edge was sampled): `{calls, retried, faults,
 *   ejections}` over the sampled logical sidecar calls (query/service-graph.ts).
 *
 * ## GET /api/ext/traces/{traceID}/compact[?raw=true]
 * One trace in compact form for big waterfalls (~1/10 of Jaeger JSON): `data` is
 * `{traceID, warnings, services: [name], operations: [name], spans: {spanID: [], parentSpanID: [],
 * startTime: [], duration: [], service: [], operation: [], kind: [], flags: []}}` — parallel arrays,
 * one entry per span; `service`/`operation` index the name lists; times µs; `kind` is the OTLP
 * number (2 server, 3 client, …); `flags` bit 0 = error, bit 1 = has warnings, bit 2 = has links.
 * Span warnings appear in `warnings` as `span <spanID>: <text>`. `mesh` (only when a sidecar acted
 * on a span: retry tries, faults, overflow, ejection, timeouts) lists `{span: <index>, attempt?,
 * backoffMs?, events: [{name, time, attributes}]}` for the waterfall's markers. Same adjusters as
 * `/api/traces/{id}` unless `raw=true`. Missing trace → 404 "trace not found" (Jaeger's shape).
 *
 * ## GET /api/ext/traces/{traceID}/spans/{spanID}[?raw=true]
 * One span with everything (tags, logs, references, process): `data` is a Jaeger trace JSON
 * object holding just that span and its process. 404 "trace not found" / "span not found".
 *
 * ## GET /api/ext/traces/{traceID}/find?q=<text>[&raw=true]
 * Find in trace on the server (for compact traces, whose tags the client does not have): `data`
 * is the ids of spans whose operation, service, span id, or any attribute / resource attribute /
 * event name or attribute key or value contains `q`, case-insensitively. `q` is required.
 *
 * The three trace endpoints share a cache of adjusted traces (at most 300 000 spans, 60 s), so the
 * details of a span of a trace just opened come back without re-reading the trace.
 *
 * Bounds (query/limits.ts): `endTs` a Unix time up to year 2200, `lookback` at most 100 years,
 * `q` at most 1,000 characters. A trace larger than the span budget (`--query-max-spans`) is read
 * cut to its earliest spans with a trace warning saying so; the service graph's sample is held to
 * the same budget, and `errors` says when it read fewer traces.
 */
import type { FastifyPluginAsync } from 'fastify';
import { attributeValueAsString, type Attribute, type Span, type Trace } from '../../model/span.js';
import type { DependencyReader, TraceReader } from '../../storage/api.js';
import { SpanBudget } from '../../storage/span-budget.js';
import { toCompactTrace } from '../compact-trace.js';
import { envelope } from '../envelope.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { normalizeTraceId } from '../jaeger/ids.js';
import { toJaegerTrace } from '../jaeger/from-model.js';
import { boundedInt, cutTraceWarning, DEFAULT_QUERY_LIMITS, durationMsParam, omittedTracesMessage, timeMsParam } from '../limits.js';
import { bool, one, type QueryString } from '../query-params.js';
import { buildServiceGraph } from '../service-graph.js';
import { TraceCache } from '../trace-cache.js';

export interface UiExtensionsOptions {
  reader: TraceReader;
  dependencies: DependencyReader;
  /** Query-time adjusters to apply to traces read here (the query service's `adjust`); default none. */
  adjust?: (trace: Trace) => Trace;
  /** Bounds of the trace cache; default 300 000 spans, 60 s. */
  cache?: { maxSpans: number; ttlMs: number };
  /** Most spans one response reads (the query server's `--query-max-spans`); default `DEFAULT_QUERY_LIMITS.maxSpans`. */
  maxSpans?: number;
}

function traceIdParam(raw: string): string {
  const id = normalizeTraceId(raw);
  if (!id) throw new BadRequestError(`malformed 'traceID' parameter: '${raw}' is not a 1-32 character hex trace id`);
  return id;
}

/** Whether any of the texts contains `needle` (already lowercase). */
function spanMatches(s: Span, needle: string): boolean {
  const has = (v: string) => v.toLowerCase().includes(needle);
  const attrsHave = (attrs: readonly Attribute[]) => attrs.some((a) => has(a.key) || has(attributeValueAsString(a)));
  return has(s.name) || has(s.resource.serviceName) || s.spanId === needle || attrsHave(s.attributes) ||
    attrsHave(s.resource.attributes) || s.events.some((e) => has(e.name) || attrsHave(e.attributes));
}

const DEFAULT_LOOKBACK_MS = 24 * 3600 * 1000;
const DEFAULT_SAMPLE_TRACES = 500;
const MAX_SAMPLE_TRACES = 5000;
const MAX_FIND_TEXT = 1000;

export const uiExtensionRoutes: FastifyPluginAsync<UiExtensionsOptions> = async (app, opts) => {
  const adjust = opts.adjust ?? ((t: Trace) => t);
  const maxSpans = opts.maxSpans ?? DEFAULT_QUERY_LIMITS.maxSpans;
  const cache = new TraceCache(opts.cache ?? { maxSpans: 300_000, ttlMs: 60_000 });
  const loading = new Map<string, Promise<Trace | undefined>>();

  /** The (adjusted unless raw) trace, from the cache or storage; concurrent loads of one trace share a read. */
  const loadTrace = async (rawId: string, q: QueryString): Promise<Trace> => {
    const id = traceIdParam(rawId);
    const raw = bool(q, 'raw');
    const key = `${id}${raw ? ':raw' : ''}`;
    let trace = cache.get(key);
    if (!trace) {
      let p = loading.get(key);
      if (!p) {
        const budget = new SpanBudget(maxSpans);
        p = opts.reader.getTraces({ traceIds: [id] }, budget).then((ts) => {
          const t = ts[0];
          if (!t || t.spans.length === 0) return undefined;
          const adjusted = raw ? t : adjust(t);
          const cut = budget.cutTraces.get(t.traceId);
          if (cut) adjusted.warnings = [...(adjusted.warnings ?? []), cutTraceWarning(cut.loaded, cut.total, maxSpans)];
          cache.set(key, adjusted);
          return adjusted;
        }).finally(() => loading.delete(key));
        loading.set(key, p);
      }
      trace = await p;
    }
    if (!trace) throw new NotFoundError('trace not found', id);
    return trace;
  };

  // Serialized compact form per cached trace object: reopening a big trace sends bytes, no re-encoding.
  const compactJson = new WeakMap<Trace, string>();
  app.get<{ Params: { traceID: string }; Querystring: QueryString }>('/api/ext/traces/:traceID/compact', async (req, reply) => {
    const trace = await loadTrace(req.params.traceID, req.query);
    let body = compactJson.get(trace);
    if (body === undefined) {
      body = JSON.stringify(envelope(toCompactTrace(trace), { total: 1 }));
      compactJson.set(trace, body);
    }
    return reply.type('application/json; charset=utf-8').send(body);
  });

  app.get<{ Params: { traceID: string; spanID: string }; Querystring: QueryString }>('/api/ext/traces/:traceID/spans/:spanID', async (req) => {
    const trace = await loadTrace(req.params.traceID, req.query);
    const spanId = req.params.spanID.toLowerCase();
    const key = `${trace.traceId}${bool(req.query, 'raw') ? ':raw' : ''}`;
    const span = cache.getSpan(key, spanId) ?? trace.spans.find((s) => s.spanId === spanId);
    if (!span) throw new NotFoundError('span not found', trace.traceId);
    return envelope([toJaegerTrace({ traceId: trace.traceId, spans: [span] })], { total: 1 });
  });

  app.get<{ Params: { traceID: string }; Querystring: QueryString }>('/api/ext/traces/:traceID/find', async (req) => {
    const q = one(req.query, 'q');
    if (q === undefined || !q.trim()) throw new BadRequestError("parameter 'q' is required");
    if (q.length > MAX_FIND_TEXT) throw new BadRequestError(`unable to parse param 'q': at most ${MAX_FIND_TEXT} characters, got ${q.length}`);
    const trace = await loadTrace(req.params.traceID, req.query);
    const needle = q.trim().toLowerCase();
    const ids = trace.spans.filter((s) => spanMatches(s, needle)).map((s) => s.spanId);
    return envelope(ids, { total: ids.length });
  });

  app.get<{ Querystring: QueryString }>('/api/ext/service-graph', async (req) => {
    const endTs = timeMsParam(req.query, 'endTs') ?? Date.now();
    const lookback = durationMsParam(req.query, 'lookback', 0) ?? DEFAULT_LOOKBACK_MS;
    const sample = boundedInt(req.query, 'sampleTraces', 1, MAX_SAMPLE_TRACES) ?? DEFAULT_SAMPLE_TRACES;
    const budget = new SpanBudget(maxSpans);
    const startUs = (endTs - lookback) * 1000;
    const endUs = endTs * 1000;
    const [links, traces] = await Promise.all([
      opts.dependencies.getDependencies({ startUs, endUs }),
      opts.reader.findTraces({ startTimeMinUs: startUs, startTimeMaxUs: endUs, limit: sample }, budget),
    ]);
    const graph = buildServiceGraph(links, traces.map(adjust));
    const omitted = budget.omittedTraceIds.length;
    return envelope(graph, { total: graph.edges.length, errors: omitted > 0 ? [{ msg: omittedTracesMessage(traces.length, omitted, maxSpans, 'sampleTraces') }] : null });
  });
};

export default uiExtensionRoutes;
