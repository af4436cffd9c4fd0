/**
 * `meshtrace auth token|user`: new entries for the `--auth-file`. A token is printed once (only
 * its SHA-256 goes into the file); a password is read from a file or stdin, never from a flag
 * (flags show in `ps`), and only its scrypt hash is printed.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { authFileSchema, ROLES } from '../security/auth-file.js';
import { hashPassword, newToken, sha256Hex } from '../security/credentials.js';

const MIN_PASSWORD_LENGTH = 8;

function fail(message: string, code = 2): never {
  process.stderr.write(`meshtrace auth: ${message}\n`);
  process.exit(code);
}

function rolesOf(raw: string): string[] {
  return raw.split(',').map((r) => r.trim()).filter(Boolean);
}

/** The entry validated exactly as the server will (a typo in a role is caught here, not at reload). */
function checked(kind: 'tokens' | 'users', entry: Record<string, unknown>): void {
  const r = authFileSchema.safeParse({ [kind]: [entry] });
  if (!r.success) fail(r.error.issues.map((i) => `--${String(i.path[2] ?? i.path[0])}: ${i.message}`).join('; '));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function registerAuth(program: Command): void {
  const auth = program
    .command('auth')
    .description('Make entries for the --auth-file of all-in-one, collector and query: tokens for what sends spans, users for people reading traces.');
  auth.addHelpText('after', `
Roles: ingest (send spans to the receivers), read (query API and UI), admin (everything).
The auth file: {"tokens": [<token entries>], "users": [<user entries>]}; the server reloads it when it changes.

Example:
  meshtrace auth token --name ci --roles ingest          # prints the token, then its entry
  printf '%s' "$PASSWORD" | meshtrace auth user --name alice --roles read
  # an SDK then sends: OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer <token>"`);

  auth
    .command('token')
    .description('Print a new random token (line 1; shown only now) and its entry for "tokens" in the auth file (line 2, JSON).')
    .requiredOption('--name <name>', 'what the token is for (shown in logs)')
    .option('--roles <roles>', `comma-separated roles: ${ROLES.join(', ')}`, 'ingest')
    .action((o: { name: string; roles: string }) => {
      const token = newToken();
      const entry = { name: o.name, sha256: sha256Hex(token), roles: rolesOf(o.roles) };
      checked('tokens', entry);
      process.stdout.write(`${token}\n${JSON.stringify(entry)}\n`);
      process.stderr.write('add the entry to "tokens" in the auth file; the token itself is not stored anywhere\n');
    });

  auth
    .command('user')
    .description('Read a password (from --password-file, else stdin; one trailing newline dropped) and print the user\'s entry for "users" in the auth file (JSON, scrypt hash).')
    .requiredOption('--name <name>', 'the user name people type into the browser\'s prompt')
    .option('--roles <roles>', `comma-separated roles: ${ROLES.join(', ')}`, 'read')
    .option('--password-file <file>', 'file holding the password (default: read stdin)')
    .action(async (o: { name: string; roles: string; passwordFile?: string }) => {
      let raw: string;
      try {
        raw = o.passwordFile ? readFileSync(o.passwordFile, 'utf8') : await readStdin();
      } catch (err) {
        fail(`--password-file: cannot read ${o.passwordFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      const password = raw.replace(/\r?\n$/, '');
      if (password.length < MIN_PASSWORD_LENGTH) fail(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
      const entry = { name: o.name, scrypt: await hashPassword(password), roles: rolesOf(o.roles) };
      checked('users', entry);
      process.stdout.write(`${JSON.stringify(entry)}\n`);
    });
}
