/**
 * A cheap necessary condition of a TraceQL match, checked on a candidate's span skeletons (ids,
 * parents, service, name, kind, status, timing: `TraceReader.getTraceSkeletons`) before the trace
 * is read whole and evaluated exactly (evaluate.ts). Pure: no I/O.
 *
 * Three-valued: a comparison on an attribute is unknown here (only `resource.service.name` is
 * known: the skeleton carries that attribute); `!unknown` is unknown, `false && x` false,
 * `true || x` true. A filter's possible spans (its condition true or unknown) contain the spans it
 * matches, and every spanset operator is monotone (larger operands give a larger result: `&&`
 * keeps the union only when both are non-empty, `||` the union, `>`/`>>` the right spans under a
 * left one), so the possible result contains the exact one. An empty possible result proves the
 * trace cannot match; so does a `count() > N`, `>= N` or `= N` that the possible set's size
 * already fails. Anything else may match and is read whole.
 */
import type { SpanSkeleton, TraceSkeleton } from '../../storage/api.js';
import type { Field, FieldExpr, SpansetExpr, TraceQLQuery } from './ast.js';
import { attributeValue, combineSpansets, compareValue, type FieldValue } from './evaluate.js';

/** A field's value on a skeleton: known (a value, or undefined for absent) or UNKNOWN. */
const UNKNOWN = Symbol('unknown');
type Known = FieldValue | typeof UNKNOWN;

interface SkeletonIndex {
  spans: SpanSkeleton[];
  byId: Map<string, SpanSkeleton>;
  root: SpanSkeleton | undefined;
  durationUs: number;
}

/** As `indexTrace` (evaluate.ts), on skeletons: same parent map, same root, same duration. */
function indexSkeleton(t: TraceSkeleton): SkeletonIndex {
  const byId = new Map<string, SpanSkeleton>();
  let startUs = Infinity;
  let endUs = -Infinity;
  for (const s of t.spans) {
    byId.set(s.spanId, s);
    startUs = Math.min(startUs, s.startTimeUs);
    endUs = Math.max(endUs, s.startTimeUs + s.durationUs);
  }
  let root: SpanSkeleton | undefined;
  for (const s of t.spans) {
    const parentless = s.parentSpanId === '' || !byId.has(s.parentSpanId);
    if (!parentless) continue;
    const better = !root || (s.parentSpanId === '' && root.parentSpanId !== '') ||
      ((s.parentSpanId === '') === (root.parentSpanId === '') && s.startTimeUs < root.startTimeUs);
    if (better) root = s;
  }
  return { spans: t.spans, byId, root, durationUs: t.spans.length ? endUs - startUs : 0 };
}

/** Whether a field is known on skeletons. */
const knownField = (f: Field) => f.kind === 'intrinsic' || (f.scope === 'resource' && f.name === 'service.name');

function fieldOf(f: Field, s: SpanSkeleton, idx: SkeletonIndex): Known {
  if (f.kind === 'attr') return f.scope === 'resource' && f.name === 'service.name' ? attributeValue(s.serviceAttribute) : UNKNOWN;
  switch (f.name) {
    case 'name': return { type: 'string', value: s.name };
    case 'status': return { type: 'status', code: s.statusCode };
    case 'kind': return { type: 'kind', kind: s.kind };
    case 'duration': return { type: 'duration', us: s.durationUs };
    case 'traceDuration': return { type: 'duration', us: idx.durationUs };
    case 'rootServiceName': return idx.root ? { type: 'string', value: idx.root.serviceName } : undefined;
    case 'rootName': return idx.root ? { type: 'string', value: idx.root.name } : undefined;
  }
}

/** true, false, or undefined (unknown). */
function evalField3(e: FieldExpr, s: SpanSkeleton, idx: SkeletonIndex): boolean | undefined {
  switch (e.type) {
    case 'and': {
      const l = evalField3(e.left, s, idx);
      if (l === false) return false;
      const r = evalField3(e.right, s, idx);
      if (r === false) return false;
      return l === true && r === true ? true : undefined;
    }
    case 'or': {
      const l = evalField3(e.left, s, idx);
      if (l === true) return true;
      const r = evalField3(e.right, s, idx);
      if (r === true) return true;
      return l === false && r === false ? false : undefined;
    }
    case 'not': {
      const v = evalField3(e.expr, s, idx);
      return v === undefined ? undefined : !v;
    }
    case 'const': return e.value;
    case 'compare': {
      const v = fieldOf(e.field, s, idx);
      return v === UNKNOWN ? undefined : compareValue(v, e.op, e.value);
    }
  }
}

/** The spans that may be in the spanset: a superset of what evaluate.ts's evalSpanset returns. */
function possible(e: SpansetExpr, idx: SkeletonIndex): Set<SpanSkeleton> {
  if (e.type === 'filter') {
    const out = new Set<SpanSkeleton>();
    for (const s of idx.spans) if (e.expr === null || evalField3(e.expr, s, idx) !== false) out.add(s);
    return out;
  }
  const left = possible(e.left, idx);
  if (left.size === 0 && e.op !== '||') return left;
  return combineSpansets(e.op, left, possible(e.right, idx), idx.byId);
}

/** False only when the trace cannot match `q` (see the module comment). */
export function mayMatch(q: TraceQLQuery, trace: TraceSkeleton): boolean {
  const n = possible(q.spanset, indexSkeleton(trace)).size;
  if (n === 0) return false;
  for (const stage of q.stages) {
    if (stage.type !== 'count') continue;
    // The exact count is at most n: these fail for every count ≤ n when they fail for n.
    if ((stage.op === '>' || stage.op === '>=' || stage.op === '=') && !compareValue({ type: 'number', value: n }, stage.op, { type: 'number', value: stage.value })) return false;
  }
  return true;
}

type Compare = Extract<FieldExpr, { type: 'compare' }>;

/**
 * What a store's terms already prove about one span (plan.ts pushes these down as one term each):
 * `resource.service.name = s`, `kind = k`, `status = error`, and `name = n` with the service.
 */
function termServed(c: Compare, withService: boolean): boolean {
  if (c.op !== '=') return false;
  const f = c.field;
  if (f.kind === 'attr') return f.scope === 'resource' && f.name === 'service.name' && c.value.type === 'string';
  if (f.name === 'kind') return c.value.type === 'kind' && c.value.kind !== 0;
  if (f.name === 'status') return c.value.type === 'status' && c.value.code === 2;
  return f.name === 'name' && withService && c.value.type === 'string';
}

/** Whether skeletons can tell more about a filter's spans than the terms its candidates come from. */
function filterDecides(e: FieldExpr | null): boolean {
  if (e === null) return false;
  const conjuncts: FieldExpr[] = [];
  const split = (x: FieldExpr) => { if (x.type === 'and') { split(x.left); split(x.right); } else conjuncts.push(x); };
  split(e);
  const anyKnown = (x: FieldExpr): boolean =>
    x.type === 'and' || x.type === 'or' ? anyKnown(x.left) || anyKnown(x.right) : x.type === 'not' ? anyKnown(x.expr) : x.type === 'compare' && knownField(x.field);
  const known = conjuncts.filter(anyKnown);
  const compares = known.filter((x): x is Compare => x.type === 'compare');
  // A known condition under || or !, or one no term serves (a regex, a duration, rootName …).
  if (compares.length < known.length) return true;
  const withService = compares.some((c) => c.field.kind === 'attr');
  if (compares.some((c) => !termServed(c, withService))) return true;
  // Term-served only: one term (service+operation counts as one) proves it; two are on any spans.
  const operation = withService && compares.some((c) => c.field.kind === 'intrinsic' && c.field.name === 'name');
  return compares.length - (operation ? 1 : 0) > 1;
}

/**
 * Whether skeletons can rule out candidates the store's terms found: a structural operator, a
 * `count()` stage with a known filter, or a filter whose conditions on known fields (intrinsics,
 * `resource.service.name`) are more than one term proves (filterDecides). Otherwise every
 * candidate would pass and the skeleton reads would be wasted.
 */
export function prefilterApplies(q: TraceQLQuery): boolean {
  const filters: (FieldExpr | null)[] = [];
  let structural = false;
  const walk = (e: SpansetExpr): void => {
    if (e.type === 'filter') filters.push(e.expr);
    else { if (e.op === '>' || e.op === '>>') structural = true; walk(e.left); walk(e.right); }
  };
  walk(q.spanset);
  if (structural || filters.some(filterDecides)) return true;
  // count() > N bounds the number of spans a filter's known conditions allow.
  const countBound = q.stages.some((s) => s.type === 'count' && (s.op === '>' || s.op === '>=' || s.op === '='));
  return countBound && filters.some((f) => f !== null && conjunctsKnown(f));
}

const conjunctsKnown = (e: FieldExpr): boolean =>
  e.type === 'and' ? conjunctsKnown(e.left) || conjunctsKnown(e.right) : e.type === 'compare' && knownField(e.field);
