import { extract, inject, type PropagatorName, type SpanContext } from '../propagation/index.js';
import { newSpanId, newTraceId } from '../propagation/ids.js';
import type { HttpFilter, Exchange } from './types.js';

/** Envoy's force-trace header, meshtrace's spelling: `x-meshtrace-debug: 1` records the trace whatever the rates say. */
export const DEBUG_HEADER = 'x-meshtrace-debug';

export interface TracingFilterOptions {
  propagators: readonly PropagatorName[];
  /** Called for each exchange whose span is recorded (sampled), once it is complete. */
  record(ex: Exchange): void;
  /** Called for each trace header that was present but malformed. */
  onInvalid?(format: string): void;
  /** [0,1) random source; injectable so sampling tests are deterministic. */
  random?: () => number;
}

/**
 * Extracts the caller's context, decides sampling, gives this hop a span id and injects it into
 * the forwarded headers. Decision order: debug header or debug flag → record; a caller's
 * sampled flag (W3C, B3, Jaeger) is honoured; a B3 sampling-only header decides a new trace;
 * otherwise the route's rate (`ex.samplingRate`) decides.
 */
export function tracingFilter(o: TracingFilterOptions): HttpFilter {
  const random = o.random ?? Math.random;
  return {
    name: 'tracing',
    onRequest(ex) {
      const extracted = extract(ex.req.headers);
      for (const f of extracted.invalid) o.onInvalid?.(f);
      const parent = extracted.context;
      const debug = ex.req.headers[DEBUG_HEADER] === '1' || parent?.debug === true || extracted.hint?.debug === true;
      let sampled: boolean;
      if (debug) sampled = true;
      else if (parent) sampled = parent.sampled;
      else if (extracted.hint) sampled = extracted.hint.sampled;
      else sampled = ex.samplingRate >= 1 || (ex.samplingRate > 0 && random() < ex.samplingRate);
      const context: SpanContext = { traceId: parent?.traceId ?? newTraceId(), spanId: newSpanId(), sampled };
      if (debug) context.debug = true;
      if (parent?.traceState) context.traceState = parent.traceState;
      ex.trace = { context, parent, extracted, propagators: o.propagators };
      inject(context, o.propagators, ex.headers);
      return undefined;
    },
    onComplete(ex) {
      if (ex.trace?.context.sampled) o.record(ex);
    },
  };
}
