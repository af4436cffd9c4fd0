/**
 * The canonical OTLP JSON encoding of an AnyValue, used for `array`/`kvlist` attributes, which the
 * span model keeps as the JSON string of `{"values":[…]}` so nested values survive a round trip
 * to OTLP JSON. int64 values are decimal strings and bytes base64 (proto3 JSON mapping); a
 * non-finite double is "NaN"/"Infinity"/"-Infinity".
 */
export type OtlpJsonAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number | string }
  | { bytesValue: string }
  | { arrayValue: { values: OtlpJsonAnyValue[] } }
  | { kvlistValue: { values: OtlpJsonKeyValue[] } }
  | Record<string, never>;

export interface OtlpJsonKeyValue {
  key: string;
  value: OtlpJsonAnyValue;
}

export function jsonDouble(d: number): number | string {
  if (Number.isFinite(d)) return d;
  return Number.isNaN(d) ? 'NaN' : d > 0 ? 'Infinity' : '-Infinity';
}

/** Nesting deeper than this is refused: it only serves to blow the stack. */
export const MAX_ANY_VALUE_DEPTH = 32;
