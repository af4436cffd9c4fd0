/**
 * Stable, deterministic order: spans by start time, then span id; each span's attributes by key
 * and events by time (Jaeger's SortTagsAndLogFields). Runs last so earlier adjusters' shifts count.
 */
import type { Trace } from '../../model/span.js';
import type { Adjuster } from './adjuster.js';

const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export function sortSpans(): Adjuster {
  return (trace: Trace) => {
    trace.spans.sort((a, b) => a.startTimeUs - b.startTimeUs || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0));
    for (const s of trace.spans) {
      s.attributes.sort(byKey);
      s.events.sort((a, b) => a.timeUs - b.timeUs);
    }
  };
}
