/**
 * Critical path of a trace, after Jaeger UI's algorithm: walking back from the root's end, the
 * path at each moment is the child that finished last before that moment; where no child runs,
 * the parent itself is on the path. Children running past their parent are clipped to it.
 */
import type { TraceModel } from './trace-model.js';

export interface CriticalPath {
  /** 1 when some part of the row's span is on the critical path. */
  onPath: Uint8Array;
  /** Row → [start, end, start, end, …] µs (trace-relative) intervals where that span is on the path. */
  segments: Map<number, number[]>;
}

/** Direct children of row `i` in start order (the model keeps subtrees contiguous). */
export function childrenOf(m: TraceModel, i: number): number[] {
  const out: number[] = [];
  for (let j = i + 1; j < m.subtreeEnd[i]; j = m.subtreeEnd[j]) out.push(j);
  return out;
}

export function criticalPath(m: TraceModel): CriticalPath {
  const onPath = new Uint8Array(m.n);
  const segments = new Map<number, number[]>();
  const add = (row: number, s: number, e: number) => {
    if (e <= s) return;
    onPath[row] = 1;
    let list = segments.get(row);
    if (!list) segments.set(row, (list = []));
    list.push(s, e);
  };
  // Work list of (row, latest end allowed); order of processing does not matter.
  const work: number[] = [];
  for (let i = 0; i < m.n; i = m.subtreeEnd[i]) work.push(i, m.start[i] + m.duration[i]);
  while (work.length) {
    const limit = work.pop()!;
    const i = work.pop()!;
    const s0 = m.start[i];
    let cursor = Math.min(s0 + m.duration[i], limit);
    const kids = childrenOf(m, i).sort(
      (a, b) => m.start[b] + m.duration[b] - (m.start[a] + m.duration[a]),
    );
    for (const c of kids) {
      if (cursor <= s0) break;
      const cs = Math.max(m.start[c], s0);
      const ce = Math.min(m.start[c] + m.duration[c], cursor);
      if (cs >= cursor || ce <= cs) continue;
      add(i, ce, cursor);
      work.push(c, ce);
      cursor = cs;
    }
    add(i, s0, cursor);
    if (m.duration[i] === 0 && !kids.length) onPath[i] = 1;
  }
  return { onPath, segments };
}
