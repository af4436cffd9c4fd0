/**
 * Spans whose parent never arrived (lost in transit, dropped by a sampler, or a service that did
 * not report) keep their parent reference — the trace is shown as incomplete instead of being
 * silently re-rooted — and get a warning naming the missing parent; the trace gets a summary warning.
 */
import type { Trace } from '../../model/span.js';
import { addWarning, type Adjuster } from './adjuster.js';

export function flagMissingParents(): Adjuster {
  return (trace: Trace) => {
    const ids = new Set(trace.spans.map((s) => s.spanId));
    let orphans = 0;
    for (const s of trace.spans) {
      if (s.parentSpanId && !ids.has(s.parentSpanId)) {
        orphans++;
        addWarning(s, `invalid parent span IDs=${s.parentSpanId}; the parent span is missing from the trace`);
      }
    }
    if (orphans > 0) addWarning(trace, `incomplete trace: ${orphans} span(s) reference a parent that was never received`);
  };
}
