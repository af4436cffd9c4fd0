import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { spiffeId } from './material.js';

/**
 * A mesh CA and workload certificates, made by the system `openssl` CLI (tested with OpenSSL 3.0) so
 * meshtrace needs no crypto dependency. EC P-256 keys (PKCS#8 PEM, mode 0600). A workload
 * certificate carries its SPIFFE id as a URI SAN, `CA:FALSE`, and both serverAuth and clientAuth
 * (each sidecar is a TLS server inbound and a client outbound), like Istio's.
 * Used by `meshtrace cert` and by the tests.
 */

const run = promisify(execFile);

export class OpensslMissingError extends Error {
  constructor(bin: string) {
    super(`the openssl command was not found (${bin}); install it (Debian/Ubuntu: apt-get install openssl) or set MESHTRACE_OPENSSL to its path`);
    this.name = 'OpensslMissingError';
  }
}

export const opensslBin = (): string => process.env['MESHTRACE_OPENSSL'] || 'openssl';

async function openssl(args: string[]): Promise<string> {
  const bin = opensslBin();
  try {
    const r = await run(bin, args, { encoding: 'utf8' });
    return r.stdout;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new OpensslMissingError(bin);
    throw new Error(`openssl ${args[0]} failed: ${(err.stderr ?? err.message).trim()}`);
  }
}

/** Runs `fn` with a scratch directory that is removed afterwards. */
async function scratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'meshtrace-cert-'));
  try { return await fn(dir); } finally { await rm(dir, { recursive: true, force: true }); }
}

const randomSerial = () => `0x${randomBytes(16).toString('hex').replace(/^[89a-f]/, '1')}`;

export interface CaFiles { certFile: string; keyFile: string }

/** A self-signed mesh CA: `<dir>/ca.pem` and `<dir>/ca-key.pem`. `days`: validity (default 3650). */
export async function createCa(dir: string, o: { days?: number; commonName?: string } = {}): Promise<CaFiles> {
  await mkdir(dir, { recursive: true });
  const certFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'ca-key.pem');
  await scratch(async (tmp) => {
    const cnf = join(tmp, 'ca.cnf');
    await writeFile(cnf, [
      '[req]', 'distinguished_name = dn', 'prompt = no', 'x509_extensions = v3_ca',
      '[dn]', 'O = meshtrace', `CN = ${o.commonName ?? 'meshtrace mesh CA'}`,
      '[v3_ca]', 'basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash', '',
    ].join('\n'));
    await openssl(['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', String(o.days ?? 3650), '-config', cnf, '-set_serial', randomSerial()]);
  });
  await chmod(keyFile, 0o600);
  return { certFile, keyFile };
}

export interface WorkloadCertOptions {
  ca: CaFiles;
  /** Output directory; files `<name>.pem` and `<name>-key.pem`. */
  dir: string;
  name: string;
  /** SPIFFE id parts: spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>. */
  trustDomain?: string;
  namespace?: string;
  serviceAccount: string;
  /** Validity in days (default 1: Istio rotates workload certificates every 24 h). */
  days?: number;
}

export interface WorkloadCert { certFile: string; keyFile: string; spiffeId: string }

/** A workload certificate signed by `ca`, with its SPIFFE id as URI SAN. */
export async function issueWorkloadCert(o: WorkloadCertOptions): Promise<WorkloadCert> {
  await mkdir(o.dir, { recursive: true });
  const id = spiffeId(o.trustDomain ?? 'cluster.local', o.namespace ?? 'default', o.serviceAccount);
  if (/[\s,]/.test(id)) throw new Error(`invalid SPIFFE id '${id}': no spaces or commas`);
  const certFile = join(o.dir, `${o.name}.pem`);
  const keyFile = join(o.dir, `${o.name}-key.pem`);
  await scratch(async (tmp) => {
    const csr = join(tmp, 'w.csr');
    const cnf = join(tmp, 'w.cnf');
    await writeFile(cnf, [
      '[req]', 'distinguished_name = dn', 'prompt = no',
      '[dn]', 'O = meshtrace', `CN = ${o.serviceAccount}.${o.namespace ?? 'default'}`,
      '[v3]', 'basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth, clientAuth', `subjectAltName = URI:${id}`, 'authorityKeyIdentifier = keyid', '',
    ].join('\n'));
    await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', csr, '-config', cnf]);
    await openssl(['x509', '-req', '-in', csr, '-CA', o.ca.certFile, '-CAkey', o.ca.keyFile, '-set_serial', randomSerial(),
      '-days', String(o.days ?? 1), '-extfile', cnf, '-extensions', 'v3', '-out', certFile]);
  });
  await chmod(keyFile, 0o600);
  return { certFile, keyFile, spiffeId: id };
}

/** `openssl verify -CAfile ca cert`: resolves with openssl's output, rejects when it fails. */
export async function verifyCert(caFile: string, certFile: string): Promise<string> {
  return (await openssl(['verify', '-CAfile', caFile, certFile])).trim();
}
