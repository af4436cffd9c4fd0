/**
 * TLS material for every listener of the server (`--tls-cert`, `--tls-key`, `--tls-client-ca`),
 * read once, checked, and re-read when any of the files changes. Each listener subscribes:
 * node's https servers swap their context with `setSecureContext` (existing connections keep the
 * old one), the gRPC server through a grpc-js certificate provider, which does the same. A change
 * that does not load (a certificate written before its key, a truncated file) is logged and the
 * material in use is kept, so a rotation half-way through never takes a listener down.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { watchConfigFile, type ConfigWatcher, type ConfigWatchOptions } from '../proxy/config-watch.js';

export interface TlsFiles {
  /** PEM certificate chain the listeners present (leaf first). */
  certFile: string;
  /** PEM private key of that certificate. */
  keyFile: string;
  /** PEM CA certificate(s) client certificates must chain to; set = mutual TLS on the receivers. */
  clientCaFile?: string;
}

export interface TlsMaterial { cert: Buffer; key: Buffer; clientCa?: Buffer }

/** Which file is wrong: the setting that named it, so the CLI can print its flag. */
export type TlsSetting = 'tlsCert' | 'tlsKey' | 'tlsClientCa';

export class TlsFileError extends Error {
  constructor(readonly setting: TlsSetting, readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'TlsFileError';
  }
}

function read(setting: TlsSetting, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new TlsFileError(setting, file, `cannot read it (${e.code ?? e.message})`);
  }
}

/** Reads and checks the files; throws TlsFileError naming the file at fault. */
export function loadTlsMaterial(files: TlsFiles): TlsMaterial {
  const cert = read('tlsCert', files.certFile);
  const key = read('tlsKey', files.keyFile);
  try {
    new X509Certificate(cert);
  } catch (err) {
    throw new TlsFileError('tlsCert', files.certFile, `not a PEM certificate (${(err as Error).message})`);
  }
  try {
    createPrivateKey(key);
  } catch (err) {
    throw new TlsFileError('tlsKey', files.keyFile, `not a PEM private key (${(err as Error).message})`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new TlsFileError('tlsKey', files.keyFile, `does not belong to the certificate in ${files.certFile} (${(err as Error).message})`);
  }
  let clientCa: Buffer | undefined;
  if (files.clientCaFile) {
    clientCa = read('tlsClientCa', files.clientCaFile);
    try {
      new X509Certificate(clientCa);
      createSecureContext({ ca: clientCa });
    } catch (err) {
      throw new TlsFileError('tlsClientCa', files.clientCaFile, `not a PEM CA certificate (${(err as Error).message})`);
    }
  }
  return { cert, key, clientCa };
}

export class TlsSource {
  private material: TlsMaterial;
  private readonly listeners = new Set<(m: TlsMaterial) => void>();
  private readonly watchers: ConfigWatcher[] = [];

  /** Loads the files (throws TlsFileError) and watches them for changes. */
  constructor(readonly files: TlsFiles, logger: Logger, watch: ConfigWatchOptions = {}) {
    this.material = loadTlsMaterial(files);
    const reload = () => {
      try {
        this.material = loadTlsMaterial(files);
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'TLS files changed but do not load; the listeners keep the certificate they have');
        return;
      }
      logger.info({ certFile: files.certFile }, 'TLS certificate reloaded');
      for (const l of this.listeners) l(this.material);
    };
    for (const f of [files.certFile, files.keyFile, files.clientCaFile]) {
      if (f) this.watchers.push(watchConfigFile(f, reload, { ...watch, onWatchError: (err) => logger.warn({ err: err.message, file: f }, 'cannot watch a TLS file; polling it') }));
    }
  }

  /** Whether client certificates are required (a client CA was given). */
  get mutual(): boolean {
    return this.files.clientCaFile !== undefined;
  }

  current(): TlsMaterial {
    return this.material;
  }

  /** Called with the new material after each successful reload; returns the unsubscribe. */
  onChange(fn: (m: TlsMaterial) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The secure-context part (what `setSecureContext` takes); `mutual` adds the client CA. */
  contextOptions(mutual: boolean): SecureContextOptions {
    const m = this.material;
    return { cert: m.cert, key: m.key, ...(mutual && m.clientCa ? { ca: m.clientCa } : {}) };
  }

  /** Options for `https.createServer`; with `mutual` a client without a certificate from the CA is refused in the handshake. */
  serverOptions(mutual: boolean): TlsOptions {
    return { ...this.contextOptions(mutual), ...(mutual && this.mutual ? { requestCert: true, rejectUnauthorized: true } : {}) };
  }

  /**
   * gRPC server credentials that follow reloads (grpc-js calls setSecureContext on its http2
   * server when a certificate provider reports new material).
   */
  grpcCredentials(mutual: boolean): grpc.ServerCredentials {
    const provider = new TlsSourceCertificateProvider(this);
    // grpc-js passes its first argument on as the identity provider and the second as the CA provider.
    return grpc.experimental.createCertificateProviderServerCredentials(provider, mutual && this.mutual ? provider : null, mutual && this.mutual);
  }

  /** Attaches a node TLS server (https, http2) to this source: it gets each reload. Returns the detach. */
  attach(server: { setSecureContext(o: SecureContextOptions): void }, mutual: boolean): () => void {
    return this.onChange(() => server.setSecureContext(this.contextOptions(mutual)));
  }

  close(): void {
    for (const w of this.watchers.splice(0)) w.close();
    this.listeners.clear();
  }
}

/**
 * A grpc-js CertificateProvider fed by a TlsSource: reports the current material, then each reload.
 * The first report is deferred to a microtask: grpc-js registers the server's watcher only after
 * adding these listeners, and a report it does not see leaves the port dropping every connection.
 */
class TlsSourceCertificateProvider implements grpc.experimental.CertificateProvider {
  private readonly ca = new Map<grpc.experimental.CaCertificateUpdateListener, () => void>();
  private readonly identity = new Map<grpc.experimental.IdentityCertificateUpdateListener, () => void>();

  constructor(private readonly source: TlsSource) {}

  addCaCertificateListener(l: grpc.experimental.CaCertificateUpdateListener): void {
    const send = (m: TlsMaterial) => l(m.clientCa ? { caCertificate: m.clientCa } : null);
    this.ca.set(l, this.source.onChange(send));
    queueMicrotask(() => this.ca.has(l) && send(this.source.current()));
  }

  removeCaCertificateListener(l: grpc.experimental.CaCertificateUpdateListener): void {
    this.ca.get(l)?.();
    this.ca.delete(l);
  }

  addIdentityCertificateListener(l: grpc.experimental.IdentityCertificateUpdateListener): void {
    const send = (m: TlsMaterial) => l({ certificate: m.cert, privateKey: m.key });
    this.identity.set(l, this.source.onChange(send));
    queueMicrotask(() => this.identity.has(l) && send(this.source.current()));
  }

  removeIdentityCertificateListener(l: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.identity.get(l)?.();
    this.identity.delete(l);
  }
}
