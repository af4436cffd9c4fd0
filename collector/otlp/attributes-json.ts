/**
 * OTLP JSON AnyValue/KeyValue → typed span-model attributes. Accepts lowerCamelCase keys and
 * their snake_case proto names; int64 as a decimal string or a number; bytes as base64 (only
 * trace/span ids are hex in OTLP JSON). Wrong types throw `InvalidSpanError` naming the field.
 */
import type { Attribute } from '../../model/span.js';
import {
  jsonDouble,
  MAX_ANY_VALUE_DEPTH,
  type OtlpJsonAnyValue,
  type OtlpJsonKeyValue,
} from './any-value-json.js';
import { InvalidSpanError } from './errors.js';

type Obj = Record<string, unknown>;

/** `o[camel]`, else `o[snake]`; proto3 JSON treats null as "unset". */
export function pick(o: Obj, camel: string, snake: string): unknown {
  const v = o[camel];
  return v !== undefined && v !== null ? v : o[snake];
}

const INT_RE = /^-?[0-9]+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** An int64 as the model keeps it (number within ±(2^53−1), else decimal string); undefined if invalid. */
export function jsonInt64(v: unknown): number | string | undefined {
  let big: bigint;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return undefined;
    if (Number.isSafeInteger(v)) return v;
    big = BigInt(v);
  } else if (typeof v === 'string' && INT_RE.test(v)) {
    const n = Number(v);
    if (Number.isSafeInteger(n)) return n;
    big = BigInt(v);
  } else {
    return undefined;
  }
  return big >= INT64_MIN && big <= INT64_MAX ? big.toString() : undefined;
}

/** A double from a JSON number or the proto3 JSON strings ("NaN", "1.5", "-Infinity"). */
function jsonDoubleIn(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    const n = Number(v);
    return v.trim() !== '' && !Number.isNaN(n) ? n : undefined;
  }
  return undefined;
}

const B64_RE = /^[A-Za-z0-9+/\-_]*=*$/;

/** Standard base64 of a JSON bytes value (base64 or base64url accepted); undefined if invalid. */
function jsonBytes(v: unknown): string | undefined {
  if (typeof v !== 'string' || !B64_RE.test(v)) return undefined;
  return Buffer.from(v, 'base64').toString('base64');
}

function bad(field: string, what: string): InvalidSpanError {
  return new InvalidSpanError(`${field}: ${what}`);
}

/** `attributes` (absent → []). `field` is the path used in error messages. */
export function jsonAttributes(v: unknown, field: string): Attribute[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(field, 'must be an array');
  const n = v.length;
  const out: Attribute[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const kv = v[i];
    if (typeof kv !== 'object' || kv === null) throw bad(`${field}[${i}]`, 'must be an object');
    const key = (kv as Obj).key ?? '';
    if (typeof key !== 'string') throw bad(`${field}[${i}].key`, 'must be a string');
    out[i] = jsonAttribute(key, (kv as Obj).value, field, i);
  }
  return out;
}

function jsonAttribute(key: string, av: unknown, field: string, i: number): Attribute {
  if (av === undefined || av === null) return { key, type: 'string', value: '' };
  if (typeof av !== 'object' || Array.isArray(av)) throw bad(`${field}[${i}].value`, 'must be an AnyValue object');
  const o = av as Obj;
  let x = pick(o, 'stringValue', 'string_value');
  if (x !== undefined && x !== null) {
    if (typeof x !== 'string') throw bad(`${field}[${i}].value.stringValue`, 'must be a string');
    return { key, type: 'string', value: x };
  }
  x = pick(o, 'intValue', 'int_value');
  if (x !== undefined && x !== null) {
    const n = jsonInt64(x);
    if (n === undefined) throw bad(`${field}[${i}].value.intValue`, 'must be an int64 (decimal string or integer)');
    return { key, type: 'int64', value: n };
  }
  x = pick(o, 'boolValue', 'bool_value');
  if (x !== undefined && x !== null) {
    if (typeof x !== 'boolean') throw bad(`${field}[${i}].value.boolValue`, 'must be a boolean');
    return { key, type: 'bool', value: x };
  }
  x = pick(o, 'doubleValue', 'double_value');
  if (x !== undefined && x !== null) {
    const d = jsonDoubleIn(x);
    if (d === undefined) throw bad(`${field}[${i}].value.doubleValue`, 'must be a number');
    return { key, type: 'float64', value: d };
  }
  x = pick(o, 'bytesValue', 'bytes_value');
  if (x !== undefined && x !== null) {
    const b = jsonBytes(x);
    if (b === undefined) throw bad(`${field}[${i}].value.bytesValue`, 'must be a base64 string');
    return { key, type: 'binary', value: b };
  }
  x = pick(o, 'arrayValue', 'array_value');
  if (x !== undefined && x !== null) {
    const path = `${field}[${i}].value.arrayValue`;
    return { key, type: 'array', value: JSON.stringify({ values: jsonArrayValues(x, path, 1) }) };
  }
  x = pick(o, 'kvlistValue', 'kvlist_value');
  if (x !== undefined && x !== null) {
    const path = `${field}[${i}].value.kvlistValue`;
    return { key, type: 'kvlist', value: JSON.stringify({ values: jsonKvlistValues(x, path, 1) }) };
  }
  return { key, type: 'string', value: '' };
}

function jsonArrayValues(x: unknown, path: string, depth: number): OtlpJsonAnyValue[] {
  if (typeof x !== 'object' || x === null) throw bad(path, 'must be an object {values: [...]}');
  const values = (x as Obj).values;
  if (values === undefined || values === null) return [];
  if (!Array.isArray(values)) throw bad(`${path}.values`, 'must be an array');
  return values.map((v, i) => jsonAnyValueCanonical(v, `${path}.values[${i}]`, depth));
}

function jsonKvlistValues(x: unknown, path: string, depth: number): OtlpJsonKeyValue[] {
  if (typeof x !== 'object' || x === null) throw bad(path, 'must be an object {values: [...]}');
  const values = (x as Obj).values;
  if (values === undefined || values === null) return [];
  if (!Array.isArray(values)) throw bad(`${path}.values`, 'must be an array');
  return values.map((kv, i) => {
    if (typeof kv !== 'object' || kv === null) throw bad(`${path}.values[${i}]`, 'must be an object');
    const key = (kv as Obj).key ?? '';
    if (typeof key !== 'string') throw bad(`${path}.values[${i}].key`, 'must be a string');
    return { key, value: jsonAnyValueCanonical((kv as Obj).value, `${path}.values[${i}].value`, depth) };
  });
}

/** Re-encodes a nested JSON AnyValue canonically (camelCase, int64 as string, standard base64). */
function jsonAnyValueCanonical(av: unknown, path: string, depth: number): OtlpJsonAnyValue {
  if (depth > MAX_ANY_VALUE_DEPTH) throw bad(path, `values nested deeper than ${MAX_ANY_VALUE_DEPTH}`);
  if (av === undefined || av === null) return {};
  if (typeof av !== 'object' || Array.isArray(av)) throw bad(path, 'must be an AnyValue object');
  const o = av as Obj;
  let x = pick(o, 'stringValue', 'string_value');
  if (x !== undefined && x !== null) {
    if (typeof x !== 'string') throw bad(`${path}.stringValue`, 'must be a string');
    return { stringValue: x };
  }
  x = pick(o, 'intValue', 'int_value');
  if (x !== undefined && x !== null) {
    const n = jsonInt64(x);
    if (n === undefined) throw bad(`${path}.intValue`, 'must be an int64 (decimal string or integer)');
    return { intValue: String(n) };
  }
  x = pick(o, 'boolValue', 'bool_value');
  if (x !== undefined && x !== null) {
    if (typeof x !== 'boolean') throw bad(`${path}.boolValue`, 'must be a boolean');
    return { boolValue: x };
  }
  x = pick(o, 'doubleValue', 'double_value');
  if (x !== undefined && x !== null) {
    const d = jsonDoubleIn(x);
    if (d === undefined) throw bad(`${path}.doubleValue`, 'must be a number');
    return { doubleValue: jsonDouble(d) };
  }
  x = pick(o, 'bytesValue', 'bytes_value');
  if (x !== undefined && x !== null) {
    const b = jsonBytes(x);
    if (b === undefined) throw bad(`${path}.bytesValue`, 'must be a base64 string');
    return { bytesValue: b };
  }
  x = pick(o, 'arrayValue', 'array_value');
  if (x !== undefined && x !== null) {
    return { arrayValue: { values: jsonArrayValues(x, `${path}.arrayValue`, depth + 1) } };
  }
  x = pick(o, 'kvlistValue', 'kvlist_value');
  if (x !== undefined && x !== null) {
    return { kvlistValue: { values: jsonKvlistValues(x, `${path}.kvlistValue`, depth + 1) } };
  }
  return {};
}
