/**
 * The in-thread payload consumer: decodes a receiver's request body (OTLP protobuf, OTLP JSON or
 * Zipkin v2 JSON) and hands the valid spans to the next stage (the batch writer). The same class
 * runs inside the ingest worker thread of the all-in-one server.
 */
import { decodeOtlpJson } from './otlp/decode-json.js';
import { decodeOtlpProtobuf } from './otlp/decode-protobuf.js';
import type { DecodeResult } from './otlp/decode-result.js';
import type { PayloadConsumer, PayloadFormat, PayloadResult, SpanConsumer } from './pipeline.js';
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

export class DecodeStage implements PayloadConsumer {
  constructor(private readonly next: SpanConsumer) {}

  async consumePayload(format: PayloadFormat, body: Uint8Array): Promise<PayloadResult> {
    const decoded = decodePayload(format, body);
    if (decoded.spans.length > 0) await this.next.consume(decoded.spans);
    return { acceptedSpans: decoded.spans.length, rejectedSpans: decoded.rejectedSpans, errorMessage: decoded.errorMessage };
  }
}
