/**
 * Links (FOLLOWS_FROM references) with an all-zero trace or span id point nowhere; Jaeger's
 * SpanReferences adjuster drops them rather than rendering a broken jump.
 */
import type { Trace } from '../../model/span.js';
import type { Adjuster } from './adjuster.js';

const ZERO = /^0*$/;

export function dropInvalidLinks(): Adjuster {
  return (trace: Trace) => {
    for (const s of trace.spans) {
      if (s.links.length === 0) continue;
      s.links = s.links.filter((l) => !ZERO.test(l.traceId) && !ZERO.test(l.spanId));
    }
  };
}
