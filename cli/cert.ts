/**
 * `meshtrace cert`: a mesh CA and workload certificates for the sidecars' mutual TLS, made with
 * the system `openssl` command (no crypto dependency). See proxy/README.md, "Mutual TLS".
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';

function fail(err: unknown): never {
  process.stderr.write(`meshtrace cert: ${(err as Error).message}\n`);
  process.exit(1);
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`meshtrace cert: ${flag}: expected a whole number of days ≥ 1, got '${v}'\n`);
    process.exit(2);
  }
  return n;
}

export function registerCert(program: Command): void {
  const cert = program
    .command('cert')
    .description('Create a mesh CA and issue workload certificates with SPIFFE ids for the sidecars\' mutual TLS (uses the openssl command).');
  cert.addHelpText('after', `
Example:
  meshtrace cert ca --dir certs
  meshtrace cert issue --dir certs --service-account reviews --namespace default
  # then in the sidecar's config:
  #   "mtls": { "mode": "STRICT", "certFile": "certs/reviews.pem", "keyFile": "certs/reviews-key.pem", "caFile": "certs/ca.pem" }
Requires the openssl command (tested with OpenSSL 3.0); MESHTRACE_OPENSSL names another binary.`);

  cert
    .command('ca')
    .description('Create a self-signed mesh CA: <dir>/ca.pem and <dir>/ca-key.pem (EC P-256). Keep ca-key.pem secret.')
    .option('--dir <dir>', 'output directory', '.')
    .option('--days <n>', 'validity in days', '3650')
    .option('--force', 'overwrite an existing CA in <dir>')
    .action(async (o: { dir: string; days: string; force?: boolean }) => {
      const days = positiveInt('--days', o.days);
      const dir = resolve(o.dir);
      if (!o.force && existsSync(join(dir, 'ca.pem'))) fail(new Error(`${join(dir, 'ca.pem')} exists; pass --force to replace the CA (every workload certificate must then be reissued)`));
      try {
        const { createCa } = await import('../proxy/mtls/openssl.js');
        const ca = await createCa(dir, { days });
        process.stdout.write(`CA certificate: ${ca.certFile}\nCA key:         ${ca.keyFile}\n`);
      } catch (err) { fail(err); }
    });

  cert
    .command('issue')
    .description('Issue a workload certificate signed by the mesh CA, its SPIFFE id spiffe://<trust-domain>/ns/<namespace>/sa/<service-account> as URI SAN: <dir>/<name>.pem and <dir>/<name>-key.pem.')
    .requiredOption('--service-account <sa>', 'the workload\'s service account (Istio: the pod\'s)')
    .option('--namespace <ns>', 'namespace', 'default')
    .option('--trust-domain <domain>', 'SPIFFE trust domain (the sidecars\' mtls.trustDomain)', 'cluster.local')
    .option('--dir <dir>', 'output directory', '.')
    .option('--ca-dir <dir>', 'directory holding ca.pem and ca-key.pem (default: --dir)')
    .option('--name <name>', 'file name stem (default: the service account)')
    .option('--days <n>', 'validity in days (Istio issues 24 h certificates and rotates them)', '1')
    .action(async (o: { serviceAccount: string; namespace: string; trustDomain: string; dir: string; caDir?: string; name?: string; days: string }) => {
      const days = positiveInt('--days', o.days);
      const caDir = resolve(o.caDir ?? o.dir);
      const ca = { certFile: join(caDir, 'ca.pem'), keyFile: join(caDir, 'ca-key.pem') };
      for (const f of [ca.certFile, ca.keyFile]) if (!existsSync(f)) fail(new Error(`${f} not found; create the CA first: meshtrace cert ca --dir ${caDir}`));
      try {
        const { issueWorkloadCert } = await import('../proxy/mtls/openssl.js');
        const w = await issueWorkloadCert({
          ca, dir: resolve(o.dir), name: o.name ?? o.serviceAccount, serviceAccount: o.serviceAccount,
          namespace: o.namespace, trustDomain: o.trustDomain, days,
        });
        process.stdout.write(`certificate: ${w.certFile}\nkey:         ${w.keyFile}\nSPIFFE id:   ${w.spiffeId}\n`);
      } catch (err) { fail(err); }
    });
}
