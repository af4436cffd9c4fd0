/**
 * Identical spans reported twice (an SDK retrying an export that had landed) are shown once.
 * Jaeger's DedupeBySpanHash. Storage writes are idempotent per (trace, span id), so this mostly
 * guards against other backends and raw uploads. Assumes ids are already unique-by-role
 * (run after spanIdUniquifier).
 */
import type { Trace } from '../../model/span.js';
import type { Adjuster } from './adjuster.js';

export function dedupeIdenticalSpans(): Adjuster {
  return (trace: Trace) => {
    const seen = new Set<string>();
    trace.spans = trace.spans.filter((s) => {
      const key = JSON.stringify(s);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  };
}
