/** Typed errors; the app's one error handler maps each to its status (control-plane/app.ts). */
export class InvalidRequestError extends Error {
  readonly statusCode = 400;
  constructor(message: string, readonly problems: string[] = []) { super(message); this.name = 'InvalidRequestError'; }
}
export class UnauthorizedError extends Error {
  readonly statusCode = 401;
  constructor(message = 'missing or wrong mesh token (authorization: Bearer <token>)') { super(message); this.name = 'UnauthorizedError'; }
}
export class NotFoundError extends Error {
  readonly statusCode = 404;
  constructor(message: string) { super(message); this.name = 'NotFoundError'; }
}

/** zod issues → `path: message` lines, the form every problem list uses. */
export function issueLines(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string[] {
  return issues.map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`);
}
