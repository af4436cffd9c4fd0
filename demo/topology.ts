/**
 * The bookshop's shape, in one place: which service instances exist, which script each runs and
 * whom it calls. The local demo (orchestrator.ts) and docker-compose.yml (checked by
 * compose.test.ts) are both built from it. Pure data and functions, no I/O.
 */

export interface DemoService {
  /** Instance id: a compose service name, unique (`reviews-v2`). */
  id: string;
  /** Logical service: `service.name` of its spans and the upstream name its callers use. */
  service: string;
  /** `service.version` of its spans and the sidecar's version label. */
  version: string;
  /** File under demo/services/. */
  script: string;
  /** Logical services it calls (through its sidecar). */
  calls: string[];
  /** Extra environment for this instance's app (behaviour knobs of one version). */
  env?: Readonly<Record<string, string>>;
}

export const BOOKSHOP: readonly DemoService[] = [
  { id: 'details', service: 'details', version: 'v1', script: 'details.mjs', calls: [] },
  { id: 'ratings-v1', service: 'ratings', version: 'v1', script: 'ratings.mjs', calls: [] },
  // The flaky version: one call in five answers 503; reviews' route retries it (demo/mesh.json).
  { id: 'ratings-v2', service: 'ratings', version: 'v2', script: 'ratings.mjs', calls: [], env: { BOOKSHOP_UNAVAILABLE_RATE: '0.2' } },
  // v1 never calls ratings (no stars), but its sidecar shares reviews' mesh config, whose ratings
  // route must name a known upstream.
  { id: 'reviews-v1', service: 'reviews', version: 'v1', script: 'reviews.mjs', calls: ['ratings'] },
  { id: 'reviews-v2', service: 'reviews', version: 'v2', script: 'reviews.mjs', calls: ['ratings'] },
  { id: 'reviews-v3', service: 'reviews', version: 'v3', script: 'reviews.mjs', calls: ['ratings'] },
  { id: 'productpage', service: 'productpage', version: 'v1', script: 'productpage.mjs', calls: ['details', 'reviews'] },
];

/** The service graph the demo's traffic produces (caller → callee). */
export const EXPECTED_EDGES: readonly (readonly [string, string])[] = [
  ['productpage', 'details'],
  ['productpage', 'reviews'],
  ['reviews', 'ratings'],
];

/** Logical service names, each once, in BOOKSHOP order. */
export const serviceNames = (services: readonly DemoService[] = BOOKSHOP): string[] => [...new Set(services.map((s) => s.service))];

/**
 * Dependency order in layers: a layer's services only call services of earlier layers. The demo
 * stops in reverse (callers first, so no request is in flight towards a stopped service). Throws
 * on a call to an unknown service or a cycle.
 */
export function startLayers(services: readonly DemoService[] = BOOKSHOP): DemoService[][] {
  const known = new Set(services.map((s) => s.service));
  for (const s of services) {
    for (const c of s.calls) if (!known.has(c)) throw new Error(`${s.id} calls unknown service '${c}'`);
  }
  const layers: DemoService[][] = [];
  const started = new Set<string>();
  let left = [...services];
  while (left.length) {
    const ready = left.filter((s) => s.calls.every((c) => started.has(c) && !left.some((o) => o.service === c)));
    if (!ready.length) throw new Error(`call cycle among ${left.map((s) => s.id).join(', ')}`);
    layers.push(ready);
    for (const s of ready) started.add(s.service);
    left = left.filter((s) => !ready.includes(s));
  }
  return layers;
}

/**
 * The mesh config the demo applies to its control plane at start (every sidecar learns its
 * endpoints from the registry and gets its routes from this; no --upstream lists).
 */
export const MESH_CONFIG_FILE = 'demo/mesh.json';
/** The canary the banner offers: `meshtrace mesh apply -f demo/canary.json` (reviews v1 90 % / v3 10 %). */
export const CANARY_CONFIG_FILE = 'demo/canary.json';
