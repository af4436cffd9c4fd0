import type { ConnectionOptions, PeerCertificate, TLSSocket } from 'node:tls';
// Types only: undici itself (several MiB resident once loaded) is imported when an ISTIO_MUTUAL upstream is configured.
import type { Agent, buildConnector, Dispatcher } from 'undici';
import type { ProxyConfig } from '../config.js';
import { uriSans, type TlsMaterial } from './material.js';

/**
 * Client-side mTLS (Istio's DestinationRule `tls.mode: ISTIO_MUTUAL`): one undici Agent per set
 * of TLS settings (material fingerprint, trust domain, accepted SANs), its `connect` options
 * carrying the workload certificate, the CA, and a `checkServerIdentity` that checks SPIFFE URI
 * SANs instead of DNS names. The router sends an exchange whose upstream carries `tls` through
 * that Agent to `https://host:port`; the app itself still speaks plain HTTP to the sidecar.
 *
 * undici is loaded only when a configuration has an ISTIO_MUTUAL upstream (plaintext upstreams
 * go through proxy/http/h1-pool.ts): `startSidecar` awaits `loadUndici()` for such a configuration
 * before building its clients; a client built before undici is loaded (a reload that adds the first
 * ISTIO_MUTUAL upstream: reloads are synchronous) makes its Agent when the import resolves, and
 * requests dispatched meanwhile wait for it.
 *
 * Rotation: a reload builds clients for the new settings; a client whose settings did not change
 * is kept (with its pooled connections); clients no longer used are closed gracefully (requests in
 * flight finish, then their connections close), so new connections use the new certificate.
 */
export interface UpstreamTlsClient {
  /** undici's dispatch (the controller API); the only part of a Dispatcher the router calls. */
  dispatcher: Pick<Dispatcher, 'dispatch'>;
  /** tls.connect options for raw connections to the upstream (WebSocket upgrades). */
  connect: ConnectionOptions;
  /**
   * The SPIFFE id endpoint `host:port` presented on its last verified connection: the peer's
   * identity for the outbound span (`meshtrace.upstream.principal`). Undefined before any.
   */
  principalOf(host: string, port: number): string | undefined;
}

/** Most endpoints whose identity is remembered (they are configured endpoints, normally few). */
const MAX_PRINCIPALS = 10_000;

/**
 * undici's TLS connector with a look at each new connection's verified certificate: its SPIFFE
 * id is remembered by endpoint, once per connection (not per request).
 */
function identityRecordingConnector(build: typeof buildConnector, connect: ConnectionOptions, principals: Map<string, string>): buildConnector.connector {
  const base = build(connect);
  return (opts, cb) => base(opts, (err, socket) => {
    if (!err && socket && 'getPeerCertificate' in socket) {
      const id = uriSans((socket as TLSSocket).getPeerCertificate().subjectaltname).find((u) => u.startsWith('spiffe://'));
      const key = `${opts.hostname.replace(/^\[|\]$/g, '')}:${opts.port}`;
      if (id && (principals.size < MAX_PRINCIPALS || principals.has(key))) principals.set(key, id);
    }
    (cb as (e: Error | null, s: typeof socket) => void)(err, socket);
  });
}

type Undici = typeof import('undici');
let undici: Undici | undefined;
let loadingUndici: Promise<Undici> | undefined;

/** Imports undici once (the first ISTIO_MUTUAL upstream); later calls return the same promise. */
export function loadUndici(): Promise<Undici> {
  return loadingUndici ??= import('undici').then((m) => (undici = m));
}

/** Whether `c` has an upstream that originates mTLS, i.e. needs undici. */
export function hasMutualUpstream(c: ProxyConfig): boolean {
  return Object.values(c.upstreamPolicies).some((p) => p.tls?.mode === 'ISTIO_MUTUAL');
}

/** An upstream's mTLS client around one undici Agent, made now or, when undici is still loading, once it is loaded. */
class MutualClient implements UpstreamTlsClient {
  readonly dispatcher: Pick<Dispatcher, 'dispatch'>;
  private agent: Agent | undefined;
  private readonly ready: Promise<Agent>;
  private readonly principals = new Map<string, string>();

  constructor(readonly connect: ConnectionOptions, connections: number) {
    const make = (u: Undici): Agent => (this.agent = new u.Agent({
      connections, keepAliveTimeout: 4_000, pipelining: 1, connect: identityRecordingConnector(u.buildConnector, connect, this.principals),
    }));
    this.ready = undici ? Promise.resolve(make(undici)) : loadUndici().then(make);
    this.ready.catch(() => {});
    this.dispatcher = {
      dispatch: (opts, handler) => {
        if (this.agent) return this.agent.dispatch(opts, handler);
        this.ready.then((a) => a.dispatch(opts, handler), (err: Error) => {
          const h = handler as { onResponseError?(controller: unknown, err: Error): void };
          h.onResponseError?.({ abort() {}, pause() {}, resume() {} }, err);
        });
        return true;
      },
    };
  }

  principalOf(host: string, port: number): string | undefined { return this.principals.get(`${host}:${port}`); }

  close(): Promise<void> { return this.ready.then((a) => a.close(), () => {}); }
  destroy(): Promise<void> { return this.ready.then((a) => a.destroy(), () => {}); }
}

/** Why an upstream certificate is refused, or undefined; `allowed` absent = any SPIFFE id in the trust domain. */
export function checkUpstreamIdentity(cert: PeerCertificate, trustDomain: string, allowed: readonly string[] | undefined): Error | undefined {
  const sans = uriSans(cert.subjectaltname);
  if (allowed) {
    if (sans.some((s) => allowed.includes(s))) return undefined;
    return Object.assign(new Error(`upstream certificate's URI SANs [${sans.join(', ')}] match none of subjectAltNames [${allowed.join(', ')}]`), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  }
  if (sans.some((s) => s.startsWith(`spiffe://${trustDomain}/`))) return undefined;
  return Object.assign(new Error(`upstream certificate has no SPIFFE id in trust domain ${trustDomain} (URI SANs: [${sans.join(', ')}])`), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
}

export class UpstreamTlsClients {
  private readonly byKey = new Map<string, MutualClient>();

  /** `connections`: pooled connections per upstream origin, as the plain pools. */
  constructor(private readonly connections: number) {}

  /** Clients for every ISTIO_MUTUAL upstream of `c`, by upstream name; reuses clients whose settings did not change. */
  build(c: ProxyConfig, m: TlsMaterial | undefined): Map<string, UpstreamTlsClient> {
    const out = new Map<string, UpstreamTlsClient>();
    if (!m) return out;
    for (const [name, p] of Object.entries(c.upstreamPolicies)) {
      if (p.tls?.mode !== 'ISTIO_MUTUAL') continue;
      const sans = p.tls.subjectAltNames;
      const key = `${m.fingerprint}|${c.mtls.trustDomain}|${JSON.stringify(sans ?? null)}`;
      let client = this.byKey.get(key);
      if (!client) {
        const td = c.mtls.trustDomain;
        const connect: ConnectionOptions = {
          cert: m.cert, key: m.key, ca: m.ca, rejectUnauthorized: true, minVersion: 'TLSv1.2',
          checkServerIdentity: (_host, cert) => checkUpstreamIdentity(cert, td, sans),
        };
        client = new MutualClient(connect, this.connections);
        this.byKey.set(key, client);
      }
      out.set(name, client);
    }
    return out;
  }

  /** Closes, gracefully, every client not in `inUse` (the map serving after a swap). */
  retain(inUse: ReadonlyMap<string, UpstreamTlsClient>): void {
    const keep = new Set(inUse.values());
    for (const [k, client] of this.byKey) {
      if (keep.has(client)) continue;
      this.byKey.delete(k);
      client.close().catch(() => {});
    }
  }

  async destroy(): Promise<void> {
    const all = [...this.byKey.values()];
    this.byKey.clear();
    await Promise.all(all.map((c) => c.destroy().catch(() => {})));
  }
}
