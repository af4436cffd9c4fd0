/**
 * The checks every backend makes on a `TraceQuery` before searching (the query API bounds its
 * parameters first; this guards the storage interface itself, whoever calls it).
 */
import type { TraceQuery } from './api.js';

/** Throws an Error naming the field when the query cannot be answered. */
export function validateTraceQuery(q: TraceQuery): void {
  const int = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v);
  if (!int(q.startTimeMinUs)) throw new Error(`TraceQuery.startTimeMinUs must be an integer (µs), got ${q.startTimeMinUs}`);
  if (!int(q.startTimeMaxUs)) throw new Error(`TraceQuery.startTimeMaxUs must be an integer (µs), got ${q.startTimeMaxUs}`);
  if (!int(q.limit) || q.limit <= 0) throw new Error(`TraceQuery.limit must be a positive integer, got ${q.limit}`);
  for (const k of ['durationMinUs', 'durationMaxUs'] as const) {
    const v = q[k];
    if (v !== undefined && (!int(v) || v < 0)) throw new Error(`TraceQuery.${k} must be a non-negative integer (µs), got ${v}`);
  }
}
