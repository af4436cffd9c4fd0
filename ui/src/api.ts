/**
 * The UI's only door to the server: the Jaeger query API (plus the documented meshtrace
 * extensions under `api/ext/`, each with a fallback to plain Jaeger data where one exists).
 * The API base comes from `<meta name="meshtrace-api-base">`, which the server sets.
 */
import type { PropagationProblem } from '../../query/routes/propagation.js';
import type { ServiceGraph } from '../../query/service-graph.js';
import type { MetricFamily } from '../../query/span-metrics.js';
import type { MeshStatus, MeshTopology } from '../../control-plane/api.js';
import type { CompactTrace, DependencyLink, Envelope, Trace } from './jaeger-types.js';
import type { TagNames } from './traceql-complete.js';

export class ApiError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

function apiBase(): string {
  const meta = document.querySelector('meta[name="meshtrace-api-base"]')?.getAttribute('content') || '/';
  return new URL(meta, document.baseURI).href;
}

const TENANT_KEY = 'meshtrace.tenant';

/**
 * With tenancy on, the server names its tenant header in `<meta name="meshtrace-tenancy-header">`.
 * A tenant chosen with `?tenant=NAME` on any page is remembered in this browser and sent in that
 * header; without one nothing is added (a reverse proxy in front may set the header itself, as
 * for Jaeger UI).
 */
export function tenancy(): { header: string; tenant: string | null } | undefined {
  const header = document.querySelector('meta[name="meshtrace-tenancy-header"]')?.getAttribute('content');
  if (!header) return undefined;
  const fromUrl = new URLSearchParams(location.search).get('tenant');
  try {
    if (fromUrl) localStorage.setItem(TENANT_KEY, fromUrl);
    return { header, tenant: fromUrl || localStorage.getItem(TENANT_KEY) };
  } catch {
    return { header, tenant: fromUrl }; // storage disabled
  }
}

/** GETs `path` (relative, e.g. `api/services`) and returns the envelope; throws ApiError with the server's message. */
export async function getEnvelope<T>(path: string, signal?: AbortSignal): Promise<Envelope<T>> {
  return getJson<Envelope<T>>(path, signal);
}

/** GETs a JSON body (an envelope, or a bare object like the metrics API's); errors as `getEnvelope`. */
async function getJson<T extends { errors?: { msg: string }[] | null }>(path: string, signal?: AbortSignal): Promise<T> {
  const url = new URL(path, apiBase());
  const t = tenancy();
  let res: Response;
  try {
    // No other custom headers: the request must match the server's <link rel="preload"> to reuse it.
    res = await fetch(url, { signal, ...(t?.tenant ? { headers: { [t.header]: t.tenant } } : {}) });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(`Cannot reach the query server (${url.host}): ${(e as Error).message}`, 0);
  }
  let body: T | undefined;
  try {
    body = (await res.json()) as T;
  } catch {
    // fall through: non-JSON body
  }
  if (!res.ok || !body) {
    let msg = body?.errors?.map((x) => x.msg).join('; ') || `${res.status} ${res.statusText}`;
    if (res.status === 401 && t) msg += ` (open the UI with ?tenant=NAME, or through a proxy that sets the ${t.header} header)`;
    throw new ApiError(msg, res.status);
  }
  return body;
}

/** True for the 404 of a server that lacks a route (a plain Jaeger API), as opposed to a missing trace. */
export function isMissingRoute(e: unknown): boolean {
  return e instanceof ApiError && e.status === 404 && !/\b(trace|span) not found/i.test(e.message);
}

export const api = {
  services: (signal?: AbortSignal) => getEnvelope<string[]>('api/services', signal).then((e) => e.data ?? []),
  operations: (service: string, signal?: AbortSignal) =>
    getEnvelope<string[]>(`api/services/${encodeURIComponent(service)}/operations`, signal).then((e) => e.data ?? []),
  search: (query: string, signal?: AbortSignal) => getEnvelope<Trace[]>(`api/traces?${query}`, signal),
  /** TraceQL search (meshtrace extension): traces with `matchedSpanIDs`. */
  traceql: (query: string, signal?: AbortSignal) => getEnvelope<Trace[]>(`api/ext/search?${query}`, signal),
  /** Attribute names for the TraceQL field's autocomplete (meshtrace extension). */
  traceqlTags: (signal?: AbortSignal) => getEnvelope<TagNames>('api/ext/search/tags', signal).then((e) => e.data),
  traceqlTagValues: (tag: string, signal?: AbortSignal) =>
    getEnvelope<{ type: string; value: string }[]>(`api/ext/search/tag-values?tag=${encodeURIComponent(tag)}`, signal).then((e) => e.data ?? []),
  trace: (id: string, signal?: AbortSignal) =>
    getEnvelope<Trace[]>(`api/traces/${encodeURIComponent(id)}`, signal).then((e) => {
      if (!e.data?.length) throw new ApiError(`Trace ${id} not found`, 404);
      return e.data[0];
    }),
  /** meshtrace extension; ApiError 404 "no route…" on servers without it. */
  traceCompact: (id: string, signal?: AbortSignal) =>
    getEnvelope<CompactTrace>(`api/ext/traces/${encodeURIComponent(id)}/compact`, signal).then((e) => e.data),
  /** One span with tags, logs and process, as a one-span Jaeger trace (meshtrace extension). */
  span: (id: string, spanId: string, signal?: AbortSignal) =>
    getEnvelope<Trace[]>(`api/ext/traces/${encodeURIComponent(id)}/spans/${encodeURIComponent(spanId)}`, signal).then((e) => e.data[0]),
  /** Span ids matching `q` in any tag, event or resource value (meshtrace extension). */
  findInTrace: (id: string, q: string, signal?: AbortSignal) =>
    getEnvelope<string[]>(`api/ext/traces/${encodeURIComponent(id)}/find?q=${encodeURIComponent(q)}`, signal).then((e) => e.data ?? []),
  dependencies: (endTsMs: number, lookbackMs: number, signal?: AbortSignal) =>
    getEnvelope<DependencyLink[]>(`api/dependencies?endTs=${endTsMs}&lookback=${lookbackMs}`, signal).then((e) => e.data ?? []),
  serviceGraph: (endTsMs: number, lookbackMs: number, signal?: AbortSignal) =>
    getEnvelope<ServiceGraph>(`api/ext/service-graph?endTs=${endTsMs}&lookback=${lookbackMs}`, signal).then((e) => e.data),
  /** Jaeger's RED metrics API (`/api/metrics/{latencies,calls,errors}`): an OpenMetrics MetricFamily, not an envelope. */
  metrics: (type: 'latencies' | 'calls' | 'errors', query: string, signal?: AbortSignal) =>
    getJson<MetricFamily & { errors?: { msg: string }[] | null }>(`api/metrics/${type}?${query}`, signal),
  /** meshtrace extension: the control plane's sidecars and config version (404 when the server runs no control plane). */
  meshStatus: (signal?: AbortSignal) => getJson<MeshStatus & { controlPlaneUrl: string; errors?: null }>('api/ext/mesh/status', signal),
  /** meshtrace extension: registry + config as services, versions, routes and mTLS (for the mesh page). */
  meshTopology: (signal?: AbortSignal) => getJson<MeshTopology & { errors?: null }>('api/ext/mesh/topology', signal),
  /** meshtrace extension: services whose apps drop trace context (the sidecar's propagation doctor). */
  propagation: (endTsMs: number, lookbackMs: number, signal?: AbortSignal) =>
    getEnvelope<PropagationProblem[]>(`api/ext/propagation?endTs=${endTsMs}&lookback=${lookbackMs}`, signal).then((e) => e.data ?? []),
};

// Extension payloads: the server's own types, so the two sides cannot drift (type-only, erased at build).
export type { PropagationProblem } from '../../query/routes/propagation.js';
export type { ServiceGraph } from '../../query/service-graph.js';
export type { MetricFamily } from '../../query/span-metrics.js';
export type { MeshStatus, MeshTopology } from '../../control-plane/api.js';
