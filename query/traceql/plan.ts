/**
 * Turns a TraceQL query into storage `TraceQuery`s that find candidate traces through the store's
 * indexes: NECESSARY conditions (every trace the query matches satisfies at least one of the
 * queries), so the candidates are a superset and exact evaluation (evaluate.ts) removes the rest.
 *
 * What is pushed down, from comparisons every matching span needs (conjuncts inside `{ }`, not
 * under `||` or `!`):
 * - `resource.service.name = "s"` and `rootServiceName = "s"` → the service term (a span of s);
 * - `name = "op"` together with the service in the same filter → the service+operation term;
 * - `span.x = v` / `resource.x = v` / `.x = v` with a string, safe integer or boolean → the tag
 *   term x=v (TraceQuery tags also match resource and event attributes: a superset, fine);
 * - `status = error` → tag error=true; `kind = server` → tag span.kind=server;
 * - `duration > d` (a span's) and `traceDuration > d` → a trace duration minimum (a trace is at
 *   least as long as each of its spans); `traceDuration < d` → a maximum.
 * Spanset operators: both sides of `&&`, `>`, `>>` are needed, so their conditions combine; for
 * `A || B` each side becomes its own query (the candidates are the union) — unless a side has
 * nothing to push down, which makes every trace in the window a candidate.
 * Storage-agnostic: any backend's `TraceReader.findTraceIds` serves the queries.
 */
import type { TraceQuery } from '../../storage/api.js';
import type { FieldExpr, SpansetExpr, TraceQLQuery } from './ast.js';

export type CandidateQuery = Omit<TraceQuery, 'limit' | 'startTimeMinUs' | 'startTimeMaxUs'>;

/** The index-served part of a query; `limit` and the window are the caller's. */
export interface CandidatePlan {
  /** Candidates are the union of these queries' results (one query unless the query has `||`). */
  queries: CandidateQuery[];
  /** Which indexes narrow the candidates, for the bench table and `explain`; alternatives joined by " | ". */
  narrowedBy: string[];
}

/** What one spanset filter pushes down. */
interface Group {
  service?: string;
  operation?: string;
  tags: [string, string][];
  durationMinUs?: number;
  durationMaxUs?: number;
}

/** Alternatives (OR) of conjunctions (AND) of filter groups; at most this many alternatives. */
const MAX_ALTERNATIVES = 8;
const SERVICE_KEY = 'service.name';
const KIND_NAMES = ['', 'internal', 'server', 'client', 'producer', 'consumer'];

/** The comparisons every span matching `e` satisfies. */
function conjuncts(e: FieldExpr): Extract<FieldExpr, { type: 'compare' }>[] {
  if (e.type === 'and') return [...conjuncts(e.left), ...conjuncts(e.right)];
  return e.type === 'compare' ? [e] : [];
}

function groupOf(filter: FieldExpr | null): Group {
  const g: Group = { tags: [] };
  if (!filter) return g;
  const raiseMin = (us: number) => { g.durationMinUs = Math.max(g.durationMinUs ?? 0, us); };
  const lowerMax = (us: number) => { g.durationMaxUs = Math.min(g.durationMaxUs ?? Number.MAX_SAFE_INTEGER, Math.max(0, us)); };
  for (const { field, op, value } of conjuncts(filter)) {
    if (field.kind === 'intrinsic') {
      if ((field.name === 'duration' || field.name === 'traceDuration') && value.type === 'duration') {
        if (op === '>') raiseMin(value.us + 1);
        else if (op === '>=' || op === '=') raiseMin(value.us);
        if (field.name === 'traceDuration') {
          if (op === '<') lowerMax(value.us - 1);
          else if (op === '<=' || op === '=') lowerMax(value.us);
        }
      }
      if (op !== '=') continue;
      if (field.name === 'rootServiceName' && value.type === 'string') g.service ??= value.value;
      else if (field.name === 'name' && value.type === 'string') g.operation ??= value.value;
      else if (field.name === 'status' && value.type === 'status' && value.code === 2) g.tags.push(['error', 'true']);
      else if (field.name === 'kind' && value.type === 'kind' && value.kind !== 0) g.tags.push(['span.kind', KIND_NAMES[value.kind]]);
      continue;
    }
    if (op !== '=') continue;
    let text: string | undefined;
    if (value.type === 'string') text = value.value;
    else if (value.type === 'bool') text = String(value.value);
    else if (value.type === 'number' && Number.isSafeInteger(value.value)) text = String(value.value);
    if (text === undefined) continue;
    if (field.name === SERVICE_KEY) {
      // The store answers a `service.name` tag through the service term (the resource's), so a
      // span ATTRIBUTE called service.name is not index-served: only the resource scope is pushed.
      if (field.scope === 'resource') g.service = text;
    } else {
      g.tags.push([field.name, text]);
    }
  }
  return g;
}

const pushesNothing = (groups: Group[]) =>
  groups.every((g) => g.service === undefined && g.tags.length === 0 && g.durationMinUs === undefined && g.durationMaxUs === undefined);

/** The alternatives whose union holds every match: each a list of filter groups all needed. */
function alternatives(e: SpansetExpr): Group[][] {
  if (e.type === 'filter') return [[groupOf(e.expr)]];
  const left = alternatives(e.left);
  const right = alternatives(e.right);
  if (e.op === '||') {
    const all = [...left, ...right];
    // A side that narrows nothing makes every trace a candidate; too many alternatives cost more
    // index walks than they save.
    return all.some(pushesNothing) || all.length > MAX_ALTERNATIVES ? [[]] : all;
  }
  if (left.length * right.length > MAX_ALTERNATIVES) {
    // Keep the side with fewer alternatives exact and drop the other's conditions (still necessary).
    return left.length <= right.length ? left : right;
  }
  return left.flatMap((l) => right.map((r) => [...l, ...r]));
}

function queryOf(groups: Group[]): { query: CandidateQuery; narrowedBy: string[] } {
  const narrowedBy: string[] = [];
  const query: CandidateQuery = {};
  // service+operation of one filter is the most selective term the store has: it wins, with that
  // filter's own tags (TraceQuery ties tags to a span of its service, so other filters' cannot join).
  const withOp = groups.find((g) => g.service !== undefined && g.operation !== undefined);
  if (withOp) {
    query.serviceName = withOp.service;
    query.operationName = withOp.operation;
    narrowedBy.push(`service+operation ${withOp.service}/${withOp.operation}`);
    if (withOp.tags.length) query.tags = Object.fromEntries(withOp.tags);
  } else {
    const tags: Record<string, string> = {};
    for (const g of groups) {
      if (g.service !== undefined) tags[SERVICE_KEY] ??= g.service;
      for (const [k, v] of g.tags) tags[k] ??= v;
    }
    if (Object.keys(tags).length) query.tags = tags;
  }
  for (const [k, v] of Object.entries(query.tags ?? {})) narrowedBy.push(k === SERVICE_KEY ? `service ${v}` : `tag ${k}=${v}`);
  let min: number | undefined;
  let max: number | undefined;
  for (const g of groups) {
    if (g.durationMinUs !== undefined) min = Math.max(min ?? 0, g.durationMinUs);
    if (g.durationMaxUs !== undefined) max = Math.min(max ?? Number.MAX_SAFE_INTEGER, g.durationMaxUs);
  }
  if (min !== undefined || max !== undefined) {
    query.durationMinUs = min;
    query.durationMaxUs = max;
    narrowedBy.push('trace duration');
  }
  return { query, narrowedBy };
}

export function planCandidates(q: TraceQLQuery): CandidatePlan {
  const parts = alternatives(q.spanset).map(queryOf);
  // The same query twice (`{a} || {a}`) would walk the index twice for nothing.
  const unique = new Map(parts.map((p) => [JSON.stringify(p.query), p]));
  const list = [...unique.values()];
  const narrowsNothing = list.some((p) => p.narrowedBy.length === 0);
  if (narrowsNothing) return { queries: [{}], narrowedBy: ['time window only (every trace in it is a candidate)'] };
  return {
    queries: list.map((p) => p.query),
    narrowedBy: list.length === 1 ? list[0].narrowedBy : [list.map((p) => p.narrowedBy.join(', ')).join(' | ')],
  };
}
