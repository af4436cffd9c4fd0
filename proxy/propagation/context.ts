/**
 * The trace context a proxy reads from and writes into HTTP headers. Pure data, no I/O.
 *
 * - `traceId`: 32 lowercase hex chars (64-bit ids from B3/Jaeger are left-padded with zeros).
 * - `spanId`: 16 lowercase hex chars; the span the receiver should use as its parent.
 * - `sampled`: the caller's sampling decision; `debug` forces recording (B3 `d`/`X-B3-Flags: 1`,
 *   Jaeger flag bit 2, or meshtrace's `x-meshtrace-debug: 1`).
 * - `traceState`: the W3C tracestate header(s) as one list, already validated (at most 32
 *   members, repeated keys once; see parseTracestate).
 */
export interface SpanContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
  debug?: boolean;
  traceState?: string;
}

/** Header formats this proxy understands; names follow OTEL_PROPAGATORS. */
export const propagatorNames = ['tracecontext', 'baggage', 'b3', 'b3multi', 'jaeger'] as const;
export type PropagatorName = (typeof propagatorNames)[number];

/** A request's headers as Node gives them: lowercase names; repeated headers may be arrays. */
export type HeaderBag = Record<string, string | string[] | undefined>;

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

export const isValidTraceId = (id: string): boolean => /^[0-9a-f]{32}$/.test(id) && id !== ZERO_TRACE;
export const isValidSpanId = (id: string): boolean => /^[0-9a-f]{16}$/.test(id) && id !== ZERO_SPAN;

/** A single header value, or undefined when absent or repeated (a repeated trace header is ambiguous). */
export function single(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined || Array.isArray(v)) return undefined;
  return v;
}
