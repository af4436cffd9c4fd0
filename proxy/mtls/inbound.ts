import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { ProxyConfig } from '../config.js';
import { uriSans, type TlsMaterial } from './material.js';

/**
 * Inbound mTLS (Istio's PeerAuthentication) in front of the inbound listener's HTTP server.
 *
 * The HTTP server keeps listening on its port; this replaces its `connection` listener (Node's
 * HTTP connection handler, which `http.createServer` registers) with one that decides per
 * connection. DISABLE: the socket goes straight to the HTTP handler, as before (one function call
 * more per connection, nothing per request). STRICT and PERMISSIVE: the first chunk the client
 * sends is looked at and put back (`unshift`); `0x16` (a TLS handshake record) → the socket is
 * handed to a non-listening `tls.Server` (requestCert, rejectUnauthorized against `mtls.caFile`),
 * whose `secureConnection` hands the decrypted socket to the HTTP handler — the documented way to
 * terminate TLS on a socket accepted elsewhere; anything else → plaintext HTTP (PERMISSIVE) or
 * closed (STRICT). A peer whose certificate chains to the CA but carries no SPIFFE id in the trust
 * domain is closed too. WebSocket upgrades and keep-alive work unchanged on either kind of socket.
 *
 * Timeouts: the HTTP server's headers timeout only starts once a socket reaches it, so with mTLS
 * on a connection that never sends a byte, or stalls its handshake, would never meet it. Each
 * stage here is bounded by the same `downstream.requestHeadersTimeoutMs` (0 = off): the wait for
 * the first byte, then the TLS handshake (`handshakeTimeout`, Node's default 120 s otherwise);
 * the HTTP server's own timeout covers the headers after that.
 *
 * Rotation: `apply()` (start-up and each reload) calls `tls.Server#setSecureContext` with the
 * re-read material; handshakes from then on use it, established connections keep theirs.
 */

/** The verified peer of an mTLS connection, stored on the decrypted socket under PEER. */
export interface PeerIdentity {
  /** The client certificate's SPIFFE id (URI SAN) in the trust domain. */
  principal: string;
  /** Its serial number, hex. */
  serial: string;
}
export const PEER = Symbol('meshtrace.mtls.peer');

/** The peer identity of a request's socket; undefined for plaintext connections. */
export const peerOf = (socket: unknown): PeerIdentity | undefined => (socket as { [PEER]?: PeerIdentity })[PEER];


export type InboundRejection = 'plaintext' | 'handshake' | 'identity';

export class InboundMtls {
  private mode: ProxyConfig['mtls']['mode'] = 'DISABLE';
  private trustDomainPrefix = 'spiffe://cluster.local/';
  private tls?: TlsServer;
  private fingerprint = '';
  /** downstream.requestHeadersTimeoutMs (restart-only, so the tls.Server's handshakeTimeout stays right). */
  private headersTimeoutMs = 10_000;

  /** Called for each refused connection (tests, logs). */
  constructor(private readonly onReject: (why: InboundRejection, detail: string) => void = () => {}) {}

  /** Takes over `server`'s connection handling. Call right after http.createServer, before other `connection` listeners. */
  /**
   * Sniffs each connection of `server` (whose own connection listener the caller took off):
   * TLS goes through the handshake and then to `toHttp` (Node's HTTP server), plaintext to
   * `plaintext` (the listener's fast path, or Node's server too).
   */
  attach(server: Server, toHttp: (socket: Socket | TLSSocket) => void, plaintext: (socket: Socket) => void = toHttp): void {
    this.handOff = toHttp;
    server.on('connection', (socket: Socket) => {
      if (this.mode === 'DISABLE') { plaintext(socket); return; }
      this.sniff(socket, plaintext);
    });
  }

  /** Applies a (re)loaded configuration and its material (loadTlsMaterial). */
  apply(c: ProxyConfig, material: TlsMaterial | undefined): void {
    this.mode = c.mtls.mode;
    this.trustDomainPrefix = `spiffe://${c.mtls.trustDomain}/`;
    this.headersTimeoutMs = c.downstream.requestHeadersTimeoutMs;
    if (this.mode === 'DISABLE' || !material) return;
    const ctx = { cert: material.cert, key: material.key, ca: material.ca };
    if (!this.tls) {
      this.tls = createTlsServer({ ...ctx, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2',
        ...(this.headersTimeoutMs > 0 ? { handshakeTimeout: this.headersTimeoutMs } : {}) });
      this.tls.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
        this.onReject('handshake', err.code ?? err.message);
        socket.destroy();
      });
      this.tls.on('secureConnection', (socket: TLSSocket) => this.secured(socket));
    } else if (material.fingerprint !== this.fingerprint) {
      this.tls.setSecureContext(ctx);
    }
    this.fingerprint = material.fingerprint;
  }

  private handOff?: (socket: Socket | TLSSocket) => void;

  private sniff(socket: Socket, plaintext: (s: Socket) => void): void {
    const onError = () => socket.destroy();
    socket.on('error', onError);
    if (this.headersTimeoutMs > 0) socket.setTimeout(this.headersTimeoutMs, () => socket.destroy());
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      socket.setTimeout(0);
      socket.off('error', onError);
      if (chunk[0] === 0x16 && this.tls) {
        this.tls.emit('connection', socket);
      } else if (this.mode === 'STRICT') {
        this.onReject('plaintext', `first byte 0x${chunk[0].toString(16)}`);
        socket.destroy();
      } else {
        plaintext(socket);
        socket.resume();
      }
    });
  }

  private secured(socket: TLSSocket): void {
    const cert = socket.getPeerX509Certificate();
    const principal = cert ? uriSans(cert.subjectAltName).find((u) => u.startsWith(this.trustDomainPrefix)) : undefined;
    if (!socket.authorized || !cert || !principal) {
      this.onReject('identity', !socket.authorized ? String(socket.authorizationError) : `no SPIFFE id in ${this.trustDomainPrefix}`);
      socket.destroy();
      return;
    }
    (socket as TLSSocket & { [PEER]?: PeerIdentity })[PEER] = { principal, serial: cert.serialNumber };
    this.handOff!(socket);
  }
}
