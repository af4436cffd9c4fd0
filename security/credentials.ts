/**
 * How secrets become what the auth file stores: a token as the SHA-256 of its text (a token is
 * 256 random bits, so a fast hash is enough), a password as scrypt with a random salt (passwords
 * are guessable, so the hash must be slow). node:crypto only.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt cost: N = 2^14, r = 8, p = 1 (node's defaults, ~16 MiB and tens of ms per hash). */
const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const HASH_BYTES = 32;

/** A new token: `mt_` + 32 random bytes, base64url (no characters a shell or header would mangle). */
export function newToken(): string {
  return `mt_${randomBytes(32).toString('base64url')}`;
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export function sha256Hex(text: string): string {
  return sha256(text).toString('hex');
}

function scryptAsync(password: string, salt: Buffer, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, bytes, SCRYPT, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `<salt hex>:<hash hex>` for the auth file's `scrypt` field. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  return `${salt.toString('hex')}:${(await scryptAsync(password, salt, HASH_BYTES)).toString('hex')}`;
}

/** Whether `password` matches a `<salt>:<hash>` entry; the comparison is constant-time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [saltHex, hashHex] = stored.split(':');
  const expected = Buffer.from(hashHex, 'hex');
  const actual = await scryptAsync(password, Buffer.from(saltHex, 'hex'), expected.length);
  return timingSafeEqual(actual, expected);
}
