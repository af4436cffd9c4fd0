/**
 * Typed errors the query API maps to HTTP in its one error handler (query/app.ts).
 */
export class BadRequestError extends Error {
  readonly statusCode = 400;
  constructor(message: string) {
    super(message);
    this.name = 'BadRequestError';
  }
}

export class NotFoundError extends Error {
  readonly statusCode = 404;
  constructor(message: string, readonly traceId?: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}
