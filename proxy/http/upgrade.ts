import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { FilterChain } from '../filters/chain.js';
import type { Exchange, OutHeaders } from '../filters/types.js';
import { tlsTransportFailure } from './forward.js';

/**
 * Upgrade requests (WebSocket): the request head goes through the filter chain like any other
 * (trace context injected, span recorded for the whole session), then bytes are relayed both
 * ways. The upstream's status line is read to record the status (101 on success).
 * `done` is called exactly once when both sides are closed.
 */
export function relayUpgrade(ex: Exchange, req: IncomingMessage, downstream: Duplex, head: Buffer, chain: FilterChain, done: () => void): void {
  let finished = false;
  const finish = () => { if (!finished) { finished = true; done(); } };
  // A traffic refusal (circuit breaker, no healthy endpoint) applies to upgrades too; retries and faults do not.
  const reply = chain.request(ex) ?? ex.traffic?.reject;
  if (reply || !ex.upstream) {
    const r = reply ?? { status: 404, body: 'no route', flag: 'NR' };
    if (r.flag) ex.responseFlags.push(r.flag);
    ex.status = r.status;
    downstream.end(`HTTP/1.1 ${r.status} ${r.status === 404 ? 'Not Found' : 'Error'}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(r.body)}\r\nconnection: close\r\n\r\n${r.body}`);
    finish();
    return;
  }
  const headers: OutHeaders = { ...ex.headers, connection: 'Upgrade', upgrade: String(req.headers['upgrade'] ?? '') };
  let head0 = `${ex.method} ${ex.path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(headers)) {
    for (const one of Array.isArray(v) ? v : [v]) head0 += `${k}: ${one}\r\n`;
  }
  head0 += '\r\n';
  // ISTIO_MUTUAL: the same mTLS settings as the upstream's HTTP client; relayed once the handshake is done.
  const upstream: Socket = ex.upstream.tls
    ? tlsConnect({ ...ex.upstream.tls.connect, host: ex.upstream.host, port: ex.upstream.port })
    : connect({ host: ex.upstream.host, port: ex.upstream.port });
  let connected = false;
  let sawStatus = false;
  upstream.once(ex.upstream.tls ? 'secureConnect' : 'connect', () => {
    connected = true;
    upstream.write(head0);
    if (head.length) upstream.write(head);
    // Count after piping: a 'data' listener attached earlier would start the flow before the pipe exists.
    downstream.on('data', (c: Buffer) => { ex.requestBytes += c.length; });
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  });
  upstream.on('data', (c: Buffer) => {
    if (!sawStatus) {
      sawStatus = true;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(c.toString('latin1', 0, 16));
      if (m) ex.status = Number(m[1]);
    }
    ex.responseBytes += c.length;
  });
  upstream.on('error', (err) => {
    ex.error = (err as { code?: string }).code ?? err.message;
    if (!connected) ex.transportFailureReason = tlsTransportFailure(ex.upstream?.tls, ex.error, err.message);
    if (!connected) {
      ex.responseFlags.push('UF');
      ex.status = 503;
      const body = 'upstream connect error or disconnect/reset before headers';
      downstream.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    } else {
      ex.responseFlags.push('UR');
      downstream.destroy();
    }
  });
  downstream.on('error', () => { if (!ex.responseFlags.includes('DC')) ex.responseFlags.push('DC'); upstream.destroy(); });
  let closed = 0;
  const onClose = () => { if (++closed === 2) finish(); };
  upstream.once('close', () => { downstream.destroy(); onClose(); });
  downstream.once('close', () => { upstream.destroy(); onClose(); });
}
