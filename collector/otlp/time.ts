/**
 * OTLP timestamps are unsigned 64-bit nanoseconds since the epoch; the span model keeps integer
 * microseconds (truncated). Today's times (~1.7e18 ns) exceed 2^53, so the conversion must not go
 * through a plain double of the nanoseconds.
 */
import type { PbLong } from './schema.js';

/** 2^32 = 4294967 * 1000 + 296: lets ns/1000 be computed from the two 32-bit halves exactly. */
const HI_US = 4294967;
const HI_REM_NS = 296;

/**
 * µs (truncated) of a protobufjs fixed64 nanosecond value. The result is exact while it is a safe
 * integer (until the year 2255); callers reject anything larger.
 */
export function pbNanosToMicros(v: PbLong | number): number {
  if (typeof v === 'number') return Math.floor(v / 1000);
  const hi = v.high >>> 0;
  const lo = v.low >>> 0;
  return hi * HI_US + Math.floor((hi * HI_REM_NS + lo) / 1000);
}

const DIGITS_RE = /^[0-9]+$/;

/**
 * µs (truncated) of an OTLP JSON nanosecond value: a decimal string (canonical) or a number.
 * undefined/null → 0 (the proto3 default). Returns NaN when the value is neither (the caller names
 * the field).
 */
export function jsonNanosToMicros(v: unknown): number {
  if (typeof v === 'string') {
    if (!DIGITS_RE.test(v)) return NaN;
    // Dropping the last three digits is the truncating division, exact for any length.
    return v.length <= 3 ? 0 : Number(v.slice(0, -3));
  }
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? Math.floor(v / 1000) : NaN;
  if (v === undefined || v === null) return 0;
  return NaN;
}
