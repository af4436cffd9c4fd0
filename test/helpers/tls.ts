/**
 * Certificates for TLS tests, made by the system openssl in a temp dir: a CA (the same helper
 * `meshtrace cert` uses), a server certificate for 127.0.0.1/localhost signed by it, client
 * certificates from it and from a second, untrusted CA.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { createCa, issueWorkloadCert, type CaFiles } from '../../proxy/mtls/openssl.js';

const run = promisify(execFile);

export interface KeyPair { certFile: string; keyFile: string }

/** A server certificate (`serverAuth`, SAN IP:127.0.0.1 and DNS:localhost) signed by `ca`, as `<dir>/<name>.pem` + `-key.pem`. */
export async function issueServerCert(ca: CaFiles, dir: string, name: string): Promise<KeyPair> {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1, DNS:localhost\n');
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/O=meshtrace test/CN=${name}`]);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', certFile]);
  return { certFile, keyFile };
}

export interface TestPki {
  ca: CaFiles;
  server: KeyPair;
  /** Signed by `ca`: accepted by mutual TLS. */
  client: KeyPair;
  /** Signed by another CA: refused by mutual TLS. */
  stranger: KeyPair;
}

export async function makeTestPki(dir: string): Promise<TestPki> {
  const ca = await createCa(join(dir, 'ca'), { days: 2 });
  const otherCa = await createCa(join(dir, 'other-ca'), { days: 2 });
  const server = await issueServerCert(ca, dir, 'server');
  const client = await issueWorkloadCert({ ca, dir, name: 'client', serviceAccount: 'sender' });
  const stranger = await issueWorkloadCert({ ca: otherCa, dir, name: 'stranger', serviceAccount: 'stranger' });
  return { ca, server, client, stranger };
}

export const serialOf = (certFile: string): string => new X509Certificate(readFileSync(certFile)).serialNumber;

/**
 * The serial number of the certificate a TLS server on 127.0.0.1:`port` presents (ALPN h2 and
 * http/1.1, so gRPC ports answer too); `client` is presented when the server asks for one.
 */
export function presentedSerial(port: number, caFile: string, client?: KeyPair): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1', port, ca: readFileSync(caFile), ALPNProtocols: ['h2', 'http/1.1'], servername: 'localhost',
      ...(client ? { cert: readFileSync(client.certFile), key: readFileSync(client.keyFile) } : {}),
    }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}
