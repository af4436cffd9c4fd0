/**
 * `meshtrace cert` as a user runs it (`node bin/meshtrace.js cert …`), and the mTLS configuration
 * rules that need no running sidecar.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseProxyConfig } from '../config.js';
import { startSidecar } from '../sidecar.js';
import { verifyCert } from './openssl.js';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'meshtrace.js');
const meshtrace = (args: string[], env: NodeJS.ProcessEnv = {}) => run(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });

describe('meshtrace cert', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'meshtrace-cert-cli-')); });
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('--help describes both subcommands', async () => {
    const { stdout } = await meshtrace(['cert', '--help']);
    expect(stdout).toContain('Usage: meshtrace cert');
    expect(stdout).toMatch(/\bca \[options\]/);
    expect(stdout).toMatch(/\bissue \[options\]/);
    const issue = await meshtrace(['cert', 'issue', '--help']);
    expect(issue.stdout).toContain('--service-account <sa>');
  }, 30_000);

  it('creates a CA and a workload certificate that openssl verifies, with the SPIFFE id as URI SAN and a private key file', async () => {
    await meshtrace(['cert', 'ca', '--dir', join(dir, 'ca')]);
    const { stdout } = await meshtrace(['cert', 'issue', '--dir', join(dir, 'w'), '--ca-dir', join(dir, 'ca'), '--service-account', 'reviews', '--namespace', 'bookinfo', '--trust-domain', 'example.org']);
    expect(stdout).toContain('spiffe://example.org/ns/bookinfo/sa/reviews');
    const certFile = join(dir, 'w', 'reviews.pem');
    expect(await verifyCert(join(dir, 'ca', 'ca.pem'), certFile)).toBe(`${certFile}: OK`);
    const cert = new X509Certificate(readFileSync(certFile));
    expect(cert.subjectAltName).toBe('URI:spiffe://example.org/ns/bookinfo/sa/reviews');
    expect(cert.ca).toBe(false);
    expect(statSync(join(dir, 'w', 'reviews-key.pem')).mode & 0o077).toBe(0);
    // A certificate from another CA does not verify against this one (the check can fail).
    await meshtrace(['cert', 'ca', '--dir', join(dir, 'other')]);
    await meshtrace(['cert', 'issue', '--dir', join(dir, 'other'), '--service-account', 'x']);
    await expect(verifyCert(join(dir, 'ca', 'ca.pem'), join(dir, 'other', 'x.pem'))).rejects.toThrow(/openssl verify failed/);
  }, 60_000);

  it('says clearly when openssl is missing, or the CA was not created', async () => {
    await expect(meshtrace(['cert', 'ca', '--dir', join(dir, 'none')], { MESHTRACE_OPENSSL: join(dir, 'no-such-openssl') }))
      .rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('the openssl command was not found') });
    await expect(meshtrace(['cert', 'issue', '--dir', join(dir, 'empty'), '--service-account', 'a']))
      .rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('create the CA first: meshtrace cert ca') });
  }, 30_000);
});

describe('mTLS configuration', () => {
  const base = { service: 's', appPort: 8080 };
  const problems = (input: unknown): string[] => {
    try { parseProxyConfig(input); } catch (e) { if (e instanceof ConfigError) return e.problems; throw e; }
    return [];
  };

  it('defaults to DISABLE in cluster.local', () => {
    expect(parseProxyConfig(base).mtls).toEqual({ mode: 'DISABLE', trustDomain: 'cluster.local' });
  });

  it('names every invalid or missing field', () => {
    expect(problems({ ...base, mtls: { mode: 'strict' } })).toEqual([expect.stringMatching(/^mtls\.mode: /)]);
    expect(problems({ ...base, mtls: { mode: 'STRICT', certFile: 'c.pem' } })).toEqual([
      'mtls.keyFile: required because mtls.mode is STRICT', 'mtls.caFile: required because mtls.mode is STRICT',
    ]);
    expect(problems({ ...base, mtls: { mode: 'DISABLE', trustDomain: 'Not A Domain' } })).toEqual([expect.stringMatching(/^mtls\.trustDomain: /)]);
    expect(problems({ ...base, upstreams: { r: '127.0.0.1:1' }, upstreamPolicies: { r: { tls: { mode: 'MUTUAL' } } } })).toEqual([expect.stringMatching(/^upstreamPolicies\.r\.tls\.mode: /)]);
    expect(problems({ ...base, upstreams: { r: '127.0.0.1:1' }, upstreamPolicies: { r: { tls: { mode: 'ISTIO_MUTUAL' } } } })).toEqual([
      'mtls.certFile: required because upstreamPolicies.r.tls.mode is ISTIO_MUTUAL',
      'mtls.keyFile: required because upstreamPolicies.r.tls.mode is ISTIO_MUTUAL',
      'mtls.caFile: required because upstreamPolicies.r.tls.mode is ISTIO_MUTUAL',
    ]);
    expect(problems({ ...base, upstreams: { r: '127.0.0.1:1' }, upstreamPolicies: { r: { tls: { mode: 'ISTIO_MUTUAL', subjectAltNames: [] } } } })).toEqual([expect.stringMatching(/^upstreamPolicies\.r\.tls\.subjectAltNames: /)]);
  });

  it('a sidecar does not start with unreadable certificate files, naming each', async () => {
    const err = await startSidecar({ ...base, inboundPort: 0, outboundPort: 0, adminPort: 0, mtls: { mode: 'PERMISSIVE', certFile: '/nonexistent/c.pem', keyFile: '/nonexistent/k.pem', caFile: '/nonexistent/ca.pem' } })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      expect.stringMatching(/^mtls\.certFile: cannot read \/nonexistent\/c\.pem: ENOENT/),
      expect.stringMatching(/^mtls\.keyFile: cannot read /),
      expect.stringMatching(/^mtls\.caFile: cannot read /),
    ]);
  });
});
