import type { Trace } from '../../model/span.js';

/**
 * A query-time adjuster, as in Jaeger: a small pure step over one trace that mutates it in place.
 * Adjusters never fail: a problem becomes a warning on the span (or the trace) and the data is kept.
 */
export type Adjuster = (trace: Trace) => void;

export function addWarning(target: { warnings?: string[] }, warning: string): void {
  (target.warnings ??= []).push(warning);
}
