/**
 * One shape for every collector stage, as in the OpenTelemetry Collector:
 * receiver → (processors) → batch writer → storage. Each stage is handed its downstream
 * consumer at construction.
 */
import type { Span } from '../model/span.js';

export interface SpanConsumer {
  /**
   * Resolves once the spans are durable in storage (the receiver acknowledges only then).
   * Rejects with `QueueFullError` when the pipeline cannot take them now (→ 429/503 + Retry-After);
   * other rejections are internal errors (→ 500/503).
   */
  consume(spans: Span[]): Promise<void>;
}

export interface Component {
  start(): Promise<void>;
  /** Stops taking new work and waits for in-flight work to finish. */
  shutdown(): Promise<void>;
}

/** Refusing work under load is a value, not a crash: receivers map this to a retryable status. */
export class QueueFullError extends Error {
  constructor(
    message: string,
    /** Seconds the client should wait before retrying. */
    readonly retryAfterSeconds: number = 1,
  ) {
    super(message);
    this.name = 'QueueFullError';
  }
}
