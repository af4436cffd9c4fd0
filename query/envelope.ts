/**
 * jaeger-query's `structuredResponse`: every key always present. One serializer for every
 * Jaeger-API route and for the error handler.
 */
import type { JaegerEnvelope, JaegerError } from './jaeger/model.js';

export function envelope<T>(data: T, opts: { total?: number; errors?: JaegerError[] | null } = {}): JaegerEnvelope<T> {
  return { data, total: opts.total ?? 0, limit: 0, offset: 0, errors: opts.errors && opts.errors.length > 0 ? opts.errors : null };
}

export function errorEnvelope(code: number, msg: string): JaegerEnvelope<null> {
  return { data: null, total: 0, limit: 0, offset: 0, errors: [{ code, msg }] };
}
