/**
 * The in-thread payload consumer: decodes a receiver's request body (OTLP protobuf, OTLP JSON or
 * Zipkin v2 JSON) and hands the valid spans to the next stage (the batch writer). The same class
 * runs inside the ingest worker thread of the all-in-one server.
 */
import type { Span } from '../model/span.js';
import { applyNameLimits, NAME_LIMITS } from './name-limits.js';
import { decodeOtlpJson } from './otlp/decode-json.js';
import { decodeOtlpProtobuf } from './otlp/decode-protobuf.js';
import type { DecodeResult } from './otlp/decode-result.js';
import type { PayloadConsumer, PayloadFormat, PayloadResult, SpanConsumer } from './pipeline.js';
import { addSpanLimitCounts, anySpanLimitCount, defaultSpanLimits, SpanLimiter, spanLimitsWarning, zeroSpanLimitCounts, type SpanLimits } from './span-limits.js';
import { decodeZipkinJson } from './zipkin/decode.js';

/** Throws `InvalidRequestError` when the whole body is malformed. */
export function decodePayload(format: PayloadFormat, body: Uint8Array): DecodeResult {
  switch (format) {
    case 'otlp-protobuf':
      return decodeOtlpProtobuf(body);
    case 'otlp-json':
      return decodeOtlpJson(body);
    case 'zipkin-json':
      return decodeZipkinJson(body);
  }
}

/**
 * A request body decoded for storage: the valid spans with their names cleaned and the span
 * limits applied, and what the receiver answers once they are durable. Throws
 * `InvalidRequestError` when the whole body is malformed. The limiter counts spans per trace:
 * call `limiter.forget(spans)` when the spans could not be stored after all.
 */
export function decodeRequest(format: PayloadFormat, body: Uint8Array, limiter: SpanLimiter): { spans: Span[]; result: PayloadResult } {
  const decoded = decodePayload(format, body);
  const cleaned = applyNameLimits(decoded.spans);
  const { spans, counts } = limiter.apply(decoded.spans);
  // OTLP lets a fully accepted request carry a warning in partial_success.error_message.
  const warning = cleaned > 0 ? cleanedNamesWarning(cleaned) : '';
  const limitWarning = spanLimitsWarning(counts, limiter.limits);
  const errorMessage = [decoded.errorMessage, warning, limitWarning].filter(Boolean).join('; ');
  return {
    spans,
    result: {
      acceptedSpans: spans.length,
      rejectedSpans: decoded.rejectedSpans + counts.droppedSpans,
      errorMessage,
      cleanedNames: cleaned,
      ...(anySpanLimitCount(counts) ? { limited: counts } : {}),
    },
  };
}

export class DecodeStage implements PayloadConsumer {
  /** Service and operation names cleaned by `applyNameLimits` since start. */
  cleanedNames = 0;
  /** What the span limits cut since start (spans whose storage failed included). */
  readonly limited = zeroSpanLimitCounts();
  private readonly limiter: SpanLimiter;

  constructor(private readonly next: SpanConsumer, limits: SpanLimits = defaultSpanLimits()) {
    this.limiter = new SpanLimiter(limits);
  }

  async consumePayload(format: PayloadFormat, body: Uint8Array): Promise<PayloadResult> {
    const { spans, result } = decodeRequest(format, body, this.limiter);
    this.cleanedNames += result.cleanedNames ?? 0;
    if (result.limited) addSpanLimitCounts(this.limited, result.limited);
    if (spans.length > 0) {
      try {
        await this.next.consume(spans);
      } catch (err) {
        this.limiter.forget(spans);
        throw err;
      }
    }
    return result;
  }
}

export function cleanedNamesWarning(count: number): string {
  return `${count} service/span name(s) were stored cleaned: control characters replaced, ` +
    `cut to ${NAME_LIMITS.serviceName} (service) / ${NAME_LIMITS.operationName} (span) characters`;
}
