/**
 * Turns a TraceQL query into a storage `TraceQuery` that finds candidate traces through the
 * store's indexes: a NECESSARY condition (every trace the query matches satisfies it), so the
 * candidates are a superset and exact evaluation (evaluate.ts) removes the rest.
 *
 * What is pushed down, and only from spanset filters every match needs (both sides of `&&`,
 * `>`, `>>`; nothing under `||`) and from comparisons every matching span needs (conjuncts, not
 * under `||` or `!`):
 * - `resource.service.name = "s"` and `rootServiceName = "s"` → the service term (a span of s);
 * - `name = "op"` together with the service in the same filter → the service+operation term;
 * - `span.x = v` / `resource.x = v` / `.x = v` with a string, safe integer or boolean → the tag
 *   term x=v (TraceQuery tags also match resource and event attributes: a superset, fine);
 * - `status = error` → tag error=true; `kind = server` → tag span.kind=server;
 * - `duration > d` (a span's) and `traceDuration > d` → a trace duration minimum (a trace is at
 *   least as long as each of its spans); `traceDuration < d` → a maximum.
 * Storage-agnostic: any backend's `TraceReader.findTraceIds` serves it.
 */
import type { TraceQuery } from '../../storage/api.js';
import type { FieldExpr, SpansetExpr, TraceQLQuery } from './ast.js';

/** The index-served part of a query; `limit` and the window are the caller's. */
export interface CandidatePlan {
  query: Omit<TraceQuery, 'limit' | 'startTimeMinUs' | 'startTimeMaxUs'>;
  /** Which indexes narrow the candidates, for the bench table and `explain`. */
  narrowedBy: string[];
}

interface Group {
  service?: string;
  operation?: string;
  tags: [string, string][];
}

const SERVICE_KEY = 'service.name';

/** The filters every match needs. */
function necessaryFilters(e: SpansetExpr): FieldExpr[] {
  if (e.type === 'filter') return e.expr ? [e.expr] : [];
  if (e.op === '||') return [];
  return [...necessaryFilters(e.left), ...necessaryFilters(e.right)];
}

/** The comparisons every span matching `e` satisfies. */
function conjuncts(e: FieldExpr): Extract<FieldExpr, { type: 'compare' }>[] {
  if (e.type === 'and') return [...conjuncts(e.left), ...conjuncts(e.right)];
  return e.type === 'compare' ? [e] : [];
}

export function planCandidates(q: TraceQLQuery): CandidatePlan {
  let durationMinUs: number | undefined;
  let durationMaxUs: number | undefined;
  const groups: Group[] = [];
  const raiseMin = (us: number) => { durationMinUs = Math.max(durationMinUs ?? 0, us); };
  const lowerMax = (us: number) => { durationMaxUs = Math.min(durationMaxUs ?? Number.MAX_SAFE_INTEGER, Math.max(0, us)); };

  for (const filter of necessaryFilters(q.spanset)) {
    const g: Group = { tags: [] };
    for (const c of conjuncts(filter)) {
      const { field, op, value } = c;
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
        else if (field.name === 'kind' && value.type === 'kind' && value.kind !== 0) g.tags.push(['span.kind', ['', 'internal', 'server', 'client', 'producer', 'consumer'][value.kind]]);
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
    groups.push(g);
  }

  const narrowedBy: string[] = [];
  const query: CandidatePlan['query'] = {};
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
  if (durationMinUs !== undefined || durationMaxUs !== undefined) {
    query.durationMinUs = durationMinUs;
    query.durationMaxUs = durationMaxUs;
    narrowedBy.push('trace duration');
  }
  if (narrowedBy.length === 0) narrowedBy.push('time window only (every trace in it is a candidate)');
  return { query, narrowedBy };
}
