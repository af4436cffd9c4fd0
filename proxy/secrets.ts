import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * How the sidecar's secrets stay out of sight: constant-time comparison, the loopback test that
 * decides whether the admin needs a token, and `redactSecrets` for what `/config` shows. Token
 * files are read by proxy/secret-file.ts.
 */

/** Compares two secrets in time that depends on neither's content (both are hashed to 32 bytes first, so their lengths do not leak either). */
export function secretEquals(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = header ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
  return m ? m[1] : undefined;
}

/** Whether a listen address is reachable from this machine only: 127.0.0.0/8, ::1 (also as IPv4-mapped 127.x), `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) !== 6) return false;
  const canonical = new URL(`http://[${h}]/`).hostname.slice(1, -1); // `0:0::1` → `::1`, `::ffff:127.0.0.1` → `::ffff:7f00:1`
  return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:/.test(canonical);
}

export const REDACTED = '[redacted]';

/** Keys whose value is a secret itself (not a path to one: `adminTokenFile` is shown, its content never is). */
const SECRET_KEY = /(token|password|passwd|secret|credentials?|api[-_]?key|private[-_]?key|cookie|authorization)$/i;
/** Request headers that carry credentials: a route matching on one must not show the value it matches. */
const SECRET_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token|x-amz-security-token)$/i;

/**
 * A deep copy of `value` with every secret replaced by "[redacted]": values of keys named like a
 * secret (`token`, `password`, `apiKey`, …), the password in a URL's user info and URL query
 * parameters named like a secret, and every string under a header match (`headers.<name>`) for a
 * header that carries credentials (`authorization`, `cookie`, …). File paths stay visible; the
 * sidecar never puts the content of a key or token file into its configuration.
 */
export function redactSecrets<T>(value: T): T {
  return walk(value, false) as T;
}

function walk(v: unknown, secret: boolean): unknown {
  if (typeof v === 'string') return secret ? REDACTED : redactUrl(v);
  if (Array.isArray(v)) return v.map((x) => walk(x, secret));
  if (typeof v !== 'object' || v === null) return v; // numbers, booleans (`present: true`) say nothing secret
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === 'headers' && typeof x === 'object' && x !== null && !Array.isArray(x)) {
      out[k] = Object.fromEntries(Object.entries(x).map(([h, m]) => [h, walk(m, secret || SECRET_HEADER.test(h) || SECRET_KEY.test(h))]));
    } else out[k] = walk(x, secret || SECRET_KEY.test(k));
  }
  return out;
}

/** `https://user:pw@host/?token=x` → `https://user:[redacted]@host/?token=[redacted]`; other strings unchanged. */
function redactUrl(s: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return s;
  return s
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#@]*@/i, `$1${REDACTED}@`)
    .replace(/([?&])([^=&#]+)=([^&#]*)/g, (all, sep: string, k: string) => (SECRET_KEY.test(k) ? `${sep}${k}=${REDACTED}` : all));
}
