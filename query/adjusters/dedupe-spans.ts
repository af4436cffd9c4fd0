/**
 * Identical spans reported twice (an SDK retrying an export that had landed) are shown once.
 * Jaeger's DedupeBySpanHash. Storage writes are idempotent per (trace, span id), so this mostly
 * guards against other backends and raw uploads. Assumes ids are already unique-by-role
 * (run after spanIdUniquifier).
 * Only spans whose id repeats are compared by content: serializing every span of a 100k-span
 * trace to find duplicates that almost never exist would cost most of the trace's load time.
 */
import type { Span, Trace } from '../../model/span.js';
import type { Adjuster } from './adjuster.js';

export function dedupeIdenticalSpans(): Adjuster {
  return (trace: Trace) => {
    const count = new Map<string, number>();
    for (const s of trace.spans) count.set(s.spanId, (count.get(s.spanId) ?? 0) + 1);
    if (count.size === trace.spans.length) return;
    const seen = new Set<string>();
    trace.spans = trace.spans.filter((s: Span) => {
      if (count.get(s.spanId) === 1) return true;
      const key = JSON.stringify(s);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  };
}
