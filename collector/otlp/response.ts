/**
 * OTLP/HTTP response bodies in the request's encoding: `ExportTraceServiceResponse` on success
 * (partial success only when spans were rejected) and `google.rpc.Status` on errors.
 */
import { otlpTypes } from './schema.js';

export type OtlpEncoding = 'protobuf' | 'json';

export const otlpContentType: Record<OtlpEncoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/** google.rpc.Code values used by the receivers. */
export const RpcCode = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

const EMPTY = Buffer.alloc(0);
const EMPTY_JSON = Buffer.from('{}');

/**
 * The export response: empty on full success; `partialSuccess` when spans were rejected, or — as
 * OTLP allows, with `rejectedSpans` 0 — to carry a warning for an accepted request.
 */
export function encodeExportResponse(enc: OtlpEncoding, rejectedSpans: number, errorMessage: string): Buffer {
  if (rejectedSpans === 0 && errorMessage === '') return enc === 'protobuf' ? EMPTY : EMPTY_JSON;
  if (enc === 'json') {
    // proto3 JSON: int64 as a decimal string.
    return Buffer.from(JSON.stringify({ partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } }));
  }
  const T = otlpTypes.ExportTraceServiceResponse;
  const bytes = T.encode(T.fromObject({ partialSuccess: { rejectedSpans, errorMessage } })).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeRpcStatus(enc: OtlpEncoding, code: number, message: string): Buffer {
  if (enc === 'json') return Buffer.from(JSON.stringify({ code, message }));
  const T = otlpTypes.RpcStatus;
  const bytes = T.encode(T.fromObject({ code, message })).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
