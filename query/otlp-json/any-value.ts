/**
 * OTLP JSON AnyValue helpers. Composite attribute values (arrays, kvlists) are stored in the span
 * model as their OTLP JSON encoding; these turn them back into OTLP JSON objects (api_v3) or plain
 * JSON (Jaeger tags, where OTel's translator renders `["a","b"]` / `{"k":"v"}`).
 */
import type { Attribute } from '../../model/span.js';

export type OtlpAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { bytesValue: string }
  | { arrayValue: { values: OtlpAnyValue[] } }
  | { kvlistValue: { values: OtlpKeyValue[] } };

export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** OTLP JSON AnyValue (or `{values}` of an array/kvlist) → plain JSON value. */
export function anyValueJsonToPlain(v: unknown): Json {
  if (v === null || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  if ('stringValue' in o) return String(o.stringValue);
  if ('boolValue' in o) return Boolean(o.boolValue);
  if ('intValue' in o) {
    const n = Number(o.intValue);
    return Number.isSafeInteger(n) ? n : String(o.intValue);
  }
  if ('doubleValue' in o) return Number(o.doubleValue);
  if ('bytesValue' in o) return String(o.bytesValue);
  if ('arrayValue' in o) return anyValueJsonToPlain(o.arrayValue);
  if ('kvlistValue' in o) return kvlistToPlain(o.kvlistValue);
  if (Array.isArray(o.values)) {
    // Either an ArrayValue ({values: AnyValue[]}) or a KeyValueList ({values: KeyValue[]}).
    const values = o.values as unknown[];
    const isKvList = values.length > 0 && values.every((x) => typeof x === 'object' && x !== null && 'key' in x);
    return isKvList ? kvlistToPlain(o) : values.map(anyValueJsonToPlain);
  }
  return null;
}

function kvlistToPlain(list: unknown): Json {
  const out: { [key: string]: Json } = {};
  const values = (list as { values?: unknown[] })?.values ?? [];
  for (const kv of values as { key?: unknown; value?: unknown }[]) {
    if (typeof kv?.key === 'string') out[kv.key] = anyValueJsonToPlain(kv.value);
  }
  return out;
}

/** Typed model attribute → OTLP JSON KeyValue. */
export function attributeToOtlp(a: Attribute): OtlpKeyValue {
  switch (a.type) {
    case 'string': return { key: a.key, value: { stringValue: a.value } };
    case 'bool': return { key: a.key, value: { boolValue: a.value } };
    case 'int64': return { key: a.key, value: { intValue: String(a.value) } };
    case 'float64': return { key: a.key, value: { doubleValue: a.value } };
    case 'binary': return { key: a.key, value: { bytesValue: a.value } };
    case 'array': return { key: a.key, value: { arrayValue: parseComposite(a.value) as { values: OtlpAnyValue[] } } };
    case 'kvlist': return { key: a.key, value: { kvlistValue: parseComposite(a.value) as { values: OtlpKeyValue[] } } };
  }
}

function parseComposite(stored: string): { values: unknown[] } {
  try {
    const parsed = JSON.parse(stored) as { values?: unknown[] };
    return { values: Array.isArray(parsed?.values) ? parsed.values : [] };
  } catch {
    return { values: [] };
  }
}
