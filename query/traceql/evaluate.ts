/**
 * Exact evaluation of a parsed TraceQL query against one whole trace (structural operators and
 * trace-level intrinsics need every span of it). Pure: no I/O.
 *
 * Semantics (as Tempo's, see docs/search.md): a spanset filter `{ e }` is the trace's spans for
 * which `e` holds; `A && B` is both sets joined when both are non-empty, `A || B` their union,
 * `A > B` the spans of B whose parent is in A, `A >> B` the spans of B with an ancestor in A.
 * A comparison with a missing attribute, or with a value of another type, is false (`!=` too);
 * only `= nil` / `!= nil` test presence.
 */
import { type Attribute, type Span, type Trace } from '../../model/span.js';
import type { Field, FieldExpr, Literal, PipelineStage, SpansetExpr, SpansetOp, TraceQLQuery } from './ast.js';

/** Per-trace facts the evaluation needs, computed once per trace. */
export interface TraceIndex {
  trace: Trace;
  byId: Map<string, Span>;
  root: Span | undefined;
  startUs: number;
  durationUs: number;
}

export function indexTrace(trace: Trace): TraceIndex {
  const byId = new Map<string, Span>();
  let startUs = Infinity;
  let endUs = -Infinity;
  for (const s of trace.spans) {
    byId.set(s.spanId, s);
    startUs = Math.min(startUs, s.startTimeUs);
    endUs = Math.max(endUs, s.startTimeUs + s.durationUs);
  }
  // The root: a span without parent, else (a partial trace) the earliest whose parent is missing.
  let root: Span | undefined;
  for (const s of trace.spans) {
    const parentless = s.parentSpanId === '' || !byId.has(s.parentSpanId);
    if (!parentless) continue;
    const better = !root || (s.parentSpanId === '' && root.parentSpanId !== '') ||
      ((s.parentSpanId === '') === (root.parentSpanId === '') && s.startTimeUs < root.startTimeUs);
    if (better) root = s;
  }
  return { trace, byId, root, startUs: trace.spans.length ? startUs : 0, durationUs: trace.spans.length ? endUs - startUs : 0 };
}

/** What one trace yields: the matched spans (in start order) and the `select(…)` fields. */
export interface TraceMatchResult {
  spans: Span[];
  selected: Field[];
}

/** The trace's match, or undefined when the query does not match it. */
export function evaluateTrace(q: TraceQLQuery, idx: TraceIndex): TraceMatchResult | undefined {
  const matched = evalSpanset(q.spanset, idx);
  if (matched.size === 0) return undefined;
  const selected: Field[] = [];
  for (const stage of q.stages) {
    if (stage.type === 'count') {
      if (!compare(matched.size, stage.op, stage.value)) return undefined;
    } else {
      selected.push(...stage.fields);
    }
  }
  return { spans: [...matched].sort((a, b) => a.startTimeUs - b.startTimeUs), selected };
}

function evalSpanset(e: SpansetExpr, idx: TraceIndex): Set<Span> {
  if (e.type === 'filter') {
    const out = new Set<Span>();
    for (const s of idx.trace.spans) if (e.expr === null || evalField(e.expr, s, idx)) out.add(s);
    return out;
  }
  const left = evalSpanset(e.left, idx);
  // && and the structural operators need both sides; an empty left side ends it early.
  if (left.size === 0 && e.op !== '||') return left;
  return combineSpansets(e.op, left, evalSpanset(e.right, idx), idx.byId);
}

/**
 * A spanset operator over two evaluated sides: union, both-or-nothing, and the structural child
 * (`>`) and descendant (`>>`) relations by parent id. Shared by the evaluator (whole spans) and
 * the prefilter (span skeletons), so the two cannot disagree on what an operator means.
 */
export function combineSpansets<S extends { parentSpanId: string }>(
  op: SpansetOp,
  left: Set<S>,
  right: Set<S>,
  byId: ReadonlyMap<string, S>,
): Set<S> {
  switch (op) {
    case '||': return new Set([...left, ...right]);
    case '&&': return right.size === 0 ? right : new Set([...left, ...right]);
    case '>': {
      const out = new Set<S>();
      for (const s of right) {
        const parent = byId.get(s.parentSpanId);
        if (parent && left.has(parent)) out.add(s);
      }
      return out;
    }
    case '>>': {
      const out = new Set<S>();
      for (const s of right) {
        // Walk up; `seen` guards against a cycle of parent ids in bad data.
        const seen = new Set<S>();
        for (let p = byId.get(s.parentSpanId); p && !seen.has(p); p = byId.get(p.parentSpanId)) {
          if (left.has(p)) { out.add(s); break; }
          seen.add(p);
        }
      }
      return out;
    }
  }
}

function evalField(e: FieldExpr, s: Span, idx: TraceIndex): boolean {
  switch (e.type) {
    case 'and': return evalField(e.left, s, idx) && evalField(e.right, s, idx);
    case 'or': return evalField(e.left, s, idx) || evalField(e.right, s, idx);
    case 'not': return !evalField(e.expr, s, idx);
    case 'const': return e.value;
    case 'compare': return compareValue(fieldValue(e.field, s, idx), e.op, e.value);
  }
}

/** A field's value on a span, typed for comparison; undefined when absent. */
export type FieldValue =
  | { type: 'string'; value: string }
  | { type: 'number'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'duration'; us: number }
  | { type: 'status'; code: number }
  | { type: 'kind'; kind: number }
  | undefined;

export function attributeValue(a: Attribute | undefined): FieldValue {
  if (!a) return undefined;
  switch (a.type) {
    case 'string': return { type: 'string', value: a.value };
    case 'bool': return { type: 'bool', value: a.value };
    case 'int64': return { type: 'number', value: Number(a.value) };
    case 'float64': return { type: 'number', value: a.value };
    // Binary, arrays and maps compare as their stored text (equality and regex are what make sense).
    default: return { type: 'string', value: a.value };
  }
}

const findAttr = (attrs: readonly Attribute[], key: string) => attrs.find((a) => a.key === key);

export function fieldValue(f: Field, s: Span, idx: TraceIndex): FieldValue {
  if (f.kind === 'attr') {
    if (f.scope === 'span') return attributeValue(findAttr(s.attributes, f.name));
    if (f.scope === 'resource') return attributeValue(findAttr(s.resource.attributes, f.name));
    return attributeValue(findAttr(s.attributes, f.name) ?? findAttr(s.resource.attributes, f.name));
  }
  switch (f.name) {
    case 'name': return { type: 'string', value: s.name };
    case 'status': return { type: 'status', code: s.status.code };
    case 'kind': return { type: 'kind', kind: s.kind };
    case 'duration': return { type: 'duration', us: s.durationUs };
    case 'traceDuration': return { type: 'duration', us: idx.durationUs };
    case 'rootServiceName': return idx.root ? { type: 'string', value: idx.root.resource.serviceName } : undefined;
    case 'rootName': return idx.root ? { type: 'string', value: idx.root.name } : undefined;
  }
}

/** `a op b` for two numbers or two strings (strings compare by UTF-16 code unit). */
function compare<T extends number | string>(a: T, op: string, b: T): boolean {
  switch (op) {
    case '=': return a === b;
    case '!=': return a !== b;
    case '<': return a < b;
    case '<=': return a <= b;
    case '>': return a > b;
    case '>=': return a >= b;
    default: return false;
  }
}

export function compareValue(v: FieldValue, op: string, lit: Literal): boolean {
  if (lit.type === 'nil') return op === '=' ? v === undefined : v !== undefined;
  if (v === undefined) return false;
  if (lit.type === 'regex') {
    if (v.type !== 'string') return false;
    return lit.re.test(v.value) === (op === '=~');
  }
  switch (lit.type) {
    case 'string': return v.type === 'string' && compare(v.value, op, lit.value);
    case 'number': return v.type === 'number' && compare(v.value, op, lit.value);
    case 'bool': return v.type === 'bool' && compare(Number(v.value), op, Number(lit.value));
    case 'duration': return v.type === 'duration' && compare(v.us, op, lit.us);
    case 'status': return v.type === 'status' && compare(v.code, op, lit.code);
    case 'kind': return v.type === 'kind' && compare(v.kind, op, lit.kind);
  }
}

/** The attribute fields a query mentions (conditions and select), for showing matched spans. */
export function mentionedFields(q: TraceQLQuery): Field[] {
  const out: Field[] = [];
  const seen = new Set<string>();
  const add = (f: Field) => {
    const key = f.kind === 'attr' ? `${f.scope}.${f.name}` : f.name;
    if (!seen.has(key)) { seen.add(key); out.push(f); }
  };
  const walkField = (e: FieldExpr): void => {
    if (e.type === 'and' || e.type === 'or') { walkField(e.left); walkField(e.right); }
    else if (e.type === 'not') walkField(e.expr);
    else if (e.type === 'compare') add(e.field);
  };
  const walk = (e: SpansetExpr): void => {
    if (e.type === 'filter') { if (e.expr) walkField(e.expr); } else { walk(e.left); walk(e.right); }
  };
  walk(q.spanset);
  for (const st of q.stages as PipelineStage[]) if (st.type === 'select') st.fields.forEach(add);
  return out;
}
