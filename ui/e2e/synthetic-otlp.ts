/**
 * Synthetic traces as OTLP/JSON export requests, for the UI bench and the documentation
 * screenshots: one trace of `spans` spans over a few services, a realistic fan-out tree
 * (HTTP server → client calls → downstream servers → database calls), some errors and events.
 * Deterministic for a given seed.
 */
// The bench generator's seeded PRNG: one implementation for all synthetic data.
import { prng } from '../../bench/data/generator.js';

export interface SyntheticTraceOptions {
  traceId: string;
  spans: number;
  /** Trace start, ms since the epoch. */
  startMs: number;
  /** Trace duration, ms. */
  durationMs?: number;
  services?: string[];
  seed?: number;
}

type AnyValue = { stringValue: string } | { intValue: string } | { boolValue: boolean };
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: AnyValue }[];
  events: { timeUnixNano: string; name: string; attributes: { key: string; value: AnyValue }[] }[];
  status: { code: number; message?: string };
}

const DEFAULT_SERVICES = ['frontend', 'checkout', 'cart', 'payments', 'inventory', 'shipping', 'auth', 'recommendations'];
const OPS: Record<string, string[]> = {
  frontend: ['GET /checkout', 'GET /product/:id', 'render page'],
  checkout: ['PlaceOrder', 'validate order', 'compute totals'],
  cart: ['GetCart', 'EmptyCart', 'load items'],
  payments: ['Charge', 'fraud check', 'tokenize card'],
  inventory: ['Reserve', 'check stock'],
  shipping: ['Quote', 'GetShippingRates'],
  auth: ['VerifyToken', 'load session'],
  recommendations: ['ListRecommendations', 'score items'],
};

/** Who calls whom: a shop-like call graph (a DAG), so the service graph looks like a real one. */
const CALLEES: Record<string, string[]> = {
  frontend: ['checkout', 'cart', 'recommendations', 'auth'],
  checkout: ['payments', 'inventory', 'shipping', 'cart'],
  payments: ['auth'],
  recommendations: ['inventory'],
  cart: [],
  inventory: [],
  shipping: [],
  auth: [],
};

/** Uninstrumented peers some services call: span attributes and operation name. */
const DATASTORES: Record<string, [Record<string, string>, string]> = {
  cart: [{ 'db.system': 'redis', 'db.operation.name': 'HGETALL' }, 'HGETALL cart'],
  inventory: [{ 'db.system': 'postgresql', 'db.name': 'inventory', 'db.statement': 'SELECT * FROM stock WHERE sku = $1' }, 'SELECT stock'],
  payments: [{ 'server.address': 'api.payments.example', 'http.request.method': 'POST' }, 'POST /v1/charges'],
};


/** OTLP/JSON request bodies (`{resourceSpans}`), each with at most `batch` spans. */
export function syntheticTrace(o: SyntheticTraceOptions, batch = 5000): unknown[] {
  const services = o.services ?? DEFAULT_SERVICES;
  const rand = prng(o.seed ?? 42);
  const durUs = (o.durationMs ?? 1200) * 1000;
  const startUs = o.startMs * 1000;
  const spans: { service: string; span: OtlpSpan }[] = [];
  let next = 1;
  const id = () => (next++).toString(16).padStart(16, '0');
  const nano = (us: number) => `${Math.round(us)}000`;
  const mk = (service: string, parent: OtlpSpan | undefined, name: string, kind: number, s: number, d: number): OtlpSpan => {
    const err = spans.length > 0 && rand() < 0.004;
    const span: OtlpSpan = {
      traceId: o.traceId, spanId: id(), ...(parent ? { parentSpanId: parent.spanId } : {}), name, kind,
      startTimeUnixNano: nano(s), endTimeUnixNano: nano(s + d),
      attributes: [
        { key: 'component', value: { stringValue: kind === 3 ? 'http-client' : 'http' } },
        { key: 'request.size', value: { intValue: String(Math.floor(rand() * 5000)) } },
        { key: 'cache.hit', value: { boolValue: rand() < 0.5 } },
      ],
      events: rand() < 0.05 ? [{ timeUnixNano: nano(s + d / 2), name: 'cache miss', attributes: [{ key: 'cache.key', value: { stringValue: `item:${next}` } }] }] : [],
      status: err ? { code: 2, message: 'upstream timeout' } : { code: 0 },
    };
    spans.push({ service, span });
    return span;
  };

  const root = mk(services[0], undefined, OPS[services[0]]?.[0] ?? 'GET /', 2, startUs, durUs);
  // Breadth-first fan-out until the span budget is spent; each call to another service is a
  // CLIENT span with a SERVER span beneath it, as instrumented RPCs look.
  const queue: { span: OtlpSpan; service: string; depth: number }[] = [{ span: root, service: services[0], depth: 0 }];
  while (spans.length < o.spans && queue.length) {
    const { span: p, service, depth } = queue.shift()!;
    const ps = Number(p.startTimeUnixNano) / 1000;
    const pd = Number(p.endTimeUnixNano) / 1000 - ps;
    const fan = depth === 0 ? 6 : 2 + Math.floor(rand() * 4);
    let cursor = ps + pd * 0.02;
    for (let k = 0; k < fan && spans.length < o.spans; k++) {
      const slot = (pd * 0.9) / fan;
      const d = Math.max(1, slot * (0.3 + rand() * 0.65));
      const s = cursor + rand() * (slot - d);
      cursor += slot;
      const callees = (CALLEES[service] ?? services.slice(1)).filter((c) => services.includes(c));
      if (callees.length && rand() < 0.55 && spans.length + 2 <= o.spans) {
        const callee = callees[Math.floor(rand() * callees.length)];
        const op = OPS[callee]?.[Math.floor(rand() * 2)] ?? 'call';
        const client = mk(service, p, op, 3, s, d);
        const server = mk(callee, client, op, 2, s + d * 0.05, d * 0.9);
        queue.push({ span: server, service: callee, depth: depth + 1 });
      } else if (rand() < 0.25 && DATASTORES[service]) {
        // A call to something uninstrumented: a database or an external API (a leaf).
        const [attrs, op] = DATASTORES[service];
        const call = mk(service, p, op, 3, s, d);
        for (const [key, v] of Object.entries(attrs)) call.attributes.push({ key, value: { stringValue: v } });
      } else {
        const ops = OPS[service] ?? ['work'];
        const child = mk(service, p, ops[Math.floor(rand() * ops.length)], 1, s, d);
        queue.push({ span: child, service, depth: depth + 1 });
      }
    }
  }

  const bodies: unknown[] = [];
  for (let off = 0; off < spans.length; off += batch) {
    const byService = new Map<string, OtlpSpan[]>();
    for (const { service, span } of spans.slice(off, off + batch)) {
      let list = byService.get(service);
      if (!list) byService.set(service, (list = []));
      list.push(span);
    }
    bodies.push({
      resourceSpans: [...byService].map(([service, list]) => ({
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }, { key: 'host.name', value: { stringValue: `${service}-7d9f` } }] },
        scopeSpans: [{ scope: { name: 'meshtrace-synthetic', version: '1.0.0' }, spans: list }],
      })),
    });
  }
  return bodies;
}

/** POSTs the bodies to `<otlpHttpUrl>/v1/traces` as OTLP/JSON; throws on a non-2xx answer. */
export async function sendOtlpJson(otlpHttpUrl: string, bodies: unknown[]): Promise<void> {
  for (const body of bodies) {
    const text = JSON.stringify(body);
    // Retry what OTLP calls retryable (429/502/503/504), as an SDK exporter would, a bounded number of times.
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`${otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
      if (res.ok) { await res.body?.cancel(); break; }
      const retryable = [429, 502, 503, 504].includes(res.status);
      const msg = await res.text();
      if (!retryable || attempt >= 20) throw new Error(`OTLP export failed: ${res.status} ${msg}`);
      const after = Number(res.headers.get('retry-after'));
      await new Promise((r) => setTimeout(r, after > 0 ? Math.min(after, 5) * 1000 : 100 * attempt));
    }
  }
}
