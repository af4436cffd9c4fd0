/**
 * TraceQL lexer: text → tokens with offsets. Attribute names are lexed whole (`span.http.route`,
 * `.db.system`, `resource."k8s pod"`) because TraceQL attribute names contain dots and dashes
 * that would otherwise be operators; durations (`150ms`, `1.5s`) are one token so the parser can
 * type-check `duration > 1.5s` against `duration > 1.5`.
 */
import { positionAt, TraceQLError } from './errors.js';

export type TokenKind =
  | 'ident' | 'attr' | 'string' | 'number' | 'duration'
  | '{' | '}' | '(' | ')' | ',' | '|' | '-'
  | '&&' | '||' | '!' | '=' | '!=' | '=~' | '!~' | '<' | '<=' | '>' | '>=' | '>>'
  | 'eof';

export interface Token {
  kind: TokenKind;
  /** Source text of the token (for strings: the decoded value; for attrs: scope + name, see below). */
  text: string;
  offset: number;
  /** attr: 'span' | 'resource' | '' (unscoped `.x`). */
  scope?: 'span' | 'resource' | '';
  /** number: the value; duration: µs. */
  value?: number;
}

/** Characters that end an unquoted attribute name (whitespace too). */
const ATTR_END = new Set([...'{}()=!<>&|,~"`']);
const DURATION_UNITS_US: Record<string, number> = { ns: 0.001, us: 1, 'µs': 1, ms: 1_000, s: 1_000_000, m: 60_000_000, h: 3_600_000_000 };
const OPERATORS = ['&&', '||', '!=', '=~', '!~', '<=', '>=', '>>', '{', '}', '(', ')', ',', '|', '-', '!', '=', '<', '>'] as const;

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  const fail = (offset: number, msg: string): never => {
    throw new TraceQLError(msg, positionAt(text, offset));
  };
  let i = 0;
  const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  const isIdentStart = (c: string) => /[A-Za-z_]/.test(c);
  const isIdent = (c: string) => /[A-Za-z0-9_]/.test(c);

  /** A quoted string starting at `i` (`"` with escapes, or a raw backquoted string). */
  const readString = (): string => {
    const quote = text[i];
    const start = i;
    i++;
    let value = '';
    while (i < text.length && text[i] !== quote) {
      if (quote === '"' && text[i] === '\\') {
        const e = text[i + 1];
        const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
        if (e === undefined || map[e] === undefined) fail(i, `invalid escape in string: expected one of \\" \\\\ \\n \\t \\r`);
        value += map[e];
        i += 2;
      } else {
        value += text[i++];
      }
    }
    if (i >= text.length) fail(start, `unterminated string: expected a closing ${quote}`);
    i++;
    return value;
  };

  /** An attribute name after its scope prefix; `i` is just past the dot. */
  const readAttrName = (start: number): string => {
    if (text[i] === '"') return readString();
    const from = i;
    while (i < text.length && !isSpace(text[i]) && !ATTR_END.has(text[i])) i++;
    if (i === from) fail(start, 'expected an attribute name after the dot');
    return text.slice(from, i);
  };

  while (i < text.length) {
    const c = text[i];
    if (isSpace(c)) { i++; continue; }
    const start = i;
    if (c === '"' || c === '`') {
      out.push({ kind: 'string', text: readString(), offset: start });
      continue;
    }
    if (c === '.' && i + 1 < text.length && !isSpace(text[i + 1])) {
      i++;
      out.push({ kind: 'attr', text: readAttrName(start), scope: '', offset: start });
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(ns|us|µs|ms|s|m|h)?(?![A-Za-z0-9_])/.exec(text.slice(i));
      if (!m) fail(start, 'malformed number: expected digits, an optional fraction and an optional duration unit (ns, us, ms, s, m, h)');
      i += m![0].length;
      const n = Number(m![1]);
      if (m![2]) out.push({ kind: 'duration', text: m![0], value: Math.round(n * DURATION_UNITS_US[m![2]]), offset: start });
      else out.push({ kind: 'number', text: m![0], value: n, offset: start });
      continue;
    }
    if (isIdentStart(c)) {
      while (i < text.length && isIdent(text[i])) i++;
      let word = text.slice(start, i);
      if ((word === 'span' || word === 'resource') && text[i] === '.') {
        i++;
        out.push({ kind: 'attr', text: readAttrName(start), scope: word, offset: start });
        continue;
      }
      // Scoped intrinsics: span:name, trace:duration, …
      if ((word === 'span' || word === 'trace') && text[i] === ':' && isIdentStart(text[i + 1] ?? '')) {
        i++;
        while (i < text.length && isIdent(text[i])) i++;
        word = text.slice(start, i);
      }
      out.push({ kind: 'ident', text: word, offset: start });
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (!op) fail(start, `unexpected character '${c}'`);
    i += op!.length;
    out.push({ kind: op!, text: op!, offset: start });
  }
  out.push({ kind: 'eof', text: '', offset: text.length });
  return out;
}
