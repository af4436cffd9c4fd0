/** Per service/operation statistics of one trace, like Jaeger UI's "Trace Statistics" view. */
import type { TraceModel } from './trace-model.js';

export interface StatRow {
  service: string;
  operation: string;
  count: number;
  errors: number;
  /** Sum of durations, µs. */
  totalUs: number;
  /** Sum over spans of the time no child of that span was running, µs. */
  selfUs: number;
  minUs: number;
  maxUs: number;
}

/** Self time of each row: its duration minus the union of its children's intervals (clipped to it). */
export function selfTimes(m: TraceModel): Float64Array {
  const self = new Float64Array(m.n);
  for (let i = 0; i < m.n; i++) {
    const s0 = m.start[i];
    const e0 = s0 + m.duration[i];
    let covered = 0;
    let runS = 0;
    let runE = -Infinity;
    // Children come in start order, so their union is one forward merge.
    for (let j = i + 1; j < m.subtreeEnd[i]; j = m.subtreeEnd[j]) {
      const s = Math.max(m.start[j], s0);
      const e = Math.min(m.start[j] + m.duration[j], e0);
      if (e <= s) continue;
      if (s > runE) {
        if (runE > runS) covered += runE - runS;
        runS = s;
        runE = e;
      } else if (e > runE) runE = e;
    }
    if (runE > runS) covered += runE - runS;
    self[i] = Math.max(0, m.duration[i] - covered);
  }
  return self;
}

/** Rows sorted by total time, descending. */
export function traceStats(m: TraceModel): StatRow[] {
  const self = selfTimes(m);
  const byKey = new Map<string, StatRow>();
  for (let i = 0; i < m.n; i++) {
    const service = m.services[m.service[i]];
    const operation = m.operations[m.operation[i]];
    const key = `${service}\u0000${operation}`;
    let r = byKey.get(key);
    if (!r) {
      r = { service, operation, count: 0, errors: 0, totalUs: 0, selfUs: 0, minUs: Infinity, maxUs: 0 };
      byKey.set(key, r);
    }
    r.count++;
    r.errors += m.error[i];
    r.totalUs += m.duration[i];
    r.selfUs += self[i];
    if (m.duration[i] < r.minUs) r.minUs = m.duration[i];
    if (m.duration[i] > r.maxUs) r.maxUs = m.duration[i];
  }
  return [...byKey.values()].sort((a, b) => b.totalUs - a.totalUs);
}
