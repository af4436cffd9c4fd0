/**
 * Zipkin-style shared spans: a client and a server span reporting the same span id (B3 clients
 * that share the id across the RPC). Jaeger's ZipkinSpanIDUniquifier gives the server span a new id,
 * makes it a child of the client span, and moves the server's children under the new id.
 * Assumes nothing; runs first so every later adjuster sees unique ids.
 */
import { SpanKind, type Span, type Trace } from '../../model/span.js';
import type { Adjuster } from './adjuster.js';

export function spanIdUniquifier(): Adjuster {
  return (trace: Trace) => {
    const byId = new Map<string, Span[]>();
    for (const s of trace.spans) {
      const list = byId.get(s.spanId);
      if (list) list.push(s);
      else byId.set(s.spanId, [s]);
    }
    const used = new Set(byId.keys());
    const renamed = new Map<string, string>(); // old shared id → server span's new id
    for (const [id, spans] of byId) {
      if (spans.length < 2) continue;
      const client = spans.find((s) => s.kind === SpanKind.CLIENT);
      const server = spans.find((s) => s.kind === SpanKind.SERVER);
      if (!client || !server) continue;
      const newId = nextFreeId(id, used);
      server.spanId = newId;
      server.parentSpanId = id;
      renamed.set(id, newId);
    }
    if (renamed.size === 0) return;
    for (const s of trace.spans) {
      const newParent = renamed.get(s.parentSpanId);
      // The client span's children stay with the client only if the client is their parent by kind;
      // as in Jaeger, everything under the shared id except the server span itself moves to the server.
      if (newParent && s.spanId !== newParent && s.kind !== SpanKind.CLIENT) s.parentSpanId = newParent;
    }
  };
}

function nextFreeId(id: string, used: Set<string>): string {
  let n = BigInt(`0x${id}`);
  for (;;) {
    n = (n + 1n) & 0xffffffffffffffffn;
    if (n === 0n) continue;
    const candidate = n.toString(16).padStart(16, '0');
    if (!used.has(candidate)) {
      used.add(candidate);
      return candidate;
    }
  }
}
