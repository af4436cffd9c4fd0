/**
 * The `--auth-file` document: who may send spans and read traces.
 *
 * ```json
 * { "tokens": [{ "name": "ci", "sha256": "<hex of the token>", "roles": ["ingest"] }],
 *   "users":  [{ "name": "alice", "scrypt": "<salt hex>:<hash hex>", "roles": ["read"] }] }
 * ```
 * Only digests are stored, so the file itself grants nothing to whoever reads it (`meshtrace auth
 * token|user` prints new entries). Validated whole: every problem is named by its JSON path.
 */
import { z } from 'zod';

/** `ingest`: the receivers; `read`: the query API and UI; `admin`: everything. */
export const ROLES = ['ingest', 'read', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const name = z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const roles = z.array(z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` })).min(1, 'must name at least one role');

export const authFileSchema = z.strictObject({
  tokens: z.array(z.strictObject({
    name,
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be the 64 hex characters of the token\'s SHA-256').transform((h) => h.toLowerCase()),
    roles,
  })).default([]),
  users: z.array(z.strictObject({
    name: name.refine((n) => !n.includes(':'), "must not contain ':' (Basic auth separates user and password with it)"),
    scrypt: z.string().regex(/^[0-9a-fA-F]{16,}:[0-9a-fA-F]{32,}$/, "must be '<salt hex>:<hash hex>' as printed by meshtrace auth user"),
    roles,
  })).default([]),
}).superRefine((f, ctx) => {
  const seen = new Set<string>();
  f.users.forEach((u, i) => {
    if (seen.has(u.name)) ctx.addIssue({ code: 'custom', path: ['users', i, 'name'], message: `duplicate user '${u.name}'` });
    seen.add(u.name);
  });
});

export type AuthFile = z.output<typeof authFileSchema>;

export class AuthFileError extends Error {
  constructor(readonly path: string, readonly problems: string[]) {
    super(`invalid auth file ${path}: ${problems.join('; ')}`);
    this.name = 'AuthFileError';
  }
}

/** Parses and validates the file's text; throws AuthFileError naming every bad field (`users[0].roles[1]: …`). */
export function parseAuthFile(text: string, path = '(auth file)'): AuthFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new AuthFileError(path, [`not valid JSON: ${(err as Error).message}`]);
  }
  const r = authFileSchema.safeParse(json);
  if (r.success) return r.data;
  throw new AuthFileError(path, r.error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`));
}

function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(document)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}
