import { describe, expect, it } from 'vitest';
import { AuthFileError, parseAuthFile } from './auth-file.js';

const HEX64 = 'ab'.repeat(32);

describe('parseAuthFile', () => {
  it('accepts the documented shape; missing lists are empty', () => {
    const f = parseAuthFile(JSON.stringify({
      tokens: [{ name: 'ci', sha256: HEX64.toUpperCase(), roles: ['ingest'] }],
      users: [{ name: 'alice', scrypt: `${'00'.repeat(16)}:${'11'.repeat(32)}`, roles: ['read', 'admin'] }],
    }));
    expect(f.tokens[0]).toEqual({ name: 'ci', sha256: HEX64, roles: ['ingest'] });
    expect(f.users[0].roles).toEqual(['read', 'admin']);
    expect(parseAuthFile('{}')).toEqual({ tokens: [], users: [] });
  });

  it('names every bad field by its JSON path', () => {
    const bad = {
      tokens: [{ name: 'ci', sha256: 'not-hex', roles: ['ingest', 'write'] }],
      users: [{ name: 'a:b', scrypt: 'plaintext', roles: [] }, { name: 'x', scrypt: `${'00'.repeat(16)}:${'11'.repeat(32)}`, roles: ['read'], password: 'p' }],
    };
    let err: AuthFileError | undefined;
    try {
      parseAuthFile(JSON.stringify(bad), 'auth.json');
    } catch (e) {
      err = e as AuthFileError;
    }
    expect(err).toBeInstanceOf(AuthFileError);
    const text = err!.problems.join('\n');
    expect(text).toContain('tokens[0].sha256: must be the 64 hex characters');
    expect(text).toContain('tokens[0].roles[1]: must be one of ingest, read, admin');
    expect(text).toContain("users[0].name: must not contain ':'");
    expect(text).toContain("users[0].scrypt: must be '<salt hex>:<hash hex>'");
    expect(text).toContain('users[0].roles: must name at least one role');
    expect(text).toMatch(/users\[1\].*password/); // unknown keys are refused, not ignored (a plaintext password must not be "accepted")
    expect(err!.message).toContain('auth.json');
  });

  it('refuses what is not JSON and duplicate users', () => {
    expect(() => parseAuthFile('{tokens: []}')).toThrow(/not valid JSON/);
    const u = { name: 'bob', scrypt: `${'00'.repeat(16)}:${'11'.repeat(32)}`, roles: ['read'] };
    expect(() => parseAuthFile(JSON.stringify({ users: [u, u] }))).toThrow(/users\[1\]\.name: duplicate user 'bob'/);
  });
});
