/**
 * A TraceQL syntax or type error with where it happened. Extends the query API's 400 so the one
 * error handler (query/app.ts) answers it without knowing TraceQL; the message starts with
 * `line:column` so a user can find the spot in a multi-line query.
 */
import { BadRequestError } from '../errors.js';

export interface SourcePosition {
  /** 0-based offset into the query text. */
  offset: number;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units (what an editor's column counter shows for BMP text). */
  column: number;
}

export class TraceQLError extends BadRequestError {
  constructor(readonly detail: string, readonly position: SourcePosition) {
    super(`invalid TraceQL query: ${position.line}:${position.column}: ${detail}`);
    this.name = 'TraceQLError';
  }
}

/** The line and column of `offset` in `text`. */
export function positionAt(text: string, offset: number): SourcePosition {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset, line, column: offset - lineStart + 1 };
}
