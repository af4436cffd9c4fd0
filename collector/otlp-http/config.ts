import { z } from 'zod';
import { parseConfig } from '../config-error.js';

export interface OtlpHttpConfig {
  /** Interface to listen on ('0.0.0.0' = all IPv4, '::' = all). */
  host: string;
  /** TCP port; 0 = any free port (see the receiver's `address()`). */
  port: number;
  /**
   * Largest request body accepted, bytes, checked on the raw body and again while inflating a
   * gzip/deflate body (so a compression bomb stops at this size). Larger → 413.
   */
  maxRequestBodyBytes: number;
  /**
   * Origins browsers may POST spans from (CORS): exact origins such as `https://app.example.com`,
   * or `*` for any. Empty = no CORS headers (browsers cannot send; other clients are unaffected).
   */
  corsAllowedOrigins: string[];
}

export const defaultOtlpHttpConfig = (): OtlpHttpConfig => ({
  host: '0.0.0.0',
  port: 4318,
  maxRequestBodyBytes: 20 * 1024 * 1024,
  corsAllowedOrigins: [],
});

export const portSchema = z.number().int('must be an integer').min(0, 'must be 0-65535').max(65535, 'must be 0-65535');

/**
 * `*` or an origin (scheme://host[:port]). A trailing `/` is tolerated and dropped, and the
 * origin is normalized as browsers send it (lowercase host, default port omitted).
 */
export const corsOriginSchema = z.string().transform((o, ctx) => {
  if (o === '*') return o;
  try {
    const u = new URL(o);
    if ((u.protocol === 'http:' || u.protocol === 'https:') && u.pathname === '/' && !u.search && !u.hash && !u.username) return u.origin;
  } catch {
    // reported below
  }
  ctx.addIssue({
    code: 'custom',
    message: "must be '*' or an origin such as https://app.example.com (scheme, host and optional port; no path)",
  });
  return z.NEVER;
});

export const otlpHttpConfigSchema = z.object({
  host: z.string().min(1, 'must not be empty'),
  port: portSchema,
  maxRequestBodyBytes: z.number().int('must be an integer').min(1, 'must be greater than zero'),
  corsAllowedOrigins: z.array(corsOriginSchema),
});

/** Defaults overlaid with `given`, validated; throws `CollectorConfigError` naming every bad field. */
export function parseOtlpHttpConfig(given: Partial<OtlpHttpConfig> = {}): OtlpHttpConfig {
  return parseConfig(otlpHttpConfigSchema, defaultOtlpHttpConfig(), given);
}
