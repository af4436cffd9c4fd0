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

/** A feature this server is not configured for (jaeger-query answers 501 for a disabled metrics store). */
export class NotImplementedError extends Error {
  readonly statusCode = 501;
  /** The message is meant for the client, unlike other 5xx errors'. */
  readonly expose = true;
  constructor(message: string) {
    super(message);
    this.name = 'NotImplementedError';
  }
}
