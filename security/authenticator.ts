/**
 * Checks an `Authorization` header against the auth file for one listener and one role. Every
 * listener (OTLP/HTTP, OTLP/gRPC, Zipkin, query API + UI) asks the same object, so the rules are the
 * same everywhere:
 * - `Bearer <token>`: the token's SHA-256 is compared with every token entry's in constant time
 *   (timingSafeEqual over 32-byte digests, no early exit), so timing says nothing about the digests;
 * - `Basic base64(user:password)`: scrypt, whose positive results are cached by (user, SHA-256 of
 *   the password) so a browser's per-request Basic header costs one hash, not one scrypt; an
 *   unknown user costs a scrypt too, so timing does not reveal which users exist;
 * - no header or a wrong credential → 401; a known identity without the role → 403; `admin`
 *   implies every role.
 * Failures are counted (`meshtrace_auth_failures_total{listener, reason}`) and slow the client
 * address down (FailureThrottle). The file can be swapped at any time (`setFile`): a check already
 * running finishes against the file it started with.
 */
import { timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, type Registry } from 'prom-client';
import type { AuthFile, Role } from './auth-file.js';
import { sha256, sha256Hex, verifyPassword } from './credentials.js';
import { FailureThrottle } from './throttle.js';

export type AuthListener = 'otlp-http' | 'otlp-grpc' | 'zipkin' | 'query';

export type AuthFailureReason = 'missing' | 'malformed' | 'unknown-token' | 'unknown-user' | 'bad-password' | 'forbidden';

export type AuthDecision =
  | { ok: true; identity: string }
  | { ok: false; status: 401 | 403; reason: AuthFailureReason; message: string };

/**
 * The challenges of a 401, one header line each: Basic first, so a browser asks for a user and
 * password. (Chromium does not answer `Basic realm="meshtrace", Bearer` on one line: it takes the
 * trailing `Bearer` for a malformed Basic parameter and shows no prompt.)
 */
export const WWW_AUTHENTICATE = ['Basic realm="meshtrace"', 'Bearer realm="meshtrace"'];

/** Most cached password checks (each ~100 bytes). */
const PASSWORD_CACHE_SIZE = 1_000;
/** A salt and hash that match no password, checked for unknown users so they cost the same. */
const DUMMY_SCRYPT = `${'00'.repeat(16)}:${'00'.repeat(32)}`;

export class Authenticator {
  private file!: AuthFile;
  private tokenDigests: { name: string; digest: Buffer; roles: readonly Role[] }[] = [];
  /** `user\0sha256(password)` → true, for passwords scrypt accepted under the current file. */
  private readonly passwordCache = new Map<string, true>();
  private readonly failures: Counter<'listener' | 'reason'>;
  readonly throttle: FailureThrottle;

  constructor(file: AuthFile, o: { registry?: Registry; throttle?: FailureThrottle } = {}) {
    this.setFile(file);
    this.throttle = o.throttle ?? new FailureThrottle();
    this.failures = new Counter({
      name: 'meshtrace_auth_failures_total',
      help: 'Requests refused for a missing, malformed or wrong credential or a missing role, by listener and reason',
      labelNames: ['listener', 'reason'] as const,
      registers: o.registry ? [o.registry] : [],
    });
  }

  /** Replaces the identities; cached password checks are dropped (a removed user must not stay in). */
  setFile(file: AuthFile): void {
    this.file = file;
    this.tokenDigests = file.tokens.map((t) => ({ name: t.name, digest: Buffer.from(t.sha256, 'hex'), roles: t.roles }));
    this.passwordCache.clear();
  }

  async check(authorization: string | undefined, role: Role, ctx: { listener: AuthListener; address: string }): Promise<AuthDecision> {
    const fail = (status: 401 | 403, reason: AuthFailureReason, message: string): AuthDecision => {
      this.failures.inc({ listener: ctx.listener, reason });
      return { ok: false, status, reason, message };
    };
    if (!authorization) return fail(401, 'missing', 'authentication required: send Authorization: Bearer <token> or Basic credentials');
    const delay = this.throttle.delayMs(ctx.address);
    if (delay > 0) await sleep(delay);

    const who = await this.identify(authorization);
    if (!who.ok) {
      this.throttle.fail(ctx.address);
      return fail(401, who.reason, who.message);
    }
    this.throttle.succeed(ctx.address);
    if (!who.roles.includes(role) && !who.roles.includes('admin')) {
      return fail(403, 'forbidden', `'${who.identity}' lacks the '${role}' role`);
    }
    return { ok: true, identity: who.identity };
  }

  private async identify(authorization: string): Promise<
    { ok: true; identity: string; roles: readonly Role[] } | { ok: false; reason: AuthFailureReason; message: string }
  > {
    const space = authorization.indexOf(' ');
    const scheme = (space === -1 ? authorization : authorization.slice(0, space)).toLowerCase();
    const value = space === -1 ? '' : authorization.slice(space + 1).trim();
    if (scheme === 'bearer' && value) {
      const digest = sha256(value);
      let found: (typeof this.tokenDigests)[number] | undefined;
      // Every entry is compared, match or not.
      for (const t of this.tokenDigests) if (timingSafeEqual(digest, t.digest) && !found) found = t;
      return found ? { ok: true, identity: `token:${found.name}`, roles: found.roles } : { ok: false, reason: 'unknown-token', message: 'unknown token' };
    }
    if (scheme === 'basic' && value) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon === -1) return { ok: false, reason: 'malformed', message: "malformed Basic credentials (expected base64 of 'user:password')" };
      const name = decoded.slice(0, colon);
      const password = decoded.slice(colon + 1);
      const file = this.file;
      const user = file.users.find((u) => u.name === name);
      const key = `${name}\0${sha256Hex(password)}`;
      if (user && this.passwordCache.has(key)) return { ok: true, identity: `user:${name}`, roles: user.roles };
      const good = await verifyPassword(password, user?.scrypt ?? DUMMY_SCRYPT);
      if (!user) return { ok: false, reason: 'unknown-user', message: 'wrong user or password' };
      if (!good) return { ok: false, reason: 'bad-password', message: 'wrong user or password' };
      // Cached only if the file did not change while scrypt ran.
      if (this.file === file) {
        if (this.passwordCache.size >= PASSWORD_CACHE_SIZE) this.passwordCache.delete(this.passwordCache.keys().next().value as string);
        this.passwordCache.set(key, true);
      }
      return { ok: true, identity: `user:${name}`, roles: user.roles };
    }
    return { ok: false, reason: 'malformed', message: 'unsupported Authorization scheme (use Bearer or Basic)' };
  }
}
