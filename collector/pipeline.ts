/**
 * One shape for every collector stage, as in the OpenTelemetry Collector:
 * receiver → (processors) → batch writer → storage. Each stage is handed its downstream
 * consumer at construction.
 */
import type { Span } from '../model/span.js';
import { InvalidRequestError } from './otlp/errors.js';
import type { SpanLimitCounts } from './span-limits.js';

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

/** The request body formats receivers hand on undecoded. */
export type PayloadFormat = 'otlp-protobuf' | 'otlp-json' | 'zipkin-json';

/** What a receiver reports back to its client once a payload's valid spans are durable. */
export interface PayloadResult {
  acceptedSpans: number;
  /** Spans dropped as invalid or over the spans-per-trace limit (OTLP `partialSuccess.rejectedSpans`); 0 on full success. */
  rejectedSpans: number;
  /** Why spans were dropped, and warnings (names cleaned, span limits applied); '' when there is nothing to say. */
  errorMessage: string;
  /** Service/operation names cleaned to the limits of collector/name-limits.ts. */
  cleanedNames?: number;
  /** What the span limits cut in this request (collector/span-limits.ts); absent when nothing. */
  limited?: SpanLimitCounts;
}

/**
 * The stage behind the receivers: decodes a request body and stores its valid spans. Receivers
 * only frame HTTP/gRPC, so decoding and writing can run off their thread (see
 * all-in-one/ingest-thread.ts) while the query API keeps the main event loop.
 */
export interface PayloadConsumer {
  /**
   * Resolves once the valid spans are durable. Rejects with `InvalidRequestError` when the body
   * cannot be decoded at all (→ 400), `QueueFullError` when the pipeline cannot take it now
   * (→ 429/503 + Retry-After); any other rejection is a storage failure (→ 503).
   * `tenant`: the tenant the receiver checked (tenancy on); a stage of one store ignores it, the
   * collector's per-tenant stage routes by it (collector/index.ts).
   */
  consumePayload(format: PayloadFormat, body: Uint8Array, tenant?: string): Promise<PayloadResult>;
}

/**
 * Why `consumePayload` failed, as every receiver answers it (and as the ingest worker thread
 * sends it back across the thread boundary): `invalid` → 400 / INVALID_ARGUMENT; `queue-full` →
 * 503 / UNAVAILABLE with its Retry-After; `storage` → 503 / UNAVAILABLE, Retry-After
 * `STORAGE_RETRY_AFTER_SECONDS`, logged (the client sees `STORAGE_UNAVAILABLE`, not internals).
 */
export type PayloadFailure =
  | { kind: 'invalid'; message: string }
  | { kind: 'queue-full'; message: string; retryAfterSeconds: number }
  /** `reported`: the stage that writes already logs it (`StorageRefusedError`); receivers do not. */
  | { kind: 'storage'; message: string; reported?: boolean };

/**
 * Storage refuses writes (disk full, I/O error, read-only file) and the stage that writes reports
 * it: one log line per interval with a count, and `/ready` names it. Receivers answer 503 without
 * logging each request again (a full disk once logged a stack trace per refused request).
 */
export class StorageRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorageRefusedError';
  }
}

export const STORAGE_RETRY_AFTER_SECONDS = 5;
export const STORAGE_UNAVAILABLE = 'storage unavailable; spans were not stored, retry later';

export function payloadFailureOf(err: unknown): PayloadFailure {
  if (err instanceof InvalidRequestError) return { kind: 'invalid', message: err.message };
  if (err instanceof QueueFullError) return { kind: 'queue-full', message: err.message, retryAfterSeconds: err.retryAfterSeconds };
  if (err instanceof StorageRefusedError) return { kind: 'storage', message: err.message, reported: true };
  return { kind: 'storage', message: err instanceof Error ? err.message : String(err) };
}

/** An HTTP receiver's answer to a failed `consumePayload`, per `PayloadFailure`'s rules. */
export interface PayloadHttpAnswer { status: 400 | 503; retryAfterSeconds?: number; message: string }

/**
 * The status, Retry-After and client message for a failed `consumePayload` (the OTLP/HTTP and
 * Zipkin receivers; each encodes the message its own way). A storage failure is logged here,
 * with its cause, since the client only sees `STORAGE_UNAVAILABLE`.
 */
export function payloadHttpAnswer(err: unknown, logger: { error(obj: object, msg: string): void }): PayloadHttpAnswer {
  const f = payloadFailureOf(err);
  if (f.kind === 'invalid') return { status: 400, message: f.message };
  if (f.kind === 'queue-full') return { status: 503, retryAfterSeconds: f.retryAfterSeconds, message: f.message };
  if (!f.reported) logger.error({ err }, 'writing spans failed');
  return { status: 503, retryAfterSeconds: STORAGE_RETRY_AFTER_SECONDS, message: STORAGE_UNAVAILABLE };
}
