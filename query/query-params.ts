/**
 * Helpers to read fastify's parsed query string (repeated keys arrive as arrays) with errors that
 * name the parameter, worded like jaeger-query's.
 */
import { BadRequestError } from './errors.js';

export type QueryString = Record<string, string | string[] | undefined>;

export function all(q: QueryString, name: string): string[] {
  const v = q[name];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** The last value of a parameter ('' counts as absent, as in Go's url.Values.Get on empty). */
export function one(q: QueryString, name: string): string | undefined {
  const values = all(q, name);
  const v = values[values.length - 1];
  return v === undefined || v === '' ? undefined : v;
}

export function integer(q: QueryString, name: string): number | undefined {
  const raw = one(q, name);
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw.trim())) throw new BadRequestError(`unable to parse param '${name}': strconv.ParseInt: parsing "${raw}": invalid syntax`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new BadRequestError(`unable to parse param '${name}': value out of range`);
  return n;
}

export function bool(q: QueryString, name: string): boolean {
  const raw = one(q, name);
  if (raw === undefined) return false;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new BadRequestError(`unable to parse param '${name}': expecting true or false`);
}
