import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, type ProxyConfig } from '../config.js';

/**
 * A sidecar's mTLS material, read from the PEM files `mtls.certFile`, `mtls.keyFile` and
 * `mtls.caFile` name. Read at start-up and again on every reload (a rotated certificate usually
 * keeps its path and changes its content, so `fingerprint` — not the config — tells whether it
 * changed). Problems name the config field (`mtls.keyFile: does not match mtls.certFile`).
 */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
  /** The workload's own SPIFFE id (its certificate's first `spiffe://` URI SAN), `-` when it has none. */
  spiffeId: string;
  /** Serial number of the workload certificate, hex. */
  serial: string;
  /** sha256 over cert, key and CA: equal fingerprints = nothing to rebuild. */
  fingerprint: string;
}

/** Whether the configuration needs the material: the server side is not DISABLE, or an upstream originates ISTIO_MUTUAL. */
export function needsMaterial(c: ProxyConfig): boolean {
  return c.mtls.mode !== 'DISABLE' || Object.values(c.upstreamPolicies).some((p) => p.tls?.mode === 'ISTIO_MUTUAL');
}

/** URI SANs of a certificate (`URI:spiffe://…` entries of subjectAltName). */
export function uriSans(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const out: string[] = [];
  for (const part of subjectAltName.split(', ')) if (part.startsWith('URI:')) out.push(part.slice(4));
  return out;
}

/** `spiffe://<trustDomain>/ns/<ns>/sa/<sa>` as Istio names a workload. */
export const spiffeId = (trustDomain: string, namespace: string, serviceAccount: string): string =>
  `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;

/** Every certificate of a PEM bundle. */
function pemCerts(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/**
 * Reads and checks the material; undefined when the configuration needs none. Checks: each file
 * is readable PEM, the key matches the certificate, the certificate is valid now and was issued by
 * one of the CA file's certificates. Throws ConfigError with every problem.
 */
export function loadTlsMaterial(c: ProxyConfig): TlsMaterial | undefined {
  if (!needsMaterial(c)) return undefined;
  const problems: string[] = [];
  const m = c.mtls;
  const read = (field: 'certFile' | 'keyFile' | 'caFile'): Buffer | undefined => {
    const path = m[field];
    if (!path) { problems.push(`mtls.${field}: required when mtls.mode is ${m.mode} or an upstream's tls.mode is ISTIO_MUTUAL`); return undefined; }
    try { return readFileSync(path); } catch (e) { problems.push(`mtls.${field}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); return undefined; }
  };
  const certPem = read('certFile');
  const keyPem = read('keyFile');
  const caPem = read('caFile');
  let cert: X509Certificate | undefined;
  let cas: X509Certificate[] = [];
  if (certPem) {
    try { cert = new X509Certificate(certPem); } catch (e) { problems.push(`mtls.certFile: ${m.certFile} is not a PEM certificate: ${(e as Error).message}`); }
  }
  if (caPem) {
    try { cas = pemCerts(caPem.toString('utf8')); } catch (e) { problems.push(`mtls.caFile: ${m.caFile} is not a PEM certificate bundle: ${(e as Error).message}`); }
    if (!cas.length && !problems.some((p) => p.startsWith('mtls.caFile'))) problems.push(`mtls.caFile: ${m.caFile} holds no PEM certificate`);
  }
  if (keyPem) {
    try {
      const key = createPrivateKey(keyPem);
      if (cert && !cert.checkPrivateKey(key)) problems.push(`mtls.keyFile: ${m.keyFile} does not match the certificate in mtls.certFile`);
    } catch (e) { problems.push(`mtls.keyFile: ${m.keyFile} is not a PEM private key: ${(e as Error).message}`); }
  }
  if (cert) {
    const now = Date.now();
    if (Date.parse(cert.validTo) < now) problems.push(`mtls.certFile: ${m.certFile} expired ${cert.validTo}`);
    else if (Date.parse(cert.validFrom) > now) problems.push(`mtls.certFile: ${m.certFile} is not valid before ${cert.validFrom}`);
    if (cas.length && !cas.some((ca) => cert!.checkIssued(ca) && cert!.verify(ca.publicKey))) {
      problems.push(`mtls.certFile: ${m.certFile} is not signed by a certificate in mtls.caFile (${m.caFile})`);
    }
  }
  if (problems.length || !certPem || !keyPem || !caPem || !cert) throw new ConfigError(problems);
  return {
    cert: certPem, key: keyPem, ca: caPem,
    spiffeId: uriSans(cert.subjectAltName).find((u) => u.startsWith('spiffe://')) ?? '-',
    serial: cert.serialNumber,
    fingerprint: createHash('sha256').update(certPem).update(keyPem).update(caPem).digest('hex'),
  };
}
