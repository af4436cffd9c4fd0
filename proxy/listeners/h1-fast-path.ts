import { EventEmitter } from 'node:events';
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { OutHeaders } from '../filters/types.js';
import type { DownstreamRequest, DownstreamResponse } from '../http/downstream.js';

/**
 * The downstream fast path of a plaintext listener (issue 15): reads plain HTTP/1.1 requests off
 * the socket itself and writes responses itself, instead of Node's HTTP server building an
 * IncomingMessage, a ServerResponse and their streams for each one — about 40 % of what a
 * sidecar allocated per request in a profile, and ~15–20 µs of CPU.
 *
 * It takes only requests whose framing cannot be ambiguous, and gives anything else to Node's
 * HTTP server, which stays in front of everything unusual with llhttp's strict parser and the
 * listener's defences. The test is conservative on purpose: a head it does not fully understand
 * is never "fixed", it is handed over. A connection is handed over, with the unread bytes put
 * back (the mTLS sniffer does the same), at the first request that is not
 *   - `GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS <origin- or absolute-form target> HTTP/1.1`;
 *   - headers of token names and printable-ASCII values, each name once, Host present;
 *   - no Transfer-Encoding, Expect or Upgrade, Connection only `keep-alive`/`close`, a decimal
 *     Content-Length if any;
 *   - a head within 16 KiB (Node's limit, so an oversized head gets Node's 431).
 * From then on the connection stays with Node's server. TLS connections (the mTLS sniffer's) and
 * upgrades never come here.
 *
 * What Node's server does per connection is done here too: one request at a time (pipelined
 * requests wait in the buffer), a request body streamed with backpressure and drained when the
 * answer came first, `requestHeadersTimeoutMs` from a request's first byte (408, as the listener's
 * clientError answer), `idleTimeoutMs` between requests, `Date`, `Connection`/`Keep-Alive`,
 * chunked framing for a response of unknown length, no body for HEAD, 1xx, 204 and 304.
 */

/** Node's default --max-http-header-size. */
const MAX_HEAD_BYTES = 16 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const REQUEST_LINE = /^(GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS) ((?:\/|https?:\/\/)[\x21-\x7e]*) HTTP\/1\.1$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_CHARS = /^[\x20-\x7e\t]*$/;
const DECIMAL = /^\d{1,15}$/;
const DIGIT_LAST = /\d$/;
const UNSAFE_VALUE = /[\r\n\0]/;
/** The answer to a request whose headers did not arrive in time: the fast path's and Node's server's (listener.ts clientError). */
export const REQUEST_TIMEOUT_408 = 'HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: 15\r\n\r\nrequest timeout';

export interface FastPathOptions {
  /** Serves one request (the listener's request handler, the same one Node's server calls). */
  onRequest(req: DownstreamRequest, res: DownstreamResponse): void;
  /** Gives a connection to Node's HTTP server (its own `connection` listener); `reason` says why. */
  handOff(socket: Socket, reason: HandOffReason): void;
  /** From a request's first byte (or the connection's start) to the end of its head, ms; 0 = none. */
  requestHeadersTimeoutMs: number;
  /** Keep-alive idle time between requests, ms; 0 = none. */
  idleTimeoutMs: number;
}

/** Why a connection went to Node's server: what its request had that the fast path does not take. */
export type HandOffReason =
  | 'request-line' | 'header-syntax' | 'duplicate-header' | 'transfer-encoding' | 'expect' | 'upgrade'
  | 'content-length' | 'connection' | 'no-host' | 'head-size' | 'closing';

export interface ParsedHead {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  contentLength: number;
  close: boolean;
}

/** The head's fields, or why the request must go to Node's server instead (see above). */
export function parseHead(head: string): ParsedHead | HandOffReason {
  let eol = head.indexOf('\r\n');
  const m = REQUEST_LINE.exec(eol < 0 ? head : head.slice(0, eol));
  if (!m) return 'request-line';
  const headers: IncomingHttpHeaders = Object.create(null) as IncomingHttpHeaders;
  let contentLength = 0;
  let close = false;
  let host = false;
  while (eol >= 0) {
    const start = eol + 2;
    eol = head.indexOf('\r\n', start);
    // Tested in place (no match arrays): the line, its name before the first colon, the value
    // after it less optional whitespace (the line's characters are printable ASCII or HTAB, so
    // trim() removes exactly that).
    const line = eol < 0 ? head.slice(start) : head.slice(start, eol);
    const colon = line.indexOf(':');
    if (colon <= 0 || !HEADER_CHARS.test(line)) return 'header-syntax';
    const rawName = line.slice(0, colon);
    if (!TOKEN.test(rawName)) return 'header-syntax';
    const name = rawName.toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (headers[name] !== undefined) return 'duplicate-header';
    switch (name) {
      case 'transfer-encoding': case 'expect': case 'upgrade': return name;
      case 'host': host = true; break;
      case 'content-length':
        // Digits and nothing after them: llhttp (strict) refuses a trailing tab.
        if (!DECIMAL.test(value) || !DIGIT_LAST.test(line)) return 'content-length';
        contentLength = Number(value);
        break;
      case 'connection': {
        for (const t of value.split(',')) {
          const token = t.trim().toLowerCase();
          if (token === 'close') close = true;
          else if (token !== 'keep-alive' && token !== '') return 'connection';
        }
        break;
      }
    }
    headers[name] = value;
  }
  if (!host) return 'no-host';
  return { method: m[1], url: m[2], headers, contentLength, close };
}

let dateCache = '';
let dateSecond = -1;
/** The Date header value, computed at most once a second (as Node's server does). */
function httpDate(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) { dateSecond = s; dateCache = new Date(now).toUTCString(); }
  return dateCache;
}

/** A request read by the fast path: a Readable of its body, with IncomingMessage's fields. */
export class FastRequest extends Readable implements DownstreamRequest {
  readonly httpVersion = '1.1';
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor = 1;
  constructor(
    readonly method: string, readonly url: string, readonly headers: IncomingHttpHeaders,
    readonly socket: Socket, private readonly conn: FastConnection,
  ) { super(); }

  override _read(): void { this.conn.bodyWanted(); }
}

/** A response written by the fast path straight to the socket, with ServerResponse's surface. */
export class FastResponse extends EventEmitter implements DownstreamResponse {
  headersSent = false;
  destroyed = false;
  writableEnded = false;
  writableFinished = false;
  shouldKeepAlive: boolean;
  statusCode = 200;
  private head: string | undefined;
  private chunked = false;
  private noBody = false;

  constructor(private readonly conn: FastConnection, private readonly isHead: boolean, keepAlive: boolean) {
    super();
    this.shouldKeepAlive = keepAlive;
  }

  get writable(): boolean { return !this.writableEnded && !this.destroyed; }

  writeHead(status: number, headers: OutHeaders): this {
    if (this.headersSent) throw Object.assign(new Error('Cannot write headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' });
    this.statusCode = status;
    let s = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
    let length = false;
    let date = false;
    for (const k in headers) {
      const v = headers[k];
      if (v === undefined) continue;
      if (k === 'content-length') length = true;
      else if (k === 'date') date = true;
      else if (k === 'connection' || k === 'transfer-encoding' || k === 'keep-alive') continue; // framing is ours
      if (typeof v === 'string') {
        // As Node's ServerResponse: a header value cannot end the head early (response splitting).
        if (UNSAFE_VALUE.test(v)) throw Object.assign(new TypeError(`Invalid character in header content ["${k}"]`), { code: 'ERR_INVALID_CHAR' });
        s += `${k}: ${v}\r\n`;
      } else {
        for (const x of v) {
          if (UNSAFE_VALUE.test(x)) throw Object.assign(new TypeError(`Invalid character in header content ["${k}"]`), { code: 'ERR_INVALID_CHAR' });
          s += `${k}: ${x}\r\n`;
        }
      }
    }
    this.noBody = this.isHead || status === 204 || status === 304 || status < 200;
    if (!length && !this.noBody) {
      // No length: chunked, as Node's server frames it (a HEAD, 1xx, 204 or 304 answer gets neither).
      s += 'transfer-encoding: chunked\r\n';
      this.chunked = true;
    }
    if (!date) s += `date: ${httpDate()}\r\n`;
    if (!this.shouldKeepAlive || this.conn.closing) {
      this.shouldKeepAlive = false;
      s += 'connection: close\r\n\r\n';
    } else s += this.conn.keepAliveHeader;
    this.head = s;
    this.headersSent = true;
    return this;
  }

  flushHeaders(): void {
    if (!this.headersSent) this.writeHead(this.statusCode, {});
    if (this.head !== undefined && !this.destroyed) { this.conn.socket.write(this.head, 'latin1'); this.head = undefined; }
  }

  write(chunk: Buffer): boolean {
    if (this.writableEnded || this.destroyed) return false;
    if (!this.headersSent) this.writeHead(this.statusCode, {});
    const socket = this.conn.socket;
    if (this.noBody || chunk.length === 0) { this.flushHeaders(); return !socket.writableNeedDrain; }
    socket.cork();
    if (this.head !== undefined) { socket.write(this.head, 'latin1'); this.head = undefined; }
    let ok: boolean;
    if (this.chunked) {
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      ok = socket.write('\r\n', 'latin1');
    } else ok = socket.write(chunk);
    socket.uncork();
    return ok;
  }

  end(chunk?: Buffer): this {
    if (this.writableEnded || this.destroyed) return this;
    if (!this.headersSent) this.writeHead(this.statusCode, {});
    this.writableEnded = true;
    const socket = this.conn.socket;
    socket.cork();
    if (this.head !== undefined) { socket.write(this.head, 'latin1'); this.head = undefined; }
    const body = !this.noBody && chunk !== undefined && chunk.length > 0 ? chunk : undefined;
    if (this.chunked) {
      if (body) { socket.write(`${body.length.toString(16)}\r\n`, 'latin1'); socket.write(body); socket.write('\r\n0\r\n\r\n', 'latin1', this.finished); }
      else socket.write('0\r\n\r\n', 'latin1', this.finished);
    } else if (body) socket.write(body, this.finished);
    else socket.write('', 'latin1', this.finished);
    socket.uncork();
    return this;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.conn.socket.destroy();
  }

  /** The last byte reached the kernel. */
  private readonly finished = (err?: Error | null): void => {
    if (err || this.destroyed) return;
    this.writableFinished = true;
    this.emit('finish');
    this.emit('close');
    this.conn.responseDone(this);
  };

  /** The connection closed first. */
  gone(): void {
    if (this.writableFinished || this.destroyed) return;
    this.destroyed = true;
    this.emit('close');
  }
}

/** One downstream connection on the fast path. */
class FastConnection {
  /** Bytes read and not yet parsed (a partial head, or pipelined requests waiting). */
  private pending: Buffer | undefined;
  private req: FastRequest | undefined;
  private res: FastResponse | undefined;
  /** Bytes of the current request's body still to come. */
  private bodyLeft = 0;
  /** Waiting for the next request's head (as opposed to serving one). */
  private reading = true;
  /** Paused by us (body backpressure, or pipelined bytes while a response is in flight). */
  private paused = false;
  /** Between requests with nothing read yet: the next byte starts the headers timeout. */
  private idle = false;
  /** The client half-closed: no request after the one in flight. */
  private clientEnded = false;
  private headersTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** The listener is closing: no more requests on this connection. */
  closing = false;
  readonly keepAliveHeader: string;

  constructor(readonly socket: Socket, private readonly fp: H1FastPath) {
    this.keepAliveHeader = fp.o.idleTimeoutMs > 0
      ? `connection: keep-alive\r\nkeep-alive: timeout=${Math.max(1, Math.floor(fp.o.idleTimeoutMs / 1000))}\r\n\r\n`
      : 'connection: keep-alive\r\n\r\n';
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    socket.on('end', this.onEnd);
    socket.once('close', this.onClose);
    this.armHeadersTimer();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (!this.reading) {
      if (this.bodyLeft > 0) { this.feedBody(chunk); return; }
      // Pipelined: kept until the response in flight is done; bounded by pausing the socket.
      this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
      if (this.pending.length > MAX_HEAD_BYTES) this.pause();
      return;
    }
    if (this.idle) {
      this.idle = false;
      if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = undefined; }
      this.armHeadersTimer();
    }
    this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.readHead();
  };

  /** Parses the next request's head from `pending`, if complete; hands the connection over if it is not ours to take. */
  private readHead(): void {
    const buf = this.pending;
    if (!buf) return;
    const end = buf.indexOf(CRLFCRLF);
    if (end < 0) {
      if (buf.length > MAX_HEAD_BYTES) this.handOff('head-size');
      return;
    }
    const parsed = end <= MAX_HEAD_BYTES ? parseHead(buf.toString('latin1', 0, end)) : 'head-size';
    if (typeof parsed === 'string') { this.handOff(parsed); return; }
    if (this.closing) { this.handOff('closing'); return; }
    if (this.headersTimer) { clearTimeout(this.headersTimer); this.headersTimer = undefined; }
    this.reading = false;
    const rest = end + 4 < buf.length ? buf.subarray(end + 4) : undefined;
    this.pending = undefined;
    const req = new FastRequest(parsed.method, parsed.url, parsed.headers, this.socket, this);
    const res = new FastResponse(this, parsed.method === 'HEAD', !parsed.close);
    this.req = req;
    this.res = res;
    this.bodyLeft = parsed.contentLength;
    if (this.bodyLeft === 0) req.push(null);
    if (rest) {
      if (this.bodyLeft > 0) this.feedBody(rest);
      else this.pending = rest;
    }
    this.fp.o.onRequest(req, res);
  }

  private feedBody(chunk: Buffer): void {
    const req = this.req!;
    const n = Math.min(chunk.length, this.bodyLeft);
    this.bodyLeft -= n;
    const more = req.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    if (this.bodyLeft === 0) {
      req.push(null);
      if (n < chunk.length) this.pending = chunk.subarray(n);
      // The answer went out before the body was in: the request is over now.
      if (this.res?.writableFinished) this.next();
    } else if (!more) this.pause();
  }

  /** The request body's reader wants more. */
  bodyWanted(): void {
    if (this.bodyLeft > 0) this.resume();
  }

  responseDone(res: FastResponse): void {
    if (res !== this.res) return;
    if (!res.shouldKeepAlive) { this.socket.end(); return; }
    if (this.bodyLeft > 0) {
      // Answered before the request body arrived (a local reply, an early upstream answer): read
      // the rest and drop it, so the connection stays usable, as Node's server does.
      this.req!.resume();
      this.resume();
      return;
    }
    this.next();
  }

  /** The exchange is over both ways: on to the next request. */
  private next(): void {
    this.req = undefined;
    this.res = undefined;
    this.reading = true;
    if (this.closing || this.clientEnded) { this.socket.end(); return; }
    this.resume();
    if (this.pending) {
      this.armHeadersTimer();
      // Not from within the previous response's write callback.
      process.nextTick(() => { if (this.reading && !this.socket.destroyed) this.readHead(); });
    } else {
      this.idle = true;
      if (this.fp.o.idleTimeoutMs > 0) {
        this.idleTimer = setTimeout(this.onIdle, this.fp.o.idleTimeoutMs);
        this.idleTimer.unref();
      }
    }
  }

  private armHeadersTimer(): void {
    if (this.fp.o.requestHeadersTimeoutMs <= 0) return;
    if (this.headersTimer) clearTimeout(this.headersTimer);
    this.headersTimer = setTimeout(this.onHeadersTimeout, this.fp.o.requestHeadersTimeoutMs);
    this.headersTimer.unref();
  }

  private readonly onHeadersTimeout = (): void => {
    this.headersTimer = undefined;
    if (!this.reading || this.socket.destroyed) return;
    this.socket.end(REQUEST_TIMEOUT_408, 'latin1');
    this.socket.destroySoon();
  };

  private readonly onIdle = (): void => {
    this.idleTimer = undefined;
    if (this.reading && this.pending === undefined) this.socket.destroy();
  };

  /** Ends an idle connection now; a busy one after its response. */
  close(): void {
    this.closing = true;
    if (this.reading && this.pending === undefined) this.socket.destroy();
  }

  private pause(): void {
    if (!this.paused) { this.paused = true; this.socket.pause(); }
  }

  private resume(): void {
    if (this.paused) { this.paused = false; this.socket.resume(); }
  }

  private readonly onDrain = (): void => { this.res?.emit('drain'); };

  private readonly onError = (): void => { /* 'close' follows */ };

  /**
   * The client sent FIN. As Node's server (without httpAllowHalfOpen): the request in flight is
   * abandoned — the client is gone (`DC`) once the socket closes — and our side ends too.
   */
  private readonly onEnd = (): void => {
    this.clientEnded = true;
    if (this.socket.writable) this.socket.end();
  };

  private readonly onClose = (): void => {
    this.clearTimers();
    this.fp.connections.delete(this);
    const req = this.req;
    if (req && !req.readableEnded) {
      // As IncomingMessage: an 'error' only for a reader listening for one.
      if (req.listenerCount('error') > 0) req.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
      else req.destroy();
    }
    this.res?.gone();
  };

  private clearTimers(): void {
    if (this.headersTimer) { clearTimeout(this.headersTimer); this.headersTimer = undefined; }
    if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = undefined; }
  }

  /** Gives the connection, unread bytes first, to Node's HTTP server for good. */
  private handOff(reason: HandOffReason): void {
    const socket = this.socket;
    this.clearTimers();
    this.fp.connections.delete(this);
    socket.off('data', this.onData);
    socket.off('drain', this.onDrain);
    socket.off('error', this.onError);
    socket.off('end', this.onEnd);
    socket.off('close', this.onClose);
    socket.pause();
    if (this.pending) socket.unshift(this.pending);
    this.pending = undefined;
    this.fp.o.handOff(socket, reason);
    socket.resume();
  }
}

/** The fast path of one listener: `accept` takes each plaintext connection. */
export class H1FastPath {
  readonly connections = new Set<FastConnection>();
  constructor(readonly o: FastPathOptions) {}

  accept(socket: Socket): void {
    this.connections.add(new FastConnection(socket, this));
  }

  /** The listener is closing: idle connections end now, busy ones after their response. */
  closeIdle(): void {
    for (const c of this.connections) c.close();
  }
}
