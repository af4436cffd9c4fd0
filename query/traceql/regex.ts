/**
 * TraceQL regexes (`=~`, `!~`) are Go RE2 syntax; this server runs them with JavaScript's
 * RegExp. The two agree on the common subset (classes, alternation, quantifiers, anchors,
 * (?i)/(?s) flags at the start, (?P<name>…) groups), so a pattern is accepted only inside it:
 * RE2 features JS lacks and JS features RE2 lacks (lookaround, backreferences) are a
 * TraceQLError, never a silently different match. Matching is anchored at both ends, like
 * Prometheus and Tempo (`.*` is needed for "contains").
 *
 * JS regexes backtrack (RE2 is linear), so a nested quantifier such as `(a+)+` could take
 * exponential time on a long attribute value; such patterns are refused and pattern length is
 * bounded.
 */
export const MAX_REGEX_LENGTH = 1_000;

/** The compiled regex, or why it is outside the supported subset. */
export function compileRe2Subset(source: string): RegExp | string {
  if (source.length > MAX_REGEX_LENGTH) return `regular expression longer than ${MAX_REGEX_LENGTH} characters`;
  let flags = '';
  let body = source;
  const lead = /^\(\?([is]+)\)/.exec(body);
  if (lead) {
    flags = [...new Set(lead[1])].join('');
    body = body.slice(lead[0].length);
  }
  if (/\(\?<?[=!]/.test(body)) return 'lookahead and lookbehind are not RE2 syntax';
  if (/\\[1-9]|\\k</.test(body)) return 'backreferences are not RE2 syntax';
  if (/\(\?[a-zA-Z-]+[:)]/.test(body)) return 'inline flags are supported only at the start of the pattern: (?i), (?s)';
  if (/\\[pP]\{/.test(body)) return 'Unicode classes (\\p{…}) are not supported here';
  // RE2 escapes JavaScript reads as plain letters (\z would match "z"), and POSIX classes it reads as sets.
  if (/\\[AzCQE]/.test(body)) return 'the RE2 escapes \\A, \\z, \\C and \\Q…\\E are not supported here: use ^ and $';
  if (/\[\[:/.test(body)) return 'POSIX classes such as [[:alpha:]] are not supported here: use [a-zA-Z]';
  body = body.replace(/\(\?P</g, '(?<');
  if (hasNestedQuantifier(body)) return 'nested quantifiers such as (a+)+ are refused: JavaScript regexes backtrack and could take exponential time';
  try {
    return new RegExp(`^(?:${body})$`, flags);
  } catch (e) {
    return `invalid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`;
  }
}

/** Whether a quantified group contains a quantifier (ignores escapes and character classes). */
function hasNestedQuantifier(src: string): boolean {
  const stack: boolean[] = []; // per open group: contains a quantifier
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') { i++; continue; }
    if (inClass) { if (c === ']') inClass = false; continue; }
    if (c === '[') { inClass = true; continue; }
    if (c === '(') { stack.push(false); continue; }
    const quantifier = c === '*' || c === '+' || (c === '{' && /^\{\d+(,\d*)?\}/.test(src.slice(i)));
    if (c === ')') {
      const inner = stack.pop() ?? false;
      const next = src[i + 1];
      const quantified = next === '*' || next === '+' || (next === '{' && /^\{\d+(,\d*)?\}/.test(src.slice(i + 1)));
      if (inner && quantified) return true;
      if (inner && stack.length > 0) stack[stack.length - 1] = true;
      continue;
    }
    if (quantifier && stack.length > 0) stack[stack.length - 1] = true;
  }
  return false;
}
