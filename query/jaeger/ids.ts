/**
 * Trace-id spelling at the API boundary. Jaeger writes a trace id as 16 hex chars when its high
 * 64 bits are zero (ids minted by 64-bit Zipkin/Jaeger clients) and 32 otherwise; it accepts either
 * form, any case, left-padded with zeros.
 */
const HEX = /^[0-9a-f]+$/;

/** The canonical 32-char lowercase form, or undefined when the input is not a 1–32 char hex id or is all zeros. */
export function normalizeTraceId(input: string): string | undefined {
  const id = input.trim().toLowerCase();
  if (id.length === 0 || id.length > 32 || !HEX.test(id)) return undefined;
  const padded = id.padStart(32, '0');
  if (/^0+$/.test(padded)) return undefined;
  return padded;
}

/** Jaeger's output spelling: 16 chars when the high half is zero. */
export function jaegerTraceId(traceId: string): string {
  return traceId.startsWith('0000000000000000') ? traceId.slice(16) : traceId;
}
