/**
 * Deterministic synthetic traces for the storage and collector benchmarks: model spans generated
 * straight from a seeded PRNG (no I/O, no crypto), fast enough to produce 10 M spans.
 *
 * Data shape (documented in BENCHMARKS.md):
 * - 20 services, 10 operations each; every service runs as 3 hosts (resource `host.name`) with
 *   one `service.version`, plus SDK and environment resource attributes (6 resource attributes).
 * - Traces of 5–50 spans (uniform). The root is a SERVER span of a random service; each further
 *   span picks an earlier span of the trace as its parent; with probability 0.5 it is a call into
 *   another service (CLIENT span in the parent's service + SERVER span in the callee, counted as two
 *   spans), otherwise an INTERNAL span of the parent's service.
 * - Span attributes (4–7 per span): `http.request.method` (4 values), `http.response.status_code`
 *   (int, 6 values), `http.route` (the operation), `customer.tier` (3 values); on SERVER spans
 *   `user.id` (one per trace, 10,000 values); on CLIENT and SERVER spans `network.peer.port`
 *   (int, random ephemeral port: a per-span high-cardinality value); on 20 % of spans `db.system`
 *   (3 values).
 * - 1 % of traces have an ERROR span (status ERROR + `error.type`); 10 % of spans carry one event
 *   (`cache.miss` with a `cache.key` attribute of 1,000 values).
 * - Trace `i` starts at `startUs + i × spacingUs` (ingest order = time order, as live traffic);
 *   span durations 0.05–50 ms, children inside their parent.
 *
 * Trace ids are a function of the trace index (`traceIdOf`), so a benchmark can look up a known
 * trace without keeping a list.
 */
import { type Attribute, type Resource, type Span, SpanKind, StatusCode } from '../../model/span.js';

export const SERVICE_COUNT = 20;
export const OPERATIONS_PER_SERVICE = 10;
export const HOSTS_PER_SERVICE = 3;
export const USER_IDS = 10_000;

export const SERVICES: readonly string[] = [
  'frontend', 'checkout', 'cart', 'payments', 'inventory', 'shipping', 'auth', 'recommendations',
  'search', 'catalog', 'pricing', 'reviews', 'notifications', 'email', 'ads', 'currency',
  'fraud', 'loyalty', 'gateway', 'accounts',
];
const VERBS = ['Get', 'List', 'Create', 'Update', 'Delete', 'Check', 'Compute', 'Load', 'Store', 'Render'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const STATUS_CODES = [200, 200, 200, 201, 204, 404];
const TIERS = ['free', 'pro', 'enterprise'];
const DB_SYSTEMS = ['postgresql', 'redis', 'mysql'];

/** The operation names of a service (10 of them). */
export function operationsOf(service: string): string[] {
  return VERBS.map((v) => `${v}${service[0].toUpperCase()}${service.slice(1)}`);
}

/** mulberry32: tiny, fast, good enough for synthetic data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
/** A 32-bit mix of two integers (murmur3 finalizer). */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x27d4eb2f, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The trace id of trace `index` for a given seed: unique per index, random-looking. */
export function traceIdOf(seed: number, index: number): string {
  return hex8(mix(seed, index)) + hex8(mix(index, seed + 1)) + hex8(mix(seed + 2, index)) + hex8(index + 1);
}

export interface GeneratorOptions {
  seed: number;
  /** Start of trace 0, µs since the epoch. */
  startUs: number;
  /** µs between the starts of consecutive traces. */
  spacingUs: number;
}

const str = (key: string, value: string): Attribute => ({ key, type: 'string', value });

/** Resources are shared objects (as a decoder produces them): one per service × host. */
function buildResources(): Resource[][] {
  return SERVICES.map((service) =>
    Array.from({ length: HOSTS_PER_SERVICE }, (_, h) => ({
      serviceName: service,
      attributes: [
        str('service.name', service),
        str('service.version', '1.4.2'),
        str('host.name', `${service}-${h}`),
        str('deployment.environment', 'production'),
        str('telemetry.sdk.language', 'nodejs'),
        str('telemetry.sdk.name', 'opentelemetry'),
      ],
    })),
  );
}

/** Generates traces in index order; the same options give the same spans. */
export class TraceGenerator {
  private readonly resources = buildResources();
  private readonly ops = SERVICES.map(operationsOf);
  private readonly scope = { name: 'meshtrace-bench', version: '1.0.0' };

  constructor(private readonly opts: GeneratorOptions) {}

  /** Spans of trace `index` (5–50 of them, root first). */
  trace(index: number): Span[] {
    const rnd = prng(mix(this.opts.seed, index));
    const traceId = traceIdOf(this.opts.seed, index);
    const target = 5 + Math.floor(rnd() * 46);
    const t0 = this.opts.startUs + index * this.opts.spacingUs;
    const isErrorTrace = rnd() < 0.01;
    const userId = `user-${Math.floor(rnd() * USER_IDS)}`;
    const spans: Span[] = [];
    const svcOf: number[] = [];
    let spanSeq = 0;
    const add = (svc: number, parent: Span | undefined, kind: SpanKind, op: string): Span => {
      const pStart = parent ? parent.startTimeUs : t0;
      const pDur = parent ? parent.durationUs : 50_000;
      const offset = parent ? Math.floor(rnd() * pDur * 0.3) : 0;
      const duration = parent ? Math.max(50, Math.floor((pDur - offset) * (0.2 + rnd() * 0.7))) : 5_000 + Math.floor(rnd() * 45_000);
      spanSeq++;
      const attributes: Attribute[] = [
        str('http.request.method', METHODS[Math.floor(rnd() * METHODS.length)]),
        { key: 'http.response.status_code', type: 'int64', value: STATUS_CODES[Math.floor(rnd() * STATUS_CODES.length)] },
        str('http.route', op),
        str('customer.tier', TIERS[Math.floor(rnd() * TIERS.length)]),
      ];
      if (kind === SpanKind.SERVER) attributes.push(str('user.id', userId));
      if (kind !== SpanKind.INTERNAL) attributes.push({ key: 'network.peer.port', type: 'int64', value: 32768 + Math.floor(rnd() * 28232) });
      if (rnd() < 0.2) attributes.push(str('db.system', DB_SYSTEMS[Math.floor(rnd() * DB_SYSTEMS.length)]));
      const span: Span = {
        traceId,
        spanId: hex8(mix(index, spanSeq + 7)) + hex8(spanSeq),
        parentSpanId: parent ? parent.spanId : '',
        traceState: '',
        flags: 1,
        name: op,
        kind,
        startTimeUs: pStart + offset,
        durationUs: duration,
        attributes,
        events: rnd() < 0.1
          ? [{ timeUs: pStart + offset + Math.floor(duration / 2), name: 'cache.miss', attributes: [str('cache.key', `k-${Math.floor(rnd() * 1000)}`)] }]
          : [],
        links: [],
        status: { code: StatusCode.UNSET, message: '' },
        resource: this.resources[svc][Math.floor(rnd() * HOSTS_PER_SERVICE)],
        scope: this.scope,
      };
      spans.push(span);
      svcOf.push(svc);
      return span;
    };
    const rootSvc = Math.floor(rnd() * SERVICES.length);
    add(rootSvc, undefined, SpanKind.SERVER, this.ops[rootSvc][Math.floor(rnd() * OPERATIONS_PER_SERVICE)]);
    while (spans.length < target) {
      const pi = Math.floor(rnd() * spans.length);
      const parent = spans[pi];
      const svc = svcOf[pi];
      if (rnd() < 0.5 && spans.length + 2 <= target) {
        let callee = Math.floor(rnd() * (SERVICES.length - 1));
        if (callee >= svc) callee++;
        const op = this.ops[callee][Math.floor(rnd() * OPERATIONS_PER_SERVICE)];
        const client = add(svc, parent, SpanKind.CLIENT, op);
        add(callee, client, SpanKind.SERVER, op);
      } else {
        add(svc, parent, SpanKind.INTERNAL, this.ops[svc][Math.floor(rnd() * OPERATIONS_PER_SERVICE)]);
      }
    }
    if (isErrorTrace) {
      const s = spans[spans.length - 1];
      s.status = { code: StatusCode.ERROR, message: 'deadline exceeded' };
      s.attributes.push(str('error.type', 'timeout'));
    }
    return spans;
  }

  /**
   * Spans of traces `fromTrace`, `fromTrace + 1`, … in batches of exactly `batchSpans` (a trace may
   * straddle two batches, as in SDK exports) until at least `totalSpans` spans were produced (the
   * last batch may be short).
   */
  *batches(totalSpans: number, batchSpans: number, fromTrace = 0): Generator<Span[], { traces: number; spans: number }> {
    let batch: Span[] = [];
    let produced = 0;
    let index = fromTrace;
    while (produced < totalSpans) {
      for (const s of this.trace(index++)) {
        batch.push(s);
        produced++;
        if (batch.length === batchSpans) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
    return { traces: index - fromTrace, spans: produced };
  }
}
