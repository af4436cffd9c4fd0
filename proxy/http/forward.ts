import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { FilterChain } from '../filters/chain.js';
import type { Exchange, LocalReply } from '../filters/types.js';
import { endToEndHeaders } from './headers.js';

/**
 * The terminal router: sends the exchange to `ex.upstream` over a pooled keep-alive connection
 * (undici) and streams both bodies without buffering. Failure mapping (Envoy's flags):
 * - connection refused/reset before response headers → 503 `UF`;
 * - name resolution failure → 503 `UH` (no healthy upstream);
 * - no response headers within `timeoutMs` of the request's end → 504 `UT`;
 * - client gone before the response completed → upstream request aborted, `DC`;
 * - upstream reset mid-body → downstream connection reset, `UR`.
 */
export interface ForwardOptions {
  dispatcher: Dispatcher;
  /** Longest wait for response headers, ms; 0 = none. */
  timeoutMs: number;
}

const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'EADDRNOTAVAIL']);
const RESOLVE_FAILURES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL']);

export function sendLocalReply(ex: Exchange, res: ServerResponse, chain: FilterChain, reply: LocalReply): void {
  if (reply.flag && !ex.responseFlags.includes(reply.flag)) ex.responseFlags.push(reply.flag);
  if (res.headersSent || res.destroyed) { res.destroy(); return; }
  const body = Buffer.from(reply.body);
  const headers: Record<string, string | string[]> = {
    'content-type': 'text/plain', 'content-length': String(body.length), 'x-request-id': ex.requestId,
  };
  chain.response(ex, headers);
  ex.status = reply.status;
  res.writeHead(reply.status, headers);
  res.end(body);
  ex.responseBytes = body.length;
}

function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
}

async function* counted(req: IncomingMessage, ex: Exchange, onEnd: () => void): AsyncGenerator<Buffer> {
  for await (const chunk of req) {
    ex.requestBytes += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  onEnd();
}

export async function forward(ex: Exchange, req: IncomingMessage, res: ServerResponse, chain: FilterChain, o: ForwardOptions): Promise<void> {
  const up = ex.upstream!;
  const ac = new AbortController();
  let timedOut = false;
  let clientGone = false;
  const onClose = () => {
    if (!res.writableFinished) {
      clientGone = true;
      if (!ex.responseFlags.includes('DC')) ex.responseFlags.push('DC');
      ac.abort();
    }
  };
  res.once('close', onClose);
  // Envoy's route timeout: counted from the end of the downstream request, so a slow upload is not a slow upstream.
  let timer: NodeJS.Timeout | undefined;
  let answered = false;
  const startTimer = () => {
    if (o.timeoutMs > 0 && !answered) timer = setTimeout(() => { timedOut = true; ac.abort(); }, o.timeoutMs);
  };
  const withBody = hasBody(req);
  if (!withBody) startTimer();
  const t0 = performance.now();
  let r: Dispatcher.ResponseData;
  try {
    r = await o.dispatcher.request({
      origin: `http://${up.host.includes(':') ? `[${up.host}]` : up.host}:${up.port}`,
      path: ex.path,
      method: ex.method as Dispatcher.HttpMethod,
      headers: ex.headers,
      // undici streams async iterables (documented; its typings list only Readable).
      body: withBody ? (counted(req, ex, startTimer) as unknown as Readable) : null,
      signal: ac.signal,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  } catch (err) {
    answered = true;
    if (timer) clearTimeout(timer);
    if (clientGone) return;
    const code = (err as { code?: string }).code ?? '';
    ex.error = code || (err as Error).message;
    if (timedOut) sendLocalReply(ex, res, chain, { status: 504, body: 'upstream request timeout', flag: 'UT' });
    else if (RESOLVE_FAILURES.has(code)) sendLocalReply(ex, res, chain, { status: 503, body: 'no healthy upstream', flag: 'UH' });
    else if (CONNECT_FAILURES.has(code) || code.startsWith('UND_ERR')) sendLocalReply(ex, res, chain, { status: 503, body: 'upstream connect error or disconnect/reset before headers', flag: 'UF' });
    else sendLocalReply(ex, res, chain, { status: 503, body: `upstream error: ${(err as Error).message}`, flag: 'UF' });
    return;
  }
  answered = true;
  if (timer) clearTimeout(timer);
  ex.upstreamServiceTimeMs = performance.now() - t0;
  ex.status = r.statusCode;
  const headers = endToEndHeaders(r.headers);
  headers['x-envoy-upstream-service-time'] = String(Math.round(ex.upstreamServiceTimeMs));
  chain.response(ex, headers);
  if (clientGone) { r.body.destroy(); return; }
  res.writeHead(r.statusCode, headers);
  // Server-sent events and other streams: send headers now, not with the first body chunk.
  res.flushHeaders();
  r.body.on('data', (c: Buffer) => { ex.responseBytes += c.length; });
  try {
    await pipeline(r.body, res);
  } catch (err) {
    if (!clientGone) {
      if (!ex.responseFlags.includes('UR')) ex.responseFlags.push('UR');
      ex.error = (err as { code?: string }).code ?? (err as Error).message;
      res.destroy();
    }
  } finally {
    res.off('close', onClose);
  }
}
