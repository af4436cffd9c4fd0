/**
 * Recursive-descent parser for meshtrace's TraceQL subset (grammar in docs/search.md).
 *
 * Precedence, loosest first — spanset level: `||`, `&&`, then the structural `>` / `>>`
 * (left-associative: `{a} > {b} > {c}` is a chain down the tree); inside `{ }`: `||`, `&&`, `!`.
 * Types are checked here, not per span: `duration > 5` or `status = "error"` is an error pointing
 * at the value with what was expected, since Tempo would also reject them.
 */
import { spanKindFromName, StatusCode } from '../../model/span.js';
import type { ComparisonOp, Field, FieldExpr, Intrinsic, Literal, MatchOp, PipelineStage, SpansetExpr, TraceQLQuery } from './ast.js';
import { fieldName } from './ast.js';
import { positionAt, TraceQLError } from './errors.js';
import { type Token, type TokenKind, tokenize } from './lexer.js';
import { compileRe2Subset } from './regex.js';

/** Longest query accepted (also the bound on `q` in the HTTP APIs). */
export const MAX_QUERY_LENGTH = 10_000;

const INTRINSICS: Record<string, Intrinsic> = {
  name: 'name', 'span:name': 'name',
  status: 'status', 'span:status': 'status',
  kind: 'kind', 'span:kind': 'kind',
  duration: 'duration', 'span:duration': 'duration',
  rootServiceName: 'rootServiceName', 'trace:rootService': 'rootServiceName',
  rootName: 'rootName', 'trace:rootName': 'rootName',
  traceDuration: 'traceDuration', 'trace:duration': 'traceDuration',
};
const STATUS: Record<string, StatusCode> = { error: StatusCode.ERROR, ok: StatusCode.OK, unset: StatusCode.UNSET };
const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const COMPARISONS: TokenKind[] = ['=', '!=', '<', '<=', '>', '>=', '=~', '!~'];

export function parseTraceQL(text: string): TraceQLQuery {
  if (text.length > MAX_QUERY_LENGTH) throw new TraceQLError(`query longer than ${MAX_QUERY_LENGTH} characters`, positionAt(text, MAX_QUERY_LENGTH));
  return new Parser(text).parseQuery();
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of query';
  if (t.kind === 'string') return `string ${JSON.stringify(t.text)}`;
  if (t.kind === 'attr') return `attribute '${t.scope}.${t.text}'`;
  return `'${t.text}'`;
}

class Parser {
  private readonly tokens: Token[];
  private pos = 0;

  constructor(private readonly text: string) {
    this.tokens = tokenize(text);
  }

  private get peek(): Token {
    return this.tokens[this.pos];
  }

  private next(): Token {
    return this.tokens[this.pos++];
  }

  private accept(kind: TokenKind): Token | undefined {
    return this.peek.kind === kind ? this.next() : undefined;
  }

  private fail(at: Token, expected: string): never {
    throw new TraceQLError(`expected ${expected}, found ${describe(at)}`, positionAt(this.text, at.offset));
  }

  private failAt(at: Token, message: string): never {
    throw new TraceQLError(message, positionAt(this.text, at.offset));
  }

  private expect(kind: TokenKind, expected = `'${kind}'`): Token {
    return this.accept(kind) ?? this.fail(this.peek, expected);
  }

  parseQuery(): TraceQLQuery {
    if (this.peek.kind === 'eof') this.fail(this.peek, "a spanset such as '{ }'");
    const spanset = this.spansetOr();
    const stages: PipelineStage[] = [];
    while (this.accept('|')) stages.push(this.stage());
    if (!this.accept('eof')) this.fail(this.peek, "'&&', '||', '>', '>>', '|' or the end of the query");
    return { spanset, stages };
  }

  // ---- spanset level ----
  private spansetOr(): SpansetExpr {
    let left = this.spansetAnd();
    while (this.accept('||')) left = { type: 'spansetOp', op: '||', left, right: this.spansetAnd() };
    return left;
  }

  private spansetAnd(): SpansetExpr {
    let left = this.structural();
    while (this.accept('&&')) left = { type: 'spansetOp', op: '&&', left, right: this.structural() };
    return left;
  }

  private structural(): SpansetExpr {
    let left = this.spansetPrimary();
    for (;;) {
      const op = this.accept('>>') ?? this.accept('>');
      if (!op) return left;
      left = { type: 'spansetOp', op: op.kind as '>' | '>>', left, right: this.spansetPrimary() };
    }
  }

  private spansetPrimary(): SpansetExpr {
    if (this.accept('(')) {
      const inner = this.spansetOr();
      this.expect(')', "')' closing the spanset group");
      return inner;
    }
    this.expect('{', "'{' starting a spanset, or '('");
    if (this.accept('}')) return { type: 'filter', expr: null };
    const expr = this.fieldOr();
    this.expect('}', "'}' closing the spanset, or '&&' / '||'");
    return { type: 'filter', expr };
  }

  // ---- pipeline ----
  private stage(): PipelineStage {
    const t = this.peek;
    if (t.kind === 'ident' && t.text === 'count') {
      this.next();
      this.expect('(', "'(' after count");
      this.expect(')', "')': count() takes no argument");
      const opTok = this.peek;
      if (!['=', '!=', '<', '<=', '>', '>='].includes(opTok.kind)) this.fail(opTok, "a comparison (=, !=, <, <=, >, >=) after count()");
      this.next();
      const neg = this.accept('-') !== undefined;
      const num = this.peek;
      if (num.kind !== 'number' || !Number.isInteger(num.value)) this.fail(num, 'an integer after count() comparison');
      this.next();
      return { type: 'count', op: opTok.kind as ComparisonOp, value: neg ? -num.value! : num.value! };
    }
    if (t.kind === 'ident' && t.text === 'select') {
      this.next();
      this.expect('(', "'(' after select");
      const fields: Field[] = [this.field()];
      while (this.accept(',')) fields.push(this.field());
      this.expect(')', "',' or ')' closing select(…)");
      return { type: 'select', fields };
    }
    return this.fail(t, 'count() or select(…) after \'|\' (other pipeline stages are not supported)');
  }

  // ---- field expressions inside { } ----
  private fieldOr(): FieldExpr {
    let left = this.fieldAnd();
    while (this.accept('||')) left = { type: 'or', left, right: this.fieldAnd() };
    return left;
  }

  private fieldAnd(): FieldExpr {
    let left = this.fieldUnary();
    while (this.accept('&&')) left = { type: 'and', left, right: this.fieldUnary() };
    return left;
  }

  private fieldUnary(): FieldExpr {
    if (this.accept('!')) return { type: 'not', expr: this.fieldUnary() };
    if (this.accept('(')) {
      const inner = this.fieldOr();
      this.expect(')', "')' closing the group, or '&&' / '||'");
      return inner;
    }
    const t = this.peek;
    if (t.kind === 'ident' && (t.text === 'true' || t.text === 'false')) {
      this.next();
      return { type: 'const', value: t.text === 'true' };
    }
    const field = this.field();
    const opTok = this.peek;
    if (!COMPARISONS.includes(opTok.kind)) this.fail(opTok, `a comparison (=, !=, <, <=, >, >=, =~, !~) after ${fieldName(field)}`);
    this.next();
    const op = opTok.kind as ComparisonOp | MatchOp;
    return { type: 'compare', field, op, value: this.value(field, op) };
  }

  private field(): Field {
    const t = this.peek;
    if (t.kind === 'attr') {
      this.next();
      return { kind: 'attr', scope: t.scope!, name: t.text };
    }
    if (t.kind === 'ident' && INTRINSICS[t.text]) {
      this.next();
      return { kind: 'intrinsic', name: INTRINSICS[t.text] };
    }
    return this.fail(t, `an attribute (span.x, resource.x, .x) or an intrinsic (${Object.keys(INTRINSICS).filter((k) => !k.includes(':')).join(', ')})`);
  }

  /** The literal after `field op`, type-checked against both. */
  private value(field: Field, op: ComparisonOp | MatchOp): Literal {
    const t = this.peek;
    const expectedFor = (what: string): never => this.fail(t, `${what} after ${fieldName(field)} ${op}`);
    if (op === '=~' || op === '!~') {
      if (field.kind === 'intrinsic' && !['name', 'rootServiceName', 'rootName'].includes(field.name)) {
        this.failAt(t, `${op} needs a string field; ${field.name} is not one`);
      }
      if (t.kind !== 'string') expectedFor('a regular expression in quotes');
      this.next();
      const re = compileRe2Subset(t.text);
      if (typeof re === 'string') this.failAt(t, re);
      return { type: 'regex', source: t.text, re: re as RegExp };
    }
    const equality = op === '=' || op === '!=';
    if (field.kind === 'intrinsic') {
      switch (field.name) {
        case 'status': {
          if (!equality) this.failAt(t, 'status can only be compared with = or !=');
          if (t.kind !== 'ident' || STATUS[t.text] === undefined) expectedFor('error, ok or unset');
          this.next();
          return { type: 'status', code: STATUS[t.text] };
        }
        case 'kind': {
          if (!equality) this.failAt(t, 'kind can only be compared with = or !=');
          if (t.kind !== 'ident' || !KINDS.includes(t.text)) expectedFor(KINDS.join(', '));
          this.next();
          return { type: 'kind', kind: spanKindFromName(t.text)! };
        }
        case 'duration': case 'traceDuration': {
          if (t.kind !== 'duration') expectedFor('a duration such as 100ms or 1.5s');
          this.next();
          return { type: 'duration', us: t.value! };
        }
        default: {
          if (t.kind !== 'string') expectedFor('a string in quotes');
          this.next();
          return { type: 'string', value: t.text };
        }
      }
    }
    // Attributes: any typed literal; the comparison is false for a span whose value has another type.
    if (t.kind === 'string') { this.next(); return { type: 'string', value: t.text }; }
    if (t.kind === 'number' || t.kind === '-') {
      const neg = this.accept('-') !== undefined;
      const num = this.peek;
      if (num.kind !== 'number') this.fail(num, 'a number after \'-\'');
      this.next();
      return { type: 'number', value: neg ? -num.value! : num.value! };
    }
    if (t.kind === 'duration') { this.next(); return { type: 'duration', us: t.value! }; }
    if (t.kind === 'ident' && (t.text === 'true' || t.text === 'false')) {
      if (!equality) this.failAt(t, 'true/false can only be compared with = or !=');
      this.next();
      return { type: 'bool', value: t.text === 'true' };
    }
    if (t.kind === 'ident' && t.text === 'nil') {
      if (!equality) this.failAt(t, 'nil can only be compared with = or != (attribute absent / present)');
      this.next();
      return { type: 'nil' };
    }
    return expectedFor('a value (a string in quotes, a number, a duration, true, false or nil)');
  }
}
