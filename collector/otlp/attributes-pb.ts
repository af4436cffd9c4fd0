/**
 * protobuf AnyValue/KeyValue (as decoded by protobufjs) → typed span-model attributes.
 * Hot path: no JSON except for array/kvlist values, whose model form is a JSON string.
 */
import type { Attribute } from '../../model/span.js';
import {
  jsonDouble,
  MAX_ANY_VALUE_DEPTH,
  type OtlpJsonAnyValue,
  type OtlpJsonKeyValue,
} from './any-value-json.js';
import { InvalidSpanError } from './errors.js';
import type { PbAnyValue, PbKeyValue, PbLong } from './schema.js';

/** An int64 as the model keeps it: a number within ±(2^53−1), else its decimal string. */
export function pbInt64(v: PbLong | number): number | string {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : String(BigInt(v));
  // |high| < 2^21 bounds the value to ±2^53, where the double arithmetic below is exact.
  if (v.high >= -0x200000 && v.high < 0x200000) {
    const n = v.high * 4294967296 + (v.low >>> 0);
    if (Number.isSafeInteger(n)) return n;
  }
  return v.toString();
}

function toBase64(b: Uint8Array): string {
  if (b.length === 0) return '';
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return buf.toString('base64');
}

export function pbAttributes(kvs: readonly PbKeyValue[], field: string): Attribute[] {
  const n = kvs.length;
  const out: Attribute[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const kv = kvs[i];
    out[i] = pbAttribute(kv.key, kv.value, field);
  }
  return out;
}

/** An unset AnyValue (OTLP's "null") becomes an empty string, as Jaeger's translator does. */
export function pbAttribute(key: string, av: PbAnyValue | null | undefined, field: string): Attribute {
  if (av == null) return { key, type: 'string', value: '' };
  switch (av.value) {
    case 'stringValue':
      return { key, type: 'string', value: av.stringValue as string };
    case 'boolValue':
      return { key, type: 'bool', value: av.boolValue as boolean };
    case 'intValue':
      return { key, type: 'int64', value: pbInt64(av.intValue as PbLong | number) };
    case 'doubleValue':
      return { key, type: 'float64', value: av.doubleValue as number };
    case 'bytesValue':
      return { key, type: 'binary', value: toBase64(av.bytesValue as Uint8Array) };
    case 'arrayValue':
      return { key, type: 'array', value: JSON.stringify({ values: pbArrayToJson(av.arrayValue?.values, field, 1) }) };
    case 'kvlistValue':
      return { key, type: 'kvlist', value: JSON.stringify({ values: pbKvlistToJson(av.kvlistValue?.values, field, 1) }) };
    default:
      return { key, type: 'string', value: '' };
  }
}

function pbArrayToJson(values: readonly PbAnyValue[] | undefined, field: string, depth: number): OtlpJsonAnyValue[] {
  if (!values) return [];
  return values.map((v) => pbAnyValueToJson(v, field, depth));
}

function pbKvlistToJson(values: readonly PbKeyValue[] | undefined, field: string, depth: number): OtlpJsonKeyValue[] {
  if (!values) return [];
  return values.map((kv) => ({ key: kv.key, value: pbAnyValueToJson(kv.value, field, depth) }));
}

export function pbAnyValueToJson(av: PbAnyValue | null | undefined, field: string, depth: number): OtlpJsonAnyValue {
  if (depth > MAX_ANY_VALUE_DEPTH) throw new InvalidSpanError(`${field}: values nested deeper than ${MAX_ANY_VALUE_DEPTH}`);
  if (av == null) return {};
  switch (av.value) {
    case 'stringValue':
      return { stringValue: av.stringValue as string };
    case 'boolValue':
      return { boolValue: av.boolValue as boolean };
    case 'intValue':
      return { intValue: String(pbInt64(av.intValue as PbLong | number)) };
    case 'doubleValue':
      return { doubleValue: jsonDouble(av.doubleValue as number) };
    case 'bytesValue':
      return { bytesValue: toBase64(av.bytesValue as Uint8Array) };
    case 'arrayValue':
      return { arrayValue: { values: pbArrayToJson(av.arrayValue?.values, field, depth + 1) } };
    case 'kvlistValue':
      return { kvlistValue: { values: pbKvlistToJson(av.kvlistValue?.values, field, depth + 1) } };
    default:
      return {};
  }
}
