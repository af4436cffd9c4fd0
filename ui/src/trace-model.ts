/**
 * A trace flattened once into parallel typed arrays, in depth-first display order, so that
 * every later operation (collapse, filter, hide-short, scroll) is a linear scan or an O(1) lookup
 * and the waterfall never walks a tree or measures a span per frame. Built in O(n log n) for the
 * child sort; 100k spans take a few tens of milliseconds.
 *
 * Row index `i` (0 … n−1) is the span's position in depth-first order: the subtree of `i` is the
 * contiguous range [i, subtreeEnd[i]). Times are µs, relative to the trace's first start.
 */
import type { KV, Process, Span, Trace } from './jaeger-types.js';

export interface TraceModel {
  traceID: string;
  n: number;
  /** Spans in display (DFS) order. */
  spans: Span[];
  processes: Record<string, Process>;
  /** spanID → row. Duplicate ids keep the first occurrence. */
  rowOf: Map<string, number>;
  /** Row of the parent span, −1 for a root or for a span whose parent is missing. */
  parent: Int32Array;
  depth: Int32Array;
  /** Exclusive end of the subtree in rows. `subtreeEnd[i] === i + 1` means a leaf. */
  subtreeEnd: Int32Array;
  /** Start offset from `startUs`, µs. */
  start: Float64Array;
  duration: Float64Array;
  /** Index into `services`. */
  service: Int32Array;
  /** Index into `operations`. */
  operation: Int32Array;
  /** 1 when the span is an error (`error=true` or `otel.status_code=ERROR`). */
  error: Uint8Array;
  /** 1 when the span names a parent (CHILD_OF in this trace) that never arrived. */
  orphan: Uint8Array;
  services: string[];
  operations: string[];
  /** Spans per service, indexed like `services`. */
  serviceSpanCount: number[];
  /** Earliest span start, µs since the epoch. */
  startUs: number;
  /** Last span end − first span start, µs (0 for an empty trace). */
  durationUs: number;
  maxDepth: number;
  errorCount: number;
  orphanCount: number;
  /** Rows with no references at all: true roots. 0 rows means the root never arrived. */
  rootCount: number;
  /** Trace warnings plus one line per span warning (prefixed with the span id). */
  warnings: string[];
}

/** Whether a span reports an error, the way Jaeger UI decides it. */
export function isErrorSpan(tags: readonly KV[]): boolean {
  for (const t of tags) {
    if (t.key === 'error' && (t.value === true || t.value === 'true')) return true;
    if (t.key === 'otel.status_code' && t.value === 'ERROR') return true;
  }
  return false;
}

/** The parent span id a span names in its own trace: the first CHILD_OF, else the first reference. */
export function parentSpanId(span: Span): string | undefined {
  let follows: string | undefined;
  for (const r of span.references) {
    if (r.traceID !== span.traceID && r.traceID.replace(/^0+/, '') !== span.traceID.replace(/^0+/, '')) continue;
    if (r.refType === 'CHILD_OF') return r.spanID;
    follows ??= r.spanID;
  }
  return follows;
}

export function buildTraceModel(trace: Trace): TraceModel {
  const input = trace.spans;
  const m = input.length;

  // Unique spans, first occurrence wins (the server's adjusters normally dedupe already).
  const byId = new Map<string, number>();
  const uniq: Span[] = [];
  for (let k = 0; k < m; k++) {
    const s = input[k];
    if (byId.has(s.spanID)) continue;
    byId.set(s.spanID, uniq.length);
    uniq.push(s);
  }
  const n = uniq.length;

  // Parent (in input order) and orphan flags.
  const inParent = new Int32Array(n).fill(-1);
  const inOrphan = new Uint8Array(n);
  let rootCount = 0;
  for (let k = 0; k < n; k++) {
    const pid = parentSpanId(uniq[k]);
    if (pid === undefined) { rootCount++; continue; }
    const p = byId.get(pid);
    if (p === undefined || p === k) inOrphan[k] = 1;
    else inParent[k] = p;
  }
  // A reference cycle would make the DFS skip spans: break cycles by cutting the edge that closes them.
  breakCycles(inParent, inOrphan);

  // Children lists in CSR form, sorted by start time.
  const childCount = new Int32Array(n + 1);
  for (let k = 0; k < n; k++) if (inParent[k] >= 0) childCount[inParent[k]]++;
  const offs = new Int32Array(n + 1);
  for (let k = 0; k < n; k++) offs[k + 1] = offs[k] + childCount[k];
  const fill = offs.slice(0, n);
  const kids = new Int32Array(offs[n]);
  const tops: number[] = [];
  for (let k = 0; k < n; k++) {
    const p = inParent[k];
    if (p >= 0) kids[fill[p]++] = k;
    else tops.push(k);
  }
  const byStart = (a: number, b: number) => uniq[a].startTime - uniq[b].startTime || a - b;
  for (let k = 0; k < n; k++) {
    if (offs[k + 1] - offs[k] > 1) kids.subarray(offs[k], offs[k + 1]).sort(byStart);
  }
  tops.sort(byStart);

  // Iterative DFS (a 100k-deep chain must not overflow the stack).
  const order = new Int32Array(n);
  const rowOfInput = new Int32Array(n);
  const depthIn = new Int32Array(n);
  let w = 0;
  const stack: number[] = [];
  for (let t = tops.length - 1; t >= 0; t--) stack.push(tops[t]);
  while (stack.length) {
    const k = stack.pop()!;
    rowOfInput[k] = w;
    order[w++] = k;
    for (let c = offs[k + 1] - 1; c >= offs[k]; c--) {
      depthIn[kids[c]] = depthIn[k] + 1;
      stack.push(kids[c]);
    }
  }

  const spans = new Array<Span>(n);
  const parent = new Int32Array(n);
  const depth = new Int32Array(n);
  const start = new Float64Array(n);
  const duration = new Float64Array(n);
  const service = new Int32Array(n);
  const operation = new Int32Array(n);
  const error = new Uint8Array(n);
  const orphan = new Uint8Array(n);
  const rowOf = new Map<string, number>();
  const serviceIndex = new Map<string, number>();
  const opIndex = new Map<string, number>();
  const services: string[] = [];
  const operations: string[] = [];
  const serviceSpanCount: number[] = [];
  const warnings: string[] = [...(trace.warnings ?? [])];

  let startUs = Infinity;
  let endUs = -Infinity;
  for (let k = 0; k < n; k++) {
    const s = uniq[k];
    if (s.startTime < startUs) startUs = s.startTime;
    if (s.startTime + s.duration > endUs) endUs = s.startTime + s.duration;
  }
  if (n === 0) { startUs = 0; endUs = 0; }

  let maxDepth = 0;
  let errorCount = 0;
  let orphanCount = 0;
  for (let i = 0; i < n; i++) {
    const k = order[i];
    const s = uniq[k];
    spans[i] = s;
    rowOf.set(s.spanID, i);
    parent[i] = inParent[k] >= 0 ? rowOfInput[inParent[k]] : -1;
    depth[i] = depthIn[k];
    if (depth[i] > maxDepth) maxDepth = depth[i];
    start[i] = s.startTime - startUs;
    duration[i] = s.duration;
    const svcName = trace.processes[s.processID]?.serviceName ?? s.processID;
    let si = serviceIndex.get(svcName);
    if (si === undefined) {
      si = services.length;
      serviceIndex.set(svcName, si);
      services.push(svcName);
      serviceSpanCount.push(0);
    }
    service[i] = si;
    serviceSpanCount[si]++;
    let oi = opIndex.get(s.operationName);
    if (oi === undefined) {
      oi = operations.length;
      opIndex.set(s.operationName, oi);
      operations.push(s.operationName);
    }
    operation[i] = oi;
    if (isErrorSpan(s.tags)) { error[i] = 1; errorCount++; }
    if (inOrphan[k]) { orphan[i] = 1; orphanCount++; }
    if (s.warnings) for (const wmsg of s.warnings) warnings.push(`span ${s.spanID}: ${wmsg}`);
  }

  // Subtree ends, from the deepest rows up: a row's subtree ends where its last child's ends.
  const subtreeEnd = new Int32Array(n);
  for (let i = n - 1; i >= 0; i--) {
    if (subtreeEnd[i] === 0) subtreeEnd[i] = i + 1;
    const p = parent[i];
    if (p >= 0 && subtreeEnd[i] > subtreeEnd[p]) subtreeEnd[p] = subtreeEnd[i];
  }

  return {
    traceID: trace.traceID, n, spans, processes: trace.processes, rowOf, parent, depth, subtreeEnd,
    start, duration, service, operation, error, orphan, services, operations, serviceSpanCount,
    startUs, durationUs: endUs - startUs, maxDepth, errorCount, orphanCount, rootCount, warnings,
  };
}

/** Cuts parent links that close a cycle, marking the cut span as an orphan. */
function breakCycles(parentOf: Int32Array, orphan: Uint8Array): void {
  const n = parentOf.length;
  // 0 = unvisited, 1 = on the current path, 2 = done.
  const state = new Uint8Array(n);
  const path: number[] = [];
  for (let s = 0; s < n; s++) {
    if (state[s]) continue;
    let k = s;
    while (k >= 0 && state[k] === 0) { state[k] = 1; path.push(k); k = parentOf[k]; }
    if (k >= 0 && state[k] === 1) { orphan[k] = 1; parentOf[k] = -1; }
    for (const p of path) state[p] = 2;
    path.length = 0;
  }
}

/** What the waterfall shows; every field is optional in effect (0 / false / null = off). */
export interface RowFilter {
  /** 1 = the row's subtree is folded. Indexed by row. */
  collapsed: Uint8Array;
  /** Hide spans (with their subtrees) shorter than this, µs; 0 = show all. */
  hideShorterThanUs: number;
  /** Show only spans that enter a service (root, or parent in another service), nested by service hops. */
  serviceLevel: boolean;
  /** When set, show only rows with a 1 here (find-in-trace "only matches"). */
  only: Uint8Array | null;
}

export interface VisibleRows {
  rows: Int32Array;
  /** Indentation per visible position. */
  depth: Int32Array;
}

/** Rows to display, in order. Linear in the number of rows it has to look at. */
export function visibleRows(m: TraceModel, f: RowFilter): VisibleRows {
  const rows = new Int32Array(m.n);
  const depth = new Int32Array(m.n);
  let svcDepth: Int32Array | null = null;
  if (f.serviceLevel) {
    svcDepth = new Int32Array(m.n);
    for (let i = 0; i < m.n; i++) {
      const p = m.parent[i];
      svcDepth[i] = p < 0 ? 0 : svcDepth[p] + (m.service[p] !== m.service[i] ? 1 : 0);
    }
  }
  let w = 0;
  for (let i = 0; i < m.n; ) {
    if (f.hideShorterThanUs > 0 && m.duration[i] < f.hideShorterThanUs && m.parent[i] >= 0) {
      i = m.subtreeEnd[i];
      continue;
    }
    const p = m.parent[i];
    const shown = (!f.only || f.only[i] === 1) && (!svcDepth || p < 0 || m.service[p] !== m.service[i]);
    if (shown) {
      rows[w] = i;
      depth[w] = svcDepth ? svcDepth[i] : m.depth[i];
      w++;
    }
    // A folded span hides its subtree, but only when the span itself is displayed: folding a hidden
    // span would make spans vanish with no visible control to bring them back.
    i = shown && f.collapsed[i] ? m.subtreeEnd[i] : i + 1;
  }
  return { rows: rows.subarray(0, w), depth: depth.subarray(0, w) };
}

/** Rows whose operation, service, span id or any tag/process/log value contains `text` (case-insensitive). */
export function findInTrace(m: TraceModel, text: string): Uint8Array {
  const out = new Uint8Array(m.n);
  const needle = text.trim().toLowerCase();
  if (!needle) return out;
  const has = (v: unknown) => String(v).toLowerCase().includes(needle);
  const kvHas = (kvs: readonly KV[]) => kvs.some((t) => has(t.key) || has(t.value));
  for (let i = 0; i < m.n; i++) {
    const s = m.spans[i];
    if (
      has(s.operationName) || has(m.services[m.service[i]]) || s.spanID === needle || kvHas(s.tags) ||
      s.logs.some((l) => kvHas(l.fields))
    ) out[i] = 1;
  }
  return out;
}

/** Rows of `m` that are folded so that only spans up to `depth` are visible (`depth` 0 = roots only). */
export function collapseToDepth(m: TraceModel, depth: number): Uint8Array {
  const c = new Uint8Array(m.n);
  for (let i = 0; i < m.n; i++) if (m.depth[i] >= depth && m.subtreeEnd[i] > i + 1) c[i] = 1;
  return c;
}

/** Folds every span whose subtree stays within its own service, leaving the cross-service calls open. */
export function collapseWithinService(m: TraceModel): Uint8Array {
  const c = new Uint8Array(m.n);
  // crosses[i] = 1 when the subtree of i contains a span of another service than i's.
  const crosses = new Uint8Array(m.n);
  for (let i = m.n - 1; i >= 0; i--) {
    const p = m.parent[i];
    if (p >= 0 && (crosses[i] || m.service[i] !== m.service[p])) crosses[p] = 1;
  }
  for (let i = 0; i < m.n; i++) if (!crosses[i] && m.subtreeEnd[i] > i + 1) c[i] = 1;
  return c;
}

/**
 * Folds every span of one service (`kind` "service") or one operation (`kind` "operation"),
 * on top of what is already folded: e.g. hide what happens inside every `HGETALL` call.
 */
export function foldMatching(m: TraceModel, collapsed: Uint8Array, kind: 'service' | 'operation', index: number): Uint8Array {
  const c = collapsed.slice();
  const of = kind === 'service' ? m.service : m.operation;
  for (let i = 0; i < m.n; i++) {
    if (of[i] === index && m.subtreeEnd[i] > i + 1) {
      // For a service, fold where the service is entered, so its calls to others stay visible as one row.
      if (kind === 'service' && m.parent[i] >= 0 && m.service[m.parent[i]] === index) continue;
      c[i] = 1;
    }
  }
  return c;
}
