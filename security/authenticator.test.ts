import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseAuthFile } from './auth-file.js';
import { Authenticator } from './authenticator.js';
import { hashPassword, newToken, sha256Hex, verifyPassword } from './credentials.js';
import { FailureThrottle } from './throttle.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ctx = { listener: 'query' as const, address: '127.0.0.1' };

async function setup() {
  const ingest = newToken();
  const admin = newToken();
  const file = parseAuthFile(JSON.stringify({
    tokens: [{ name: 'ci', sha256: sha256Hex(ingest), roles: ['ingest'] }, { name: 'ops', sha256: sha256Hex(admin), roles: ['admin'] }],
    users: [{ name: 'alice', scrypt: await hashPassword('correct horse'), roles: ['read'] }],
  }));
  const registry = new Registry();
  const auth = new Authenticator(file, { registry, throttle: new FailureThrottle({ freeFailures: 1000 }) });
  return { ingest, admin, auth, registry, file };
}

async function failures(registry: Registry): Promise<Record<string, number>> {
  const m = await registry.getSingleMetricAsString('meshtrace_auth_failures_total');
  const out: Record<string, number> = {};
  for (const line of m.split('\n')) {
    const r = /reason="([^"]+)"\} (\d+)/.exec(line);
    if (r) out[r[1]] = (out[r[1]] ?? 0) + Number(r[2]);
  }
  return out;
}

describe('credentials', () => {
  it('verifies a scrypt hash and refuses another password', async () => {
    const h = await hashPassword('pw-12345678');
    expect(h).toMatch(/^[0-9a-f]{32}:[0-9a-f]{64}$/);
    expect(await verifyPassword('pw-12345678', h)).toBe(true);
    expect(await verifyPassword('pw-12345679', h)).toBe(false);
    expect(await hashPassword('pw-12345678')).not.toBe(h); // salted
  });
});

describe('Authenticator', () => {
  it('accepts a Bearer token with the role, refuses others, and admin implies every role', async () => {
    const { ingest, admin, auth, registry } = await setup();
    expect(await auth.check(`Bearer ${ingest}`, 'ingest', ctx)).toEqual({ ok: true, identity: 'token:ci' });
    expect(await auth.check(`bearer ${ingest}`, 'ingest', ctx)).toMatchObject({ ok: true });
    expect(await auth.check(`Bearer ${ingest}`, 'read', ctx)).toMatchObject({ ok: false, status: 403, reason: 'forbidden' });
    expect(await auth.check(`Bearer ${admin}`, 'read', ctx)).toMatchObject({ ok: true, identity: 'token:ops' });
    expect(await auth.check(`Bearer ${admin}`, 'ingest', ctx)).toMatchObject({ ok: true });
    expect(await auth.check(`Bearer ${ingest}x`, 'ingest', ctx)).toMatchObject({ ok: false, status: 401, reason: 'unknown-token' });
    expect(await auth.check(undefined, 'ingest', ctx)).toMatchObject({ ok: false, status: 401, reason: 'missing' });
    expect(await auth.check('Digest abc', 'ingest', ctx)).toMatchObject({ ok: false, status: 401, reason: 'malformed' });
    expect(await failures(registry)).toEqual({ forbidden: 1, 'unknown-token': 1, missing: 1, malformed: 1 });
  });

  it('accepts Basic credentials, refuses a wrong password or user, and answers a repeated good password from the cache', async () => {
    const { auth, registry } = await setup();
    expect(await auth.check(basic('alice', 'correct horse'), 'read', ctx)).toEqual({ ok: true, identity: 'user:alice' });
    // The second check is answered from the cache: far below one scrypt.
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) expect((await auth.check(basic('alice', 'correct horse'), 'read', ctx)).ok).toBe(true);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(await auth.check(basic('alice', 'wrong horse'), 'read', ctx)).toMatchObject({ ok: false, status: 401, reason: 'bad-password' });
    expect(await auth.check(basic('mallory', 'correct horse'), 'read', ctx)).toMatchObject({ ok: false, status: 401, reason: 'unknown-user' });
    expect(await auth.check(basic('alice', 'correct horse'), 'ingest', ctx)).toMatchObject({ ok: false, status: 403 });
    expect(await auth.check(`Basic ${Buffer.from('no-colon').toString('base64')}`, 'read', ctx)).toMatchObject({ reason: 'malformed' });
    expect(await failures(registry)).toMatchObject({ 'bad-password': 1, 'unknown-user': 1, forbidden: 1, malformed: 1 });
  });

  it('a new file takes effect at once and drops cached passwords', async () => {
    const { auth, ingest, file } = await setup();
    expect((await auth.check(basic('alice', 'correct horse'), 'read', ctx)).ok).toBe(true);
    auth.setFile({ tokens: [], users: [{ ...file.users[0], scrypt: await hashPassword('new password') }] });
    expect(await auth.check(basic('alice', 'correct horse'), 'read', ctx)).toMatchObject({ ok: false, reason: 'bad-password' });
    expect((await auth.check(basic('alice', 'new password'), 'read', ctx)).ok).toBe(true);
    expect(await auth.check(`Bearer ${ingest}`, 'ingest', ctx)).toMatchObject({ ok: false, reason: 'unknown-token' });
  });

  it('slows an address that keeps failing, not the others', async () => {
    const { ingest, file } = await setup();
    const auth = new Authenticator(file, { throttle: new FailureThrottle({ freeFailures: 2, baseDelayMs: 150 }) });
    const from = (address: string) => ({ listener: 'otlp-http' as const, address });
    for (let i = 0; i < 3; i++) await auth.check('Bearer nope', 'ingest', from('10.1.1.1'));
    let t0 = performance.now();
    await auth.check('Bearer nope', 'ingest', from('10.1.1.1'));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    t0 = performance.now();
    expect((await auth.check(`Bearer ${ingest}`, 'ingest', from('10.2.2.2'))).ok).toBe(true);
    expect(performance.now() - t0).toBeLessThan(100);
  });
});
