/**
 * The TraceQL subset's syntax tree: what the parser produces, the planner narrows with and the
 * evaluator runs. Literals are typed at parse time (a duration is µs, a status a number) so the
 * evaluator never re-parses text per span.
 */
import type { SpanKind, StatusCode } from '../../model/span.js';

export type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type MatchOp = '=~' | '!~';
export type SpansetOp = '&&' | '||' | '>' | '>>';

/** Span-level intrinsics (`span:` scope) and trace-level ones (`trace:` scope). */
export type Intrinsic = 'name' | 'status' | 'kind' | 'duration' | 'rootServiceName' | 'rootName' | 'traceDuration';

export type Field =
  | { kind: 'intrinsic'; name: Intrinsic }
  /** scope '' = unscoped `.x`: the span's attribute, else its resource's. */
  | { kind: 'attr'; scope: 'span' | 'resource' | ''; name: string };

export type Literal =
  | { type: 'string'; value: string }
  | { type: 'number'; value: number }
  | { type: 'duration'; us: number }
  | { type: 'bool'; value: boolean }
  | { type: 'nil' }
  | { type: 'status'; code: StatusCode }
  | { type: 'kind'; kind: SpanKind }
  /** `source` as written; `re` anchored at both ends (see docs/search.md). */
  | { type: 'regex'; source: string; re: RegExp };

export type FieldExpr =
  | { type: 'and' | 'or'; left: FieldExpr; right: FieldExpr }
  | { type: 'not'; expr: FieldExpr }
  | { type: 'compare'; field: Field; op: ComparisonOp | MatchOp; value: Literal }
  /** `{ true }` / `{ false }`. */
  | { type: 'const'; value: boolean };

export type SpansetExpr =
  /** `{ … }`; `expr` null for `{ }` (every span). */
  | { type: 'filter'; expr: FieldExpr | null }
  | { type: 'spansetOp'; op: SpansetOp; left: SpansetExpr; right: SpansetExpr };

export type PipelineStage =
  | { type: 'count'; op: ComparisonOp; value: number }
  | { type: 'select'; fields: Field[] };

export interface TraceQLQuery {
  spanset: SpansetExpr;
  stages: PipelineStage[];
}

/** How a field is written in TraceQL (for messages and the `select` output keys). */
export function fieldName(f: Field): string {
  if (f.kind === 'intrinsic') return f.name;
  return `${f.scope}.${f.name}`;
}
