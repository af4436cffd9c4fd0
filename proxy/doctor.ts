import type { Extracted } from './propagation/index.js';
import type { HttpFilter } from './filters/types.js';
import type { ProxyMetrics } from './metrics.js';

/**
 * The propagation doctor. A sidecar sees both sides of its app: the trace ids it injected into
 * inbound requests still in flight, and the context (or none) on the app's outbound calls. An
 * outbound call made while inbound requests are in flight that carries no context, or a trace id
 * none of them has, means the app does not forward the headers: the trace breaks there.
 *
 * It is a heuristic for request/response apps: background work started while a request happens
 * to be in flight looks the same. That is why it counts and marks spans, and never alters traffic.
 */
export class InflightTraces {
  private readonly counts = new Map<string, number>();
  enter(traceId: string): void { this.counts.set(traceId, (this.counts.get(traceId) ?? 0) + 1); }
  leave(traceId: string): void {
    const n = (this.counts.get(traceId) ?? 0) - 1;
    if (n <= 0) this.counts.delete(traceId); else this.counts.set(traceId, n);
  }
  has(traceId: string): boolean { return this.counts.has(traceId); }
  get size(): number { return this.counts.size; }
}

export type Diagnosis = 'ok' | 'idle' | 'missing' | 'different_trace';

/** Pure verdict for one outbound call. `idle`: no inbound request in flight, nothing to judge. */
export function diagnose(inflight: InflightTraces, extracted: Extracted): Diagnosis {
  if (inflight.size === 0) return 'idle';
  if (!extracted.context) return 'missing';
  return inflight.has(extracted.context.traceId) ? 'ok' : 'different_trace';
}

/** Inbound: registers the trace id injected into the app's request while it is in flight. Runs after tracing. */
export function inflightTrackerFilter(inflight: InflightTraces): HttpFilter {
  const tracked = new WeakSet<object>();
  return {
    name: 'propagation-doctor-inbound',
    onRequest(ex) {
      if (ex.trace) { inflight.enter(ex.trace.context.traceId); tracked.add(ex); }
      return undefined;
    },
    onComplete(ex) {
      if (ex.trace && tracked.has(ex)) inflight.leave(ex.trace.context.traceId);
    },
  };
}

/** Outbound: judges each call; a broken one is counted and its client span marked. Runs after tracing. */
export function propagationDoctorFilter(inflight: InflightTraces, metrics: ProxyMetrics): HttpFilter {
  return {
    name: 'propagation-doctor',
    onRequest(ex) {
      if (!ex.trace) return undefined;
      const d = diagnose(inflight, ex.trace.extracted);
      if (d === 'missing' || d === 'different_trace') {
        metrics.brokenPropagation();
        ex.attributes['meshtrace.propagation'] = 'broken';
        ex.attributes['meshtrace.propagation.reason'] = d === 'missing' ? 'no trace context on the outbound call' : 'outbound call carries a different trace than the inbound requests in flight';
        ex.attributes['meshtrace.propagation.fix'] = 'forward traceparent, tracestate, baggage (and b3 / x-b3-* / uber-trace-id, x-request-id) from the inbound request to outbound calls';
      } else if (d === 'ok') {
        ex.attributes['meshtrace.propagation'] = 'ok';
      }
      return undefined;
    },
  };
}
