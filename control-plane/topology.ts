import type { ConfigVersion, MeshTopology, SidecarStatus, TopologyRoute } from './api.js';

/**
 * The mesh page's view of registry + config (Kiali's graph, minus the traffic numbers, which the
 * UI takes from the span metrics): services with versions and instances, every route with its
 * split in percent, retries, faults and timeout, and which caller → upstream pairs originate mTLS
 * (ISTIO_MUTUAL policies, and auto mTLS between sidecars that run it).
 * Pure; reads the stored (valid) config as written, `{ service, version }` destinations included.
 */
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function buildTopology(config: ConfigVersion, sidecars: readonly SidecarStatus[]): MeshTopology {
  const byService = new Map<string, Map<string, SidecarStatus[]>>();
  for (const s of sidecars) {
    const versions = byService.get(s.service) ?? new Map<string, SidecarStatus[]>();
    byService.set(s.service, versions);
    versions.set(s.version, [...(versions.get(s.version) ?? []), s]);
  }
  const services = [...byService].sort(([a], [b]) => a.localeCompare(b)).map(([name, versions]) => ({
    name,
    versions: [...versions].sort(([a], [b]) => a.localeCompare(b)).map(([version, instances]) => ({ version, instances })),
    mtls: [...new Set([...versions.values()].flat().map((i) => i.mtls))].sort().join(','),
  }));

  const doc = config.config;
  const layers: [string, Record<string, unknown>][] = [['*', doc]];
  if (isObject(doc['services'])) for (const [n, e] of Object.entries(doc['services'])) if (isObject(e)) layers.push([n, e]);
  const routes: TopologyRoute[] = [];
  const mutualTls: { from: string; to: string }[] = [];
  for (const [from, layer] of layers) {
    if (Array.isArray(layer['routes'])) {
      for (const r of layer['routes'] as Record<string, unknown>[]) {
        const dests = (Array.isArray(r['destinations']) ? r['destinations'] : []) as Record<string, unknown>[];
        const total = dests.reduce((s, d) => s + (typeof d['weight'] === 'number' ? d['weight'] : 1), 0) || 1;
        const retries = isObject(r['retries']) ? r['retries']['attempts'] : undefined;
        const fault = isObject(r['fault']) ? r['fault'] : undefined;
        const delay = fault && isObject(fault['delay']) ? fault['delay'] : undefined;
        const abort = fault && isObject(fault['abort']) ? fault['abort'] : undefined;
        routes.push({
          from,
          host: String(r['host']),
          ...(typeof r['name'] === 'string' ? { name: r['name'] } : {}),
          split: dests.map((d) => ({
            service: typeof d['service'] === 'string' ? d['service'] : String(d['upstream']),
            ...(typeof d['version'] === 'string' ? { version: d['version'] } : {}),
            ...(typeof d['upstream'] === 'string' ? { upstream: d['upstream'] } : {}),
            percent: Math.round(((typeof d['weight'] === 'number' ? d['weight'] : 1) / total) * 1000) / 10,
          })),
          ...(typeof retries === 'number' ? { retries } : {}),
          ...(fault ? { fault: {
            ...(delay ? { delayPercent: Number(delay['percent']) } : {}),
            ...(abort ? { abortPercent: Number(abort['percent']), abortStatus: Number(abort['httpStatus']) } : {}),
          } } : {}),
          ...(typeof r['timeoutMs'] === 'number' ? { timeoutMs: r['timeoutMs'] } : {}),
          match: Array.isArray(r['match']) && r['match'].length > 0,
        });
      }
    }
    if (isObject(layer['upstreamPolicies'])) {
      for (const [to, p] of Object.entries(layer['upstreamPolicies'])) {
        if (isObject(p) && isObject(p['tls']) && p['tls']['mode'] === 'ISTIO_MUTUAL') mutualTls.push({ from, to });
      }
    }
  }
  // Auto mTLS (control-plane/render.ts): callers running mTLS to services whose instances all accept it,
  // unless a policy of the caller's layer or the top level sets `tls` for that service.
  const explicitTls = (from: string, to: string) => layers.some(([f, layer]) => (f === '*' || f === from)
    && isObject(layer['upstreamPolicies']) && isObject(layer['upstreamPolicies'][to]) && 'tls' in layer['upstreamPolicies'][to]);
  const modes = new Map(services.map((s) => [s.name, s.versions.flatMap((v) => v.instances.map((i) => i.mtls))]));
  // As endpoints, only ready instances count (render.ts sees the registry's endpoints).
  const endpointModes = new Map(services.map((s) => [s.name, s.versions.flatMap((v) => v.instances.filter((i) => i.ready).map((i) => i.mtls))]));
  for (const [from, fm] of modes) {
    if (!fm.some((m) => m !== 'DISABLE')) continue;
    for (const [to, tm] of endpointModes) {
      if (to === from || !tm.length || tm.some((m) => m === 'DISABLE') || explicitTls(from, to)) continue;
      if (!mutualTls.some((m) => (m.from === from || m.from === '*') && m.to === to)) mutualTls.push({ from, to });
    }
  }
  return { version: config.version, services, routes, mutualTls };
}
