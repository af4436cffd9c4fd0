/**
 * Trace comparison by structure and by time. Spans are grouped by their call path
 * (service:operation of every ancestor down to the span), so "the same call in the same place"
 * lines up across the two traces even when span ids and counts differ. For each path: count and
 * total duration on each side; paths present on one side only are what changed structurally.
 */
import type { TraceModel } from './trace-model.js';

export interface CompareRow {
  depth: number;
  service: string;
  operation: string;
  countA: number;
  countB: number;
  /** Sum of span durations on that path, µs. */
  totalA: number;
  totalB: number;
}

interface Node {
  service: string;
  operation: string;
  depth: number;
  countA: number;
  countB: number;
  totalA: number;
  totalB: number;
  children: Map<string, Node>;
}

/** Rows in tree order (A's order first, then paths only B has). */
export function compareTraces(a: TraceModel, b: TraceModel): CompareRow[] {
  const root: Node = { service: '', operation: '', depth: -1, countA: 0, countB: 0, totalA: 0, totalB: 0, children: new Map() };
  const add = (m: TraceModel, side: 'A' | 'B') => {
    const nodeOf: Node[] = new Array(m.n);
    for (let i = 0; i < m.n; i++) {
      const p = m.parent[i];
      const parentNode = p >= 0 ? nodeOf[p] : root;
      const service = m.services[m.service[i]];
      const operation = m.operations[m.operation[i]];
      const key = `${service}\u0000${operation}`;
      let node = parentNode.children.get(key);
      if (!node) {
        node = { service, operation, depth: parentNode.depth + 1, countA: 0, countB: 0, totalA: 0, totalB: 0, children: new Map() };
        parentNode.children.set(key, node);
      }
      if (side === 'A') { node.countA++; node.totalA += m.duration[i]; }
      else { node.countB++; node.totalB += m.duration[i]; }
      nodeOf[i] = node;
    }
  };
  add(a, 'A');
  add(b, 'B');
  const rows: CompareRow[] = [];
  const stack: Node[] = [...root.children.values()].reverse();
  while (stack.length) {
    const node = stack.pop()!;
    const { children, ...row } = node;
    rows.push(row);
    for (const c of [...children.values()].reverse()) stack.push(c);
  }
  return rows;
}
