/**
 * The mesh page's view model (Kiali's graph without Kubernetes): the control plane's topology
 * (services, versions, instances, routes, mTLS, which sidecars are out of sync) joined with the
 * traffic the traces show (per edge: request rate, error rate, p95; per service: the share each
 * version served). Pure, so it is tested without a browser.
 */
import type { MeshTopology, SidecarStatus, TopologyRoute } from '../../control-plane/api.js';
import type { ServiceGraph } from '../../query/service-graph.js';

export interface MeshEdge {
  from: string;
  to: string;
  /** Requests per second over the window. */
  ratePerS: number;
  /** 0–100. */
  errorPercent: number;
  p95Us: number | null;
  /** The caller's sidecar originates mTLS to it (ISTIO_MUTUAL), or its instances accept only mTLS (STRICT). */
  mtls: boolean;
  /** Routes the caller's sidecar applies to this host. */
  routes: TopologyRoute[];
}

export interface MeshView {
  configVersion: number;
  services: MeshTopology['services'];
  edges: MeshEdge[];
  outOfSync: SidecarStatus[];
}

export function meshView(topo: MeshTopology, graph: ServiceGraph | undefined, windowMs: number): MeshView {
  const strict = new Set(topo.services.filter((s) => s.mtls === 'STRICT').map((s) => s.name));
  const mutual = (from: string, to: string) => strict.has(to) || topo.mutualTls.some((m) => (m.from === from || m.from === '*') && (m.to === to || m.to.startsWith(`${to}|`)));
  const routesFor = (from: string, to: string) => topo.routes.filter((r) => (r.from === from || r.from === '*') && r.host.split(':')[0] === to);
  const edges: MeshEdge[] = (graph?.edges ?? [])
    .filter((e) => e.parent !== e.child)
    .map((e) => ({
      from: e.parent,
      to: e.child,
      ratePerS: windowMs > 0 ? e.callCount / (windowMs / 1000) : 0,
      errorPercent: e.callCount ? (e.errorCount / e.callCount) * 100 : 0,
      p95Us: e.p95Us,
      mtls: mutual(e.parent, e.child),
      routes: routesFor(e.parent, e.child),
    }));
  // Routes for calls that did not happen yet still belong on the page.
  for (const r of topo.routes) {
    const to = r.host.split(':')[0];
    if (r.from !== '*' && !edges.some((e) => e.from === r.from && e.to === to)) {
      edges.push({ from: r.from, to, ratePerS: 0, errorPercent: 0, p95Us: null, mtls: mutual(r.from, to), routes: routesFor(r.from, to) });
    }
  }
  const outOfSync = topo.services.flatMap((s) => s.versions.flatMap((v) => v.instances)).filter((i) => !i.synced);
  return { configVersion: topo.version, services: topo.services, edges, outOfSync };
}

/** Share of the traces each version of a service appeared in, % (rounded to 0.1), from `versions` seen per trace. */
export function observedSplit(perTrace: readonly (readonly string[])[]): Record<string, number> {
  const counts: Record<string, number> = {};
  let total = 0;
  for (const versions of perTrace) {
    for (const v of new Set(versions)) { counts[v] = (counts[v] ?? 0) + 1; total++; }
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)).map(([v, n]) => [v, Math.round((n / total) * 1000) / 10]));
}

/** `reviews v1 90% · reviews v3 10%` */
export function splitLabel(r: TopologyRoute): string {
  return r.split.map((d) => `${d.version ? `${d.service} ${d.version}` : d.service} ${d.percent}%`).join(' · ');
}
