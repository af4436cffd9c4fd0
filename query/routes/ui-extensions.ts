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
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Trace } from '../../model/span.js';
import type { DependencyReader, TraceReader } from '../../storage/api.js';
import { envelope } from '../envelope.js';
import { BadRequestError } from '../errors.js';
import { integer, type QueryString } from '../query-params.js';
import { buildServiceGraph } from '../service-graph.js';

export interface UiExtensionsOptions {
  reader: TraceReader;
  dependencies: DependencyReader;
  /** Query-time adjusters to apply to traces read here (the query service's `adjust`); default none. */
  adjust?: (trace: Trace) => Trace;
}

const DEFAULT_LOOKBACK_MS = 24 * 3600 * 1000;
const DEFAULT_SAMPLE_TRACES = 500;
const MAX_SAMPLE_TRACES = 5000;

export const uiExtensionRoutes: FastifyPluginAsync<UiExtensionsOptions> = async (app, opts) => {
  app.get<{ Querystring: QueryString }>('/api/ext/service-graph', async (req) => {
    const endTs = integer(req.query, 'endTs') ?? Date.now();
    const lookback = integer(req.query, 'lookback') ?? DEFAULT_LOOKBACK_MS;
    if (lookback < 0) throw new BadRequestError("unable to parse param 'lookback': must not be negative");
    const sample = integer(req.query, 'sampleTraces') ?? DEFAULT_SAMPLE_TRACES;
    if (sample < 1 || sample > MAX_SAMPLE_TRACES) {
      throw new BadRequestError(`unable to parse param 'sampleTraces': must be between 1 and ${MAX_SAMPLE_TRACES}`);
    }
    const startUs = (endTs - lookback) * 1000;
    const endUs = endTs * 1000;
    const [links, traces] = await Promise.all([
      opts.dependencies.getDependencies({ startUs, endUs }),
      opts.reader.findTraces({ startTimeMinUs: startUs, startTimeMaxUs: endUs, limit: sample }),
    ]);
    const adjust = opts.adjust ?? ((t: Trace) => t);
    const graph = buildServiceGraph(links, traces.map(adjust));
    return envelope(graph, { total: graph.edges.length });
  });
};

export default uiExtensionRoutes;
