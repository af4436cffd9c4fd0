import { z } from 'zod';
import { ConfigError, parseProxyConfig, proxyConfigSchema } from '../proxy/config.js';
import { deepMerge, selectServiceConfig } from '../proxy/mesh-config.js';
import type { Endpoint } from './api.js';

/**
 * The mesh config (demo/mesh.json's schema: the sidecar's config keys at the top level for every
 * sidecar, `services.<name>` sections over them) and what one sidecar gets from it. Pure.
 *
 * One addition to the sidecar's schema: a route destination may name `{ service, version?, weight? }`
 * instead of `{ upstream }` (Istio's DestinationRule subsets by version label). The control plane
 * renders it to an upstream the sidecar knows: `reviews|v2` (the instances of reviews labelled v2)
 * or `reviews` (every instance), and fills `upstreams` with every registered service and subset.
 * The sidecar itself never learns about subsets or the registry.
 */

/** Upstream name of a subset: `reviews|v2` (Istio's cluster names use `|` the same way). */
export const subsetUpstream = (service: string, version?: string): string => version ? `${service}|${version}` : service;

const serviceDestinationSchema = z.object({
  /** A registered service's name. */
  service: z.string().min(1),
  /** Only the instances registered with this version label; absent = every instance. */
  version: z.string().min(1).optional(),
  weight: z.number().min(0).optional(),
}).strict();

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every config layer of the document: the top level and each `services.<name>` section, with its path prefix. */
function layers(doc: Record<string, unknown>): { prefix: string; layer: Record<string, unknown> }[] {
  const out = [{ prefix: '', layer: doc }];
  if (isObject(doc['services'])) {
    for (const [name, entry] of Object.entries(doc['services'])) if (isObject(entry)) out.push({ prefix: `services.${name}.`, layer: entry });
  }
  return out;
}

/**
 * A copy of `doc` whose `{ service, version }` destinations became `{ upstream: 'service|version' }`.
 * `problems` names every malformed service destination by its path; `refs` lists every upstream
 * name the document mentions (destinations, policies, per-upstream sampling).
 */
export function rewriteDestinations(doc: Record<string, unknown>): { doc: Record<string, unknown>; problems: string[]; refs: Set<string> } {
  const out = structuredClone(doc);
  const problems: string[] = [];
  const refs = new Set<string>();
  for (const { prefix, layer } of layers(out)) {
    const routes = layer['routes'];
    if (Array.isArray(routes)) {
      routes.forEach((route: unknown, i) => {
        if (!isObject(route) || !Array.isArray(route['destinations'])) return;
        route['destinations'] = route['destinations'].map((d: unknown, j) => {
          if (!isObject(d) || !('service' in d)) {
            if (isObject(d) && typeof d['upstream'] === 'string') refs.add(d['upstream']);
            return d;
          }
          const r = serviceDestinationSchema.safeParse(d);
          if (!r.success) {
            for (const iss of r.error.issues) problems.push(`${prefix}routes.${i}.destinations.${j}${iss.path.length ? `.${iss.path.join('.')}` : ''}: ${iss.message}`);
            return d;
          }
          const upstream = subsetUpstream(r.data.service, r.data.version);
          refs.add(upstream);
          return r.data.weight === undefined ? { upstream } : { upstream, weight: r.data.weight };
        });
      });
    }
    for (const key of ['upstreamPolicies'] as const) if (isObject(layer[key])) for (const n of Object.keys(layer[key])) refs.add(n);
    const sampling = layer['sampling'];
    if (isObject(sampling) && isObject(sampling['upstreams'])) for (const n of Object.keys(sampling['upstreams'])) refs.add(n);
  }
  return { doc: out, problems, refs };
}

/**
 * Validates a mesh config the way every sidecar will: each layer (the top level alone and each
 * `services.<name>` section merged over it) through the sidecar's own schema and cross-field
 * rules, with every upstream it mentions assumed to be a service that will register. Returns every
 * problem by its path (a problem only a service's view has is prefixed `services.<name>:`); empty = valid.
 */
export function validateMeshConfig(input: unknown): string[] {
  if (!isObject(input)) return ['(root): expected a JSON object (the sidecar config keys, plus per-service `services` sections)'];
  const { doc, problems, refs } = rewriteDestinations(input);
  if ('service' in doc) problems.push('service: not allowed in the mesh config (each sidecar has its own --service; use services.<name> sections)');
  // Unknown keys in `services` sections first (the sidecar's own check), then values with those keys left out,
  // so that one typo does not hide the other problems.
  try { selectServiceConfig(doc, undefined); } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const { services, service: _s, ...base } = doc;
  void _s;
  const known = new Set(Object.keys(proxyConfigSchema.shape));
  const assumed = Object.fromEntries([...refs].map((n) => [n, '127.0.0.1:1']));
  const view = (name: string | undefined, layer: Record<string, unknown>): string[] => {
    try {
      parseProxyConfig({ appPort: 1, ...layer, service: name ?? 'mesh', upstreams: { ...assumed, ...(isObject(layer['upstreams']) ? layer['upstreams'] : {}) } });
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };
  const baseProblems = view(undefined, base);
  const seen = new Set([...problems, ...baseProblems]);
  const all = [...problems, ...baseProblems];
  if (isObject(services)) {
    for (const [name, entry] of Object.entries(services)) {
      if (!isObject(entry)) continue;
      const own = Object.fromEntries(Object.entries(entry).filter(([k]) => k !== 'service' && known.has(k)));
      for (const p of view(name, deepMerge(base, own))) {
        if (seen.has(p)) continue;
        seen.add(p);
        all.push(`services.${name}: ${p}`);
      }
    }
  }
  return all;
}

/**
 * The config one sidecar of `service` applies, from a *valid* mesh config and the registry's
 * healthy endpoints: its section merged over the top level; `upstreams` = every registered
 * service (all its instances) and subset (`name|version`), then the document's own `upstreams`
 * (they win). A destination whose upstream has no instance now is left out of its route (its
 * share goes to the route's other destinations); a route left with none is left out (the host
 * then goes to the service's upstream, if any); policies and sampling rates for absent upstreams
 * are left out. So a subset that is down never makes a sidecar reject the config. With `caller`
 * (the watching sidecar's registration) auto mTLS applies, see below.
 */
export function renderForService(doc: Record<string, unknown>, service: string, endpoints: Record<string, readonly Endpoint[]>, caller?: { mtls: Endpoint['mtls'] }): Record<string, unknown> {
  const rewritten = rewriteDestinations(doc).doc;
  const { service: _drop, ...sel } = selectServiceConfig(rewritten, service);
  void _drop;
  const upstreams: Record<string, string[] | unknown> = {};
  for (const [name, list] of Object.entries(endpoints)) {
    if (!list.length) continue;
    upstreams[name] = list.map((e) => e.address);
    const versions = new Map<string, string[]>();
    for (const e of list) versions.set(e.version, [...(versions.get(e.version) ?? []), e.address]);
    for (const [v, addrs] of versions) upstreams[subsetUpstream(name, v)] = addrs;
  }
  if (isObject(sel['upstreams'])) Object.assign(upstreams, sel['upstreams']);
  const out: Record<string, unknown> = { ...sel, upstreams };
  if (Array.isArray(sel['routes'])) {
    out['routes'] = (sel['routes'] as Record<string, unknown>[]).flatMap((r) => {
      const dests = (r['destinations'] as { upstream: string }[]).filter((d) => d.upstream in upstreams);
      return dests.length ? [{ ...r, destinations: dests }] : [];
    });
  }
  const policies: Record<string, unknown> = isObject(sel['upstreamPolicies']) ? Object.fromEntries(Object.entries(sel['upstreamPolicies']).filter(([n]) => n in upstreams)) : {};
  // Auto mTLS (Istio's): a caller that runs mTLS itself (so it has a workload certificate) talks
  // mTLS to a service whose every instance accepts it, unless a policy sets `tls` for that upstream.
  if (caller && caller.mtls !== 'DISABLE') {
    const mutual = (list: readonly Endpoint[]) => list.length > 0 && list.every((e) => e.mtls !== 'DISABLE');
    for (const [name, list] of Object.entries(endpoints)) {
      const subsets = new Map<string, Endpoint[]>();
      for (const e of list) subsets.set(subsetUpstream(name, e.version), [...(subsets.get(subsetUpstream(name, e.version)) ?? []), e]);
      for (const [n, l] of [[name, list] as const, ...subsets]) {
        if (!mutual(l) || !(n in upstreams) || isObject(sel['upstreams']) && n in sel['upstreams']) continue;
        const p = isObject(policies[n]) ? policies[n] : {};
        if (!('tls' in p)) policies[n] = { ...p, tls: { mode: 'ISTIO_MUTUAL' } };
      }
    }
  }
  if (isObject(sel['upstreamPolicies']) || Object.keys(policies).length) out['upstreamPolicies'] = policies;
  const sampling = sel['sampling'];
  if (isObject(sampling) && isObject(sampling['upstreams'])) {
    out['sampling'] = { ...sampling, upstreams: Object.fromEntries(Object.entries(sampling['upstreams']).filter(([n]) => n in upstreams)) };
  }
  return out;
}
