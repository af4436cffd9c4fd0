/**
 * Autocomplete for the TraceQL query field: what is being typed at the cursor (an attribute /
 * intrinsic name, or the value after `field =`), and how a chosen suggestion replaces it. Pure
 * functions; the suggestions themselves come from the server (`api/ext/search/tags`,
 * `api/ext/search/tag-values`).
 */

export type CompletionContext =
  /** Typing a field name: `prefix` is what is typed so far (`span.http.`, `.db`, `sta`). */
  | { kind: 'name'; prefix: string; from: number; to: number }
  /** Typing a value of `tag` (as written, `span.http.method`); `quoted` when a `"` was opened. */
  | { kind: 'value'; tag: string; prefix: string; quoted: boolean; from: number; to: number };

const NAME_CHAR = /[A-Za-z0-9_.:\-/]/;
const VALUE_AFTER_FIELD = /((?:span|resource)?\.[^\s{}()=!<>&|,~"`]+|[A-Za-z_][\w:]*)\s*(?:=|!=|=~|!~)\s*("?)([^"\s}]*)$/;

/** The completion context at `cursor`, or null (inside a number, after `}`, …). */
export function completionAt(text: string, cursor: number): CompletionContext | null {
  const before = text.slice(0, cursor);
  // Only inside an open `{ … }`.
  if (before.lastIndexOf('{') <= before.lastIndexOf('}')) return null;
  const v = VALUE_AFTER_FIELD.exec(before);
  if (v) {
    const quoted = v[2] === '"';
    return { kind: 'value', tag: v[1], prefix: v[3], quoted, from: cursor - v[3].length - (quoted ? 1 : 0), to: cursor };
  }
  let start = cursor;
  while (start > 0 && NAME_CHAR.test(text[start - 1])) start--;
  const prefix = text.slice(start, cursor);
  if (prefix === '' || /^[0-9]/.test(prefix)) return null;
  return { kind: 'name', prefix, from: start, to: cursor };
}

export interface TagNames {
  span: string[];
  resource: string[];
  intrinsic: string[];
}

/** Field names that complete `prefix`, as they would be written (`span.x`, `resource.x`, `.x`, `status`). */
export function nameSuggestions(names: TagNames, prefix: string, max = 50): string[] {
  const all = [
    ...names.intrinsic,
    ...names.span.map((n) => `span.${n}`),
    ...names.resource.map((n) => `resource.${n}`),
    ...[...new Set([...names.span, ...names.resource])].map((n) => `.${n}`),
  ];
  return all.filter((s) => s.startsWith(prefix) && s !== prefix).slice(0, max);
}

/** Keyword values (status, kind) are written bare; the rest as quoted strings. */
export function valueSuggestions(values: { type: string; value: string }[], ctx: Extract<CompletionContext, { kind: 'value' }>, max = 50): { label: string; insert: string }[] {
  return values
    .filter((v) => v.value.startsWith(ctx.prefix))
    .slice(0, max)
    .map((v) => ({ label: v.value, insert: v.type === 'keyword' ? v.value : JSON.stringify(v.value) }));
}

/** The text with the context's span replaced by `insert`, and the cursor after it. */
export function applyCompletion(text: string, ctx: CompletionContext, insert: string): { text: string; cursor: number } {
  // A quoted value the user already closed keeps a single closing quote.
  let to = ctx.to;
  if (ctx.kind === 'value' && insert.startsWith('"') && text[to] === '"') to++;
  const out = text.slice(0, ctx.from) + insert + text.slice(to);
  return { text: out, cursor: ctx.from + insert.length };
}
