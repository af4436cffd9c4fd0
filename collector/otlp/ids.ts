/**
 * Trace/span ids: binary in OTLP protobuf, hex in OTLP JSON (case-insensitive), lowercase hex in
 * the span model. Lengths are checked by the span validator, not here.
 */

const HEX_RE = /^[0-9a-fA-F]*$/;

/** Lowercase hex of protobuf `bytes` ('' for empty). */
export function bytesToHex(b: Uint8Array): string {
  if (b.length === 0) return '';
  // protobufjs hands out Buffer slices in Node; anything else is wrapped without copying.
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return buf.toString('hex');
}

/**
 * Lowercase form of a JSON hex id; undefined/null/'' → ''. Returns undefined when the value is
 * not a string of hex digits (the caller names the field in its error).
 */
export function jsonHexId(v: unknown): string | undefined {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string' || !HEX_RE.test(v)) return undefined;
  return v.toLowerCase();
}

export const ZERO_TRACE_ID = '00000000000000000000000000000000';
export const ZERO_SPAN_ID = '0000000000000000';
