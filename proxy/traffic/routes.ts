import type { OutHeaders } from '../filters/types.js';
import type { TrafficRoute } from './schema.js';

/**
 * Route matching for outbound requests (Istio VirtualService semantics): the routes for a host
 * are tried in configuration order and the first whose match holds wins; a route without match
 * entries takes everything. Pure: the caller passes the request's parts and a random number.
 */

type HeaderTest = (value: string | undefined) => boolean;

interface CompiledMatch {
  path?: string;
  pathPrefix?: string;
  method?: string;
  headers: [name: string, test: HeaderTest][];
}

export interface CompiledRoute {
  readonly route: TrafficRoute;
  /** Index in the config's `routes` (for diagnostics). */
  readonly index: number;
  /** Empty = every request. */
  readonly matches: readonly CompiledMatch[];
  readonly weightTotal: number;
  /** For the `meshtrace.route` span event, made once here: `reviews-v1=80,reviews-v2=20`. */
  readonly destinationsText: string;
  /** The route's match entries as configured (JSON), `*` when it takes every request. */
  readonly matchText: string;
}

/** Routes by lowercase host (with `:port` when the route named one), each list in config order. */
export type RouteTable = ReadonlyMap<string, readonly CompiledRoute[]>;

function headerTest(m: NonNullable<NonNullable<TrafficRoute['match']>[number]['headers']>[string]): HeaderTest {
  if (m.exact !== undefined) { const x = m.exact; return (v) => v === x; }
  if (m.prefix !== undefined) { const x = m.prefix; return (v) => v !== undefined && v.startsWith(x); }
  // Anchored: Istio's regex must match the whole value.
  if (m.regex !== undefined) { const re = new RegExp(`^(?:${m.regex})$`); return (v) => v !== undefined && re.test(v); }
  const want = m.present === true;
  return (v) => (v !== undefined) === want;
}

/** Compiles validated routes once per configuration (regexes built here, not per request). */
export function compileRoutes(routes: readonly TrafficRoute[]): RouteTable {
  const table = new Map<string, CompiledRoute[]>();
  routes.forEach((route, index) => {
    const matches = (route.match ?? []).map((m): CompiledMatch => ({
      path: m.path,
      pathPrefix: m.pathPrefix,
      method: m.method?.toUpperCase(),
      headers: Object.entries(m.headers ?? {}).map(([name, h]) => [name.toLowerCase(), headerTest(h)]),
    }));
    const weightTotal = route.destinations.reduce((s, d) => s + (d.weight ?? 1), 0);
    const host = route.host.toLowerCase();
    let list = table.get(host);
    if (!list) table.set(host, list = []);
    const destinationsText = route.destinations.map((d) => `${d.upstream}=${d.weight ?? 1}`).join(',');
    const matchText = route.match?.length ? JSON.stringify(route.match) : '*';
    list.push({ route, index, matches, weightTotal, destinationsText, matchText });
  });
  return table;
}

function headerValue(headers: OutHeaders, name: string): string | undefined {
  const v = headers[name];
  return v === undefined ? undefined : Array.isArray(v) ? v.join(', ') : v;
}

function matches(m: CompiledMatch, method: string, path: string, headers: OutHeaders): boolean {
  if (m.method !== undefined && m.method !== method) return false;
  if (m.path !== undefined && m.path !== path) return false;
  if (m.pathPrefix !== undefined && !path.startsWith(m.pathPrefix)) return false;
  for (const [name, test] of m.headers) if (!test(headerValue(headers, name))) return false;
  return true;
}

/** The routes for a request target: by `host:port` first (a route pinned to a port), then by host. */
export function routesFor(table: RouteTable, host: string, port: number | undefined): readonly CompiledRoute[] | undefined {
  if (table.size === 0) return undefined;
  return (port !== undefined ? table.get(`${host}:${port}`) : undefined) ?? table.get(host);
}

/** First route whose match holds; `pathAndQuery` is matched without its query string. */
export function matchRoute(routes: readonly CompiledRoute[], method: string, pathAndQuery: string, headers: OutHeaders): CompiledRoute | undefined {
  const q = pathAndQuery.indexOf('?');
  const path = q === -1 ? pathAndQuery : pathAndQuery.slice(0, q);
  const m = method.toUpperCase();
  for (const r of routes) {
    if (r.matches.length === 0) return r;
    for (const cm of r.matches) if (matches(cm, m, path, headers)) return r;
  }
  return undefined;
}

/** Weighted pick of a destination's upstream name; `random` in [0, 1). Weight absent = 1. */
export function pickDestination(r: CompiledRoute, random: number): string {
  const ds = r.route.destinations;
  if (ds.length === 1) return ds[0].upstream;
  let x = random * r.weightTotal;
  for (const d of ds) {
    const w = d.weight ?? 1;
    if (x < w) return d.upstream;
    x -= w;
  }
  // Floating-point rest: the last destination with weight.
  for (let i = ds.length - 1; i >= 0; i--) if ((ds[i].weight ?? 1) > 0) return ds[i].upstream;
  return ds[ds.length - 1].upstream;
}
