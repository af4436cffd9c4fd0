import type { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { FilterChain } from '../filters/chain.js';
import type { Exchange, LocalReply } from '../filters/types.js';
import type { AttemptOutcome } from '../traffic/retry.js';
import type { DownstreamRequest, DownstreamResponse } from './downstream.js';
import type { H1Controller, H1Handler, H1Pool } from './h1-pool.js';
import { endToEndHeaders } from './headers.js';

/**
 * One try of the terminal router (proxy/traffic/router.ts runs retries and faults around it):
 * sends the exchange to `ex.upstream` over a pooled keep-alive connection and streams both
 * bodies without buffering, with backpressure both ways. Plaintext upstreams go through the
 * listener's H1Pool (proxy/http/h1-pool.ts: raw sockets and Node's llhttp, about a third of
 * undici's cost per request); ISTIO_MUTUAL upstreams through their undici Agent
 * (proxy/mtls/outbound.ts). Both call the same handler (undici's dispatch-controller shape). Failure mapping (Envoy's flags):
 * - connection refused/reset before response headers → 503 `UF`;
 * - name resolution failure → 503 `UH` (no healthy upstream);
 * - no response headers within the timeout of the request's end (or, for a held body, of the
 *   dispatch) → 504 `UT`;
 * - client gone before the response completed → upstream request aborted, `DC`;
 * - upstream reset mid-body → downstream connection reset, `UR`.
 */
export interface ForwardOptions {
  /** Plaintext upstream connections (the listener's pool). */
  dispatcher: H1Pool;
  /** Longest wait for response headers after the request ended, ms, for exchanges that set no `timeoutMs`; 0 = none. */
  timeoutMs: number;
}

/** One try of an exchange, as the router (proxy/traffic/router.ts) runs it. */
export interface AttemptOptions {
  /**
   * The request body was read in full beforehand (a request that may be retried): send `body`
   * (null = none) and start the timeout at dispatch. Otherwise `req` is streamed and the timeout
   * starts when it has ended.
   */
  buffered?: { body: Buffer | null };
  /** Longest wait for response headers, ms; 0 = none. */
  timeoutMs: number;
  /**
   * Told how the try went before anything is sent downstream (response headers, or a failure
   * before them). Returning true takes the exchange back: this try aborts its upstream request and
   * writes nothing, and the caller retries or answers. Not called when the client went away.
   */
  decide?(o: AttemptOutcome): boolean;
}

/** Stops a try in flight: `timeout` answers 504 `UT` (unless `decide` takes the exchange back). */
export interface AttemptHandle { abort(reason: 'timeout'): void }

const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'EADDRNOTAVAIL']);
const RESET_FAILURES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const RESOLVE_FAILURES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL']);

class ProxyAbort extends Error {
  constructor(readonly reason: 'timeout' | 'client' | 'retry') { super(reason === 'timeout' ? 'upstream request timeout' : reason === 'client' ? 'client disconnected' : 'retrying'); }
}

function outcomeOf(err: Error): AttemptOutcome {
  if (err instanceof ProxyAbort) return { kind: 'timeout', code: 'timeout' };
  const code = (err as { code?: string }).code ?? '';
  if (RESOLVE_FAILURES.has(code)) return { kind: 'resolve', code };
  if (CONNECT_FAILURES.has(code)) return { kind: 'connect-failure', code };
  if (RESET_FAILURES.has(code) || code.startsWith('UND_ERR')) return { kind: 'reset', code };
  return { kind: 'other', code: code || err.message };
}

export function sendLocalReply(ex: Exchange, res: DownstreamResponse, chain: FilterChain, reply: LocalReply): void {
  if (reply.flag && !ex.responseFlags.includes(reply.flag)) ex.responseFlags.push(reply.flag);
  if (res.headersSent || res.destroyed) { res.destroy(); return; }
  const body = Buffer.from(reply.body);
  const headers: Record<string, string | string[]> = {
    ...reply.headers, 'content-type': 'text/plain', 'content-length': String(body.length),
  };
  chain.response(ex, headers);
  ex.status = reply.status;
  res.writeHead(reply.status, headers);
  res.end(body);
  ex.responseBytes = body.length;
}

async function* counted(req: DownstreamRequest, ex: Exchange): AsyncGenerator<Buffer> {
  for await (const chunk of req) {
    ex.requestBytes += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
}

const tlsOriginOf = (host: string, port: number): string => `https://${host.includes(':') ? `[${host}]` : host}:${port}`;

/** Errors of a TLS handshake or certificate check (Node's ERR_TLS_*, OpenSSL's ERR_SSL_* and X509 verify codes). */
const TLS_VERIFY_CODES = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|INVALID_CA|HOSTNAME_MISMATCH)/;

/**
 * Envoy's transport failure reason for an error of a connection to a TLS (ISTIO_MUTUAL) upstream
 * whose handshake or certificate check failed; undefined for any other error. Shared by the HTTP
 * router and the upgrade relay.
 */
export function tlsTransportFailure(upstreamTls: unknown, code: string, message: string): string | undefined {
  return upstreamTls && TLS_VERIFY_CODES.test(code) ? `TLS_error: ${code}: ${message}` : undefined;
}

/** Forwards the exchange once, streaming both bodies; the timeout is the exchange's (set by the route filter) or the listener's. */
export function forward(ex: Exchange, req: DownstreamRequest, res: DownstreamResponse, chain: FilterChain, o: ForwardOptions): void {
  attempt(ex, req, res, chain, o.dispatcher, { timeoutMs: ex.timeoutMs ?? o.timeoutMs });
}

/** One try to `ex.upstream`; see forward() and AttemptOptions. */
export function attempt(ex: Exchange, req: DownstreamRequest, res: DownstreamResponse, chain: FilterChain, dispatcher: H1Pool, a: AttemptOptions): AttemptHandle {
  const up = ex.upstream!;
  let controller: H1Controller | undefined;
  let pending: ProxyAbort | undefined;
  let timer: NodeJS.Timeout | undefined;
  let answered = false;
  /** decide() took the exchange back: this try must not touch `res` again. */
  let handedBack = false;
  let t0 = 0;
  let held: Buffer | undefined;
  let sawFirst = false;
  const flushHeld = () => {
    if (held && !res.destroyed) { const h = held; held = undefined; res.write(h); }
  };

  const abort = (why: ProxyAbort) => {
    if (controller) controller.abort(why);
    else pending = why;
  };
  const startTimer = () => {
    if (a.timeoutMs > 0 && !answered && !timer && !handedBack) timer = setTimeout(() => abort(new ProxyAbort('timeout')), a.timeoutMs);
  };
  const onClientClose = () => {
    if (!res.writableFinished) abort(new ProxyAbort('client'));
  };
  res.once('close', onClientClose);
  const handBack = () => {
    handedBack = true;
    if (timer) { clearTimeout(timer); timer = undefined; }
    res.off('close', onClientClose);
  };

  let body: Readable | Buffer | null = null;
  if (a.buffered) {
    body = a.buffered.body;
    ex.requestBytes = body ? body.length : 0;
    startTimer();
  } else {
    // Request body: streamed as is. Content-Length bodies are counted by their (parser-enforced)
    // length; chunked ones by a counting iterator.
    const te = req.headers['transfer-encoding'];
    const cl = req.headers['content-length'];
    if (te !== undefined) {
      body = counted(req, ex) as unknown as Readable;
      req.once('end', startTimer);
    } else if (cl !== undefined && cl !== '0') {
      body = req;
      req.once('end', () => { ex.requestBytes = Number(cl); startTimer(); });
    } else {
      startTimer();
    }
  }

  t0 = performance.now();
  const handler: H1Handler = {
    onRequestStart(c) {
      controller = c;
      if (pending) c.abort(pending);
    },
    onResponseStart(c, statusCode, headers) {
      if (statusCode < 200 || handedBack) return; // 1xx informational: not forwarded
      if (a.decide?.({ kind: 'response', status: statusCode })) {
        handBack();
        c.abort(new ProxyAbort('retry'));
        return;
      }
      answered = true;
      if (timer) { clearTimeout(timer); timer = undefined; }
      ex.upstreamServiceTimeMs = performance.now() - t0;
      ex.status = statusCode;
      const out = endToEndHeaders(headers);
      out['x-envoy-upstream-service-time'] = String(Math.round(ex.upstreamServiceTimeMs));
      chain.response(ex, out);
      if (res.destroyed) { c.abort(new ProxyAbort('client')); return; }
      res.writeHead(statusCode, out);
      // Streams (SSE, chunked) get their headers now, not with a first chunk that may come much later.
      if (out['content-length'] === undefined) res.flushHeaders();
      res.on('drain', () => c.resume());
    },
    onResponseData(c, chunk) {
      if (handedBack) return;
      ex.responseBytes += chunk.length;
      // Hold the first chunk: a small response usually ends in the same parse, and then headers,
      // body and end go out in one write. Streams get it once this parse is over (a microtask: no
      // timer object per request, and no wait for the next turn of the event loop).
      if (!sawFirst) {
        sawFirst = true;
        held = chunk;
        queueMicrotask(flushHeld);
        return;
      }
      if (held) { const prev = held; held = undefined; res.write(prev); }
      if (!res.write(chunk)) c.pause();
    },
    onResponseEnd() {
      if (handedBack) return;
      res.off('close', onClientClose);
      const last = held;
      held = undefined;
      if (last) res.end(last); else res.end();
    },
    onResponseError(_c, err) {
      if (handedBack) return;
      if (timer) { clearTimeout(timer); timer = undefined; }
      if (err instanceof ProxyAbort && err.reason === 'client') { res.off('close', onClientClose); return; } // DC is recorded on close
      const code = (err as { code?: string }).code ?? '';
      if (res.headersSent) {
        res.off('close', onClientClose);
        // Reset mid-body: the client must not mistake a truncated body for a complete one.
        if (!ex.responseFlags.includes('UR')) ex.responseFlags.push('UR');
        ex.error = code || err.message;
        res.destroy();
        return;
      }
      let outcome = outcomeOf(err);
      const tlsFailure = tlsTransportFailure(up.tls, code, err.message);
      if (tlsFailure) {
        // As Envoy: a failed TLS handshake is a connection failure, its reason reported apart.
        outcome = { kind: 'connect-failure', code };
        ex.transportFailureReason = tlsFailure;
      }
      if (a.decide?.(outcome)) { handBack(); return; }
      res.off('close', onClientClose);
      ex.error = code || err.message;
      if (ex.transportFailureReason) {
        sendLocalReply(ex, res, chain, { status: 503, body: `upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: ${ex.transportFailureReason}`, flag: 'UF' });
        return;
      }
      if (outcome.kind === 'timeout') sendLocalReply(ex, res, chain, { status: 504, body: 'upstream request timeout', flag: 'UT' });
      else if (outcome.kind === 'resolve') sendLocalReply(ex, res, chain, { status: 503, body: 'no healthy upstream', flag: 'UH' });
      else if (outcome.kind === 'connect-failure' || outcome.kind === 'reset') sendLocalReply(ex, res, chain, { status: 503, body: 'upstream connect error or disconnect/reset before headers', flag: 'UF' });
      else sendLocalReply(ex, res, chain, { status: 503, body: `upstream error: ${err.message}`, flag: 'UF' });
    },
  };
  if (up.tls) {
    // ISTIO_MUTUAL: the upstream's own mTLS client (proxy/mtls/outbound.ts).
    up.tls.dispatcher.dispatch({
      origin: tlsOriginOf(up.host, up.port),
      path: ex.path,
      method: ex.method as Dispatcher.HttpMethod,
      headers: ex.headers,
      body: body as Readable | Buffer | null,
      headersTimeout: 0,
      bodyTimeout: 0,
    }, handler as Dispatcher.DispatchHandler);
  } else {
    dispatcher.dispatch({ host: up.host, port: up.port, method: ex.method, path: ex.path, headers: ex.headers, body }, handler);
  }
  return { abort: () => abort(new ProxyAbort('timeout')) };
}
