/**
 * The service graph behind the UI's `/dependencies` page (meshtrace extension
 * `GET /api/ext/service-graph`, see query/routes/ui-extensions.ts): Jaeger's parent→child call
 * counts, plus per edge the error count and p50/p95 latency computed from a sample of recent
 * traces, plus virtual nodes for what services call but nobody instruments (databases, external
 * hosts), found on CLIENT spans that no SERVER span answers, plus per edge what meshtrace
 * sidecars did to the calls in the sample (retried, fault-injected, ejections; issue 12).
 *
 * Pure: callers pass the dependency links and the sampled traces.
 */
import { findAttribute, attributeValueAsString, SpanKind, StatusCode, type DependencyLink, type Span, type Trace } from '../model/span.js';

export type GraphNodeKind = 'service' | 'database' | 'external';

export interface GraphNode {
  id: string;
  kind: GraphNodeKind;
}

export interface GraphEdge {
  parent: string;
  child: string;
  /** Calls in the window: from the dependency store for service→service edges, else counted in the sample. */
  callCount: number;
  /** Calls whose callee (or, for virtual nodes, the client span) had ERROR status. */
  errorCount: number;
  /** Latency percentiles over the sampled calls, µs; null when the sample had none. */
  p50Us: number | null;
  p95Us: number | null;
  /** What sidecars did on this edge, from the sampled traces; absent when no sidecar call was sampled. */
  mesh?: EdgeMesh;
}

/**
 * Sidecar decisions on one edge, counted over the sampled traces' logical sidecar CLIENT spans
 * (`component=proxy`, not a per-try span): rates are `retried / calls` and `faults / calls`.
 */
export interface EdgeMesh {
  /** Logical sidecar calls sampled on this edge. */
  calls: number;
  /** Of them, retried (`meshtrace.retried=true`). */
  retried: number;
  /** Of them, with an injected fault (`meshtrace.fault`). */
  faults: number;
  /** `meshtrace.ejection` events on this edge's calls and tries. */
  ejections: number;
}

export interface ServiceGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Number of traces the latencies and virtual nodes were computed from. */
  tracesScanned: number;
}

function attr(span: Span, key: string): string | undefined {
  const a = findAttribute(span.attributes, key);
  return a ? attributeValueAsString(a) : undefined;
}

/**
 * The uninstrumented peer a CLIENT span called, or undefined if it names none. Databases by
 * `db.system` (with the database name when given), other peers by `peer.service`, then
 * `server.address` / `net.peer.name` / `http.host` (current and older semantic conventions).
 */
export function virtualPeer(span: Span): GraphNode | undefined {
  const db = attr(span, 'db.system.name') ?? attr(span, 'db.system');
  if (db) {
    const name = attr(span, 'db.namespace') ?? attr(span, 'db.name');
    return { id: name ? `${db}/${name}` : db, kind: 'database' };
  }
  const host = attr(span, 'peer.service') ?? attr(span, 'server.address') ?? attr(span, 'net.peer.name') ?? attr(span, 'http.host');
  return host ? { id: host, kind: 'external' } : undefined;
}

/** Nearest-rank percentile of sorted values. */
function pct(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Counts a sidecar CLIENT span's mesh decisions on its edge (caller service → `peer.service`). */
function meshOfCall(s: Span, acc: (parent: string, child: string) => { mesh?: EdgeMesh }): void {
  if (attr(s, 'component') !== 'proxy') return;
  const peer = attr(s, 'peer.service');
  if (!peer) return;
  const tryNo = findAttribute(s.attributes, 'meshtrace.attempt');
  const ejected = attr(s, 'meshtrace.ejection') === 'true';
  if (tryNo && !ejected) return;
  const m = (acc(s.resource.serviceName, peer).mesh ??= { calls: 0, retried: 0, faults: 0, ejections: 0 });
  if (ejected) for (const e of s.events) if (e.name === 'meshtrace.ejection') m.ejections++;
  if (tryNo) return;
  m.calls++;
  if (attr(s, 'meshtrace.retried') === 'true') m.retried++;
  if (attr(s, 'meshtrace.fault') !== undefined) m.faults++;
}

export function buildServiceGraph(links: readonly DependencyLink[], traces: readonly Trace[]): ServiceGraph {
  interface Acc { calls: number; errors: number; latencies: number[]; mesh?: EdgeMesh }
  const sampled = new Map<string, Acc>();
  const nodes = new Map<string, GraphNodeKind>();
  const acc = (parent: string, child: string) => {
    const key = `${parent}\u0000${child}`;
    let a = sampled.get(key);
    if (!a) sampled.set(key, (a = { calls: 0, errors: 0, latencies: [] }));
    return a;
  };

  for (const trace of traces) {
    const byId = new Map<string, Span>();
    for (const s of trace.spans) byId.set(s.spanId, s);
    // Which spans are answered by a span of another service (or any SERVER/CONSUMER span).
    const answered = new Set<string>();
    for (const s of trace.spans) {
      const p = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
      if (!p) continue;
      // A CLIENT span over CLIENT spans (a sidecar's logical call over its tries) is not itself a leaf call.
      if (p.resource.serviceName !== s.resource.serviceName || s.kind === SpanKind.SERVER || s.kind === SpanKind.CONSUMER || (p.kind === SpanKind.CLIENT && s.kind === SpanKind.CLIENT)) answered.add(p.spanId);
      if (p.resource.serviceName === s.resource.serviceName) continue;
      // A cross-service call: latency as the caller saw it when the caller is a CLIENT/PRODUCER span.
      const callerView = p.kind === SpanKind.CLIENT || p.kind === SpanKind.PRODUCER;
      const a = acc(p.resource.serviceName, s.resource.serviceName);
      a.calls++;
      if (s.status.code === StatusCode.ERROR) a.errors++;
      a.latencies.push(callerView ? p.durationUs : s.durationUs);
    }
    for (const s of trace.spans) {
      if (s.kind === SpanKind.CLIENT) meshOfCall(s, acc);
      if (s.kind !== SpanKind.CLIENT || answered.has(s.spanId)) continue;
      const peer = virtualPeer(s);
      if (!peer || peer.id === s.resource.serviceName) continue;
      if (!nodes.has(peer.id)) nodes.set(peer.id, peer.kind);
      const a = acc(s.resource.serviceName, peer.id);
      a.calls++;
      if (s.status.code === StatusCode.ERROR) a.errors++;
      a.latencies.push(s.durationUs);
    }
  }

  const edges = new Map<string, GraphEdge>();
  for (const l of links) {
    const key = `${l.parent}\u0000${l.child}`;
    const e = edges.get(key);
    if (e) { e.callCount += l.callCount; e.errorCount += l.errorCount ?? 0; }
    else edges.set(key, { parent: l.parent, child: l.child, callCount: l.callCount, errorCount: l.errorCount ?? 0, p50Us: null, p95Us: null });
  }
  for (const [key, a] of sampled) {
    const [parent, child] = key.split('\u0000');
    const sorted = a.latencies.sort((x, y) => x - y);
    let e = edges.get(key);
    if (!e) {
      // Not in the dependency store (a virtual node, or outside its window): counts from the sample.
      e = { parent, child, callCount: a.calls, errorCount: a.errors, p50Us: null, p95Us: null };
      edges.set(key, e);
    }
    e.p50Us = pct(sorted, 50);
    e.p95Us = pct(sorted, 95);
    if (a.mesh) e.mesh = a.mesh;
  }
  for (const e of edges.values()) {
    if (!nodes.has(e.parent)) nodes.set(e.parent, 'service');
    if (!nodes.has(e.child)) nodes.set(e.child, 'service');
  }
  // A caller is always a service, even if some span also named it as a peer.
  for (const e of edges.values()) nodes.set(e.parent, 'service');
  const rank: Record<GraphNodeKind, number> = { service: 0, database: 1, external: 2 };
  return {
    // Services first, then databases, then external hosts; by id within a kind.
    nodes: [...nodes].map(([id, kind]) => ({ id, kind })).sort((a, b) => rank[a.kind] - rank[b.kind] || a.id.localeCompare(b.id)),
    edges: [...edges.values()].sort((a, b) => a.parent.localeCompare(b.parent) || a.child.localeCompare(b.child)),
    tracesScanned: traces.length,
  };
}
