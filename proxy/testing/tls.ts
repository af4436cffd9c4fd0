import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, opensslBin, type CaFiles } from '../mtls/openssl.js';

/** Test helpers: a CA and a server certificate for 127.0.0.1, made with the system openssl (as `meshtrace cert` does). */

export interface ServerCert { ca: CaFiles; certFile: string; keyFile: string }

/** A fresh CA in `dir` and a server certificate it signs for IP 127.0.0.1 and DNS localhost. */
export async function localhostServerCert(dir: string, name = 'server'): Promise<ServerCert> {
  const ca = await createCa(join(dir, `${name}-ca`), { commonName: `${name} test CA` });
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  const cnf = join(dir, `${name}.cnf`);
  const csr = join(dir, `${name}.csr`);
  writeFileSync(cnf, [
    '[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', 'CN = 127.0.0.1',
    '[v3]', 'basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = serverAuth', 'subjectAltName = IP:127.0.0.1, DNS:localhost', '',
  ].join('\n'));
  const openssl = (args: string[]) => execFileSync(opensslBin(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', csr, '-config', cnf]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', '0x1234', '-days', '1', '-extfile', cnf, '-extensions', 'v3', '-out', certFile]);
  return { ca, certFile, keyFile };
}
