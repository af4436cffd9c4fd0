import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { OutHeaders } from '../filters/types.js';

/**
 * Plain-HTTP/1.1 upstream client for the router (proxy/http/forward.ts): pooled keep-alive
 * sockets per endpoint, the request head written as one string, the response parsed by Node's own
 * llhttp binding (`HTTPParser` from `node:_http_common`, what node:http's client uses) and its
 * body handed on as the parser slices it, without streams, promises or abort signals in between.
 * It replaces undici's Agent for plaintext upstreams (ISTIO_MUTUAL upstreams keep their undici
 * Agents, proxy/mtls/outbound.ts) and takes undici's dispatch handler (`onRequestStart`,
 * `onResponseStart`, `onResponseData`, `onResponseEnd`, `onResponseError`), so the router's one
 * handler serves both. One request per connection at a time (no pipelining, as before).
 *
 * What it keeps from undici's behaviour, because the router and its tests depend on it:
 * - errors carry the same codes: `ECONNREFUSED`/`ENOTFOUND`… from the socket, `UND_ERR_SOCKET`
 *   ("other side closed") when the upstream closes before the response completed,
 *   `UND_ERR_CONNECT_TIMEOUT` after 10 s without a connection;
 * - framing: a Buffer body gets `content-length`, a stream with a `content-length` header is
 *   sent as is, any other stream chunked; POST/PUT/PATCH without a body send `content-length: 0`;
 *   a missing `host` header is the endpoint's `host:port`;
 * - 1xx responses (other than 101) are skipped; HEAD responses have no body;
 * - an idle connection is closed after `keepAliveTimeoutMs`, or 1 s before the upstream's own
 *   `Keep-Alive: timeout=` hint when that is sooner; at most `connections` per endpoint, further
 *   requests wait in order for one to be free.
 * A connection is reused only after a complete response to a completely sent request that both
 * sides allow to be kept alive; anything else (abort, error, early response) destroys it.
 */

type Headers = Record<string, string | string[]>;

/** What the router's handler receives: undici's DispatchController, reduced to what it calls. */
export interface H1Controller {
  abort(reason: Error): void;
  pause(): void;
  resume(): void;
}

/** undici's DispatchHandler (the controller API), the part this client calls. */
export interface H1Handler {
  onRequestStart?(controller: H1Controller, context: unknown): void;
  onResponseStart?(controller: H1Controller, statusCode: number, headers: Headers, statusMessage?: string): void;
  onResponseData?(controller: H1Controller, chunk: Buffer): void;
  onResponseEnd?(controller: H1Controller, trailers: Headers): void;
  onResponseError?(controller: H1Controller, err: Error): void;
}

export interface H1Request {
  host: string;
  port: number;
  method: string;
  /** Origin-form target (path and query). */
  path: string;
  /** End-to-end headers (no hop-by-hop ones), lowercase names. */
  headers: OutHeaders;
  /** Whole body, a stream (IncomingMessage) or an async iterable of Buffers; null = none. */
  body: Buffer | Readable | AsyncIterable<Buffer> | null;
}

export interface H1PoolOptions {
  /** Most connections per endpoint (config `maxConnectionsPerUpstream`). */
  connections: number;
  /** Longest a connection stays idle in the pool, ms. */
  keepAliveTimeoutMs: number;
  /** Longest wait for a new connection, ms (undici's default 10 s). */
  connectTimeoutMs?: number;
}

interface ParserCtor {
  new(): Parser;
  REQUEST: number; RESPONSE: number;
  kOnHeaders: number; kOnHeadersComplete: number; kOnBody: number; kOnMessageComplete: number; kOnExecute: number;
  kLenientNone: number;
}
interface Parser {
  initialize(type: number, resource: object, maxHeaderSize?: number, lenient?: number, headersTimeout?: number): void;
  execute(data: Buffer): number | Error;
  finish(): number | Error | undefined;
  close(): void;
  free(): void;
  remove(): void;
  [k: number]: unknown;
}

// Node's own llhttp binding, as node:http's client uses it; present on Node 20 and 22
// (`_http_common` is a documented-legacy module; its HTTPParser is what `http.request` runs on).
const { HTTPParser } = createRequire(import.meta.url)('_http_common') as { HTTPParser: ParserCtor };
const kOnHeaders = HTTPParser.kOnHeaders;
const kOnHeadersComplete = HTTPParser.kOnHeadersComplete;
const kOnBody = HTTPParser.kOnBody;
const kOnMessageComplete = HTTPParser.kOnMessageComplete;
const kOnExecute = HTTPParser.kOnExecute;

const EXPECTS_PAYLOAD = new Set(['POST', 'PUT', 'PATCH']);
const KEEP_ALIVE_HINT = /timeout=(\d+)/i;

class SocketError extends Error {
  constructor(message: string, readonly code: string) { super(message); this.name = 'SocketError'; }
}

/** One upstream connection and its parser; serves one exchange at a time. */
class Conn {
  readonly parser: Parser;
  ex: Exchange1 | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  /** Idle timeout the upstream announced (`Keep-Alive: timeout=`), ms; 0 = none. */
  hintMs = 0;
  connected = false;
  dead = false;
  private rawHeaders: string[] = [];

  constructor(readonly ep: Endpoint, readonly socket: Socket) {
    const p = new HTTPParser();
    p.initialize(HTTPParser.RESPONSE, {}, 0, HTTPParser.kLenientNone);
    p[kOnHeaders] = (headers: string[]) => { for (const h of headers) this.rawHeaders.push(h); };
    p[kOnHeadersComplete] = (_maj: number, _min: number, headers: string[] | undefined, _m: number, _u: string, status: number, statusMessage: string, upgrade: boolean, keepAlive: boolean) =>
      this.onHeaders(headers ?? this.takeRaw(), status, statusMessage, upgrade, keepAlive);
    p[kOnBody] = (b: Buffer) => { this.ex?.onBody(b); };
    p[kOnMessageComplete] = () => { this.onComplete(); };
    p[kOnExecute] = () => {};
    this.parser = p;
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  private takeRaw(): string[] { const h = this.rawHeaders; this.rawHeaders = []; return h; }

  private onHeaders(raw: string[], status: number, statusMessage: string, upgrade: boolean, keepAlive: boolean): number {
    if (this.rawHeaders.length) raw = [...this.takeRaw(), ...raw];
    const ex = this.ex;
    if (!ex) { this.kill(); return 0; }
    if (status < 200) {
      if (status === 101 || upgrade) { ex.fail(new SocketError('unexpected upgrade response', 'UND_ERR_SOCKET')); return 0; }
      return 0; // 1xx informational: skipped, the parser goes on to the final response
    }
    const headers: Headers = {};
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i].toLowerCase();
      const v = raw[i + 1];
      const prev = headers[k];
      if (prev === undefined) headers[k] = v;
      else if (Array.isArray(prev)) prev.push(v);
      else headers[k] = [prev, v];
    }
    ex.keepAlive = keepAlive;
    const ka = headers['keep-alive'];
    if (typeof ka === 'string') { const m = KEEP_ALIVE_HINT.exec(ka); if (m) this.hintMs = Number(m[1]) * 1000; }
    ex.onStart(status, headers, statusMessage);
    return ex.method === 'HEAD' ? 1 : 0;
  }

  private onComplete(): void {
    const ex = this.ex;
    if (!ex || ex.status < 200) return; // the end of a 1xx message
    ex.onEnd();
  }

  private readonly onData = (chunk: Buffer) => {
    const r = this.parser.execute(chunk);
    if (r instanceof Error) {
      const ex = this.ex;
      this.kill();
      ex?.fail(new SocketError(`invalid response from upstream: ${r.message}`, 'UND_ERR_SOCKET'));
    }
  };

  private readonly onEnd = () => {
    // A body delimited by the connection's end completes here.
    if (this.ex) this.parser.finish();
    this.socket.end();
  };

  private readonly onError = (err: Error) => {
    const ex = this.ex;
    this.kill();
    ex?.fail(err);
  };

  private readonly onClose = () => {
    const ex = this.ex;
    this.kill();
    ex?.fail(new SocketError('other side closed', 'UND_ERR_SOCKET'));
  };

  /** Takes the connection out of service for good. */
  kill(): void {
    if (this.dead) return;
    this.dead = true;
    if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = undefined; }
    this.socket.destroy();
    this.ep.forget(this);
    // The parser may be mid-callback (execute): free it once the stack has unwound.
    const p = this.parser;
    setImmediate(() => { p.close(); });
  }
}

/** A request in flight on one connection; also its controller. */
class Exchange1 implements H1Controller {
  conn: Conn | undefined;
  status = 0;
  keepAlive = false;
  /** The request was written completely (body included). */
  sent = false;
  finished = false;
  private paused = false;

  constructor(readonly pool: H1Pool, readonly req: H1Request, readonly handler: H1Handler) {}

  get method(): string { return this.req.method; }

  // Controller
  abort(reason: Error): void {
    if (this.finished) return;
    const c = this.conn;
    if (c) { c.ex = undefined; c.kill(); } else this.pool.unqueue(this);
    this.fail(reason);
  }
  pause(): void { if (!this.paused) { this.paused = true; this.conn?.socket.pause(); } }
  resume(): void { if (this.paused) { this.paused = false; this.conn?.socket.resume(); } }

  /** Runs on `conn` (connected). */
  start(conn: Conn): void {
    this.conn = conn;
    conn.ex = this;
    const { req } = this;
    const h = req.headers;
    let head = `${req.method} ${req.path} HTTP/1.1\r\n`;
    let hasHost = false;
    let hasLength = false;
    for (const k in h) {
      const v = h[k];
      if (k === 'host') hasHost = true;
      else if (k === 'content-length') hasLength = true;
      if (typeof v === 'string') head += `${k}: ${v}\r\n`;
      else for (let i = 0; i < v.length; i++) head += `${k}: ${v[i]}\r\n`;
    }
    if (!hasHost) head += `host: ${conn.ep.authority}\r\n`;
    const body = req.body;
    const s = conn.socket;
    if (body === null) {
      if (!hasLength && EXPECTS_PAYLOAD.has(req.method)) head += 'content-length: 0\r\n';
      s.write(`${head}\r\n`, 'latin1');
      this.sent = true;
    } else if (Buffer.isBuffer(body)) {
      if (!hasLength) head += `content-length: ${body.length}\r\n`;
      s.cork();
      s.write(`${head}\r\n`, 'latin1');
      if (body.length) s.write(body);
      s.uncork();
      this.sent = true;
    } else {
      const chunked = !hasLength;
      s.write(chunked ? `${head}transfer-encoding: chunked\r\n\r\n` : `${head}\r\n`, 'latin1');
      void this.pump(body, chunked ? -1 : Number(h['content-length']), conn);
    }
  }

  /**
   * Streams the request body with backpressure both ways. Once the exchange is over (an early
   * answer, an abort, a dead connection) the rest of the body is read and dropped rather than the
   * loop left: leaving it would destroy the client's request stream, and with it the client's
   * connection, possibly before the answer reached it (Node's server drains a request body the
   * same way once its response is done).
   */
  private async pump(body: Readable | AsyncIterable<Buffer>, length: number, conn: Conn): Promise<void> {
    const s = conn.socket;
    const chunked = length < 0;
    // Bytes of a Content-Length body still to send: the request counts as sent at its last byte,
    // not when the stream's end is seen a turn later, by which time the response may be complete.
    let left = length;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (conn.ex !== this || conn.dead) continue;
        if (!chunk.length) continue;
        let ok: boolean;
        if (chunked) {
          s.cork();
          s.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
          s.write(chunk);
          ok = s.write('\r\n', 'latin1');
          s.uncork();
        } else {
          ok = s.write(chunk);
          left -= chunk.length;
          if (left <= 0) this.sent = true;
        }
        if (!ok) await new Promise<void>((r) => { const done = () => { s.off('drain', done); s.off('close', done); r(); }; s.on('drain', done); s.on('close', done); });
      }
      if (conn.ex !== this || conn.dead) return;
      if (chunked) s.write('0\r\n\r\n', 'latin1');
      this.sent = true;
    } catch (err) {
      // The client's body failed (it went away): the upstream request cannot be completed.
      if (conn.ex === this) this.abort(err as Error);
    }
  }

  onStart(status: number, headers: Headers, statusMessage: string): void {
    this.status = status;
    this.handler.onResponseStart?.(this, status, headers, statusMessage);
  }

  onBody(chunk: Buffer): void {
    if (!this.finished) this.handler.onResponseData?.(this, chunk);
  }

  onEnd(): void {
    if (this.finished) return;
    this.finished = true;
    const c = this.conn!;
    c.ex = undefined;
    if (this.paused) c.socket.resume();
    // A request whose body is still being sent (an early answer) leaves the connection unusable.
    if (this.sent && this.keepAlive) this.pool.release(c);
    else c.kill();
    this.handler.onResponseEnd?.(this, {});
  }

  fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.handler.onResponseError?.(this, err);
  }
}

class Endpoint {
  readonly idle: Conn[] = [];
  readonly queue: Exchange1[] = [];
  /** Connections open or opening. */
  count = 0;
  readonly authority: string;

  constructor(readonly pool: H1Pool, readonly key: string, readonly host: string, readonly port: number) {
    this.authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  forget(c: Conn): void {
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    this.count--;
    this.pool.live.delete(c);
    // A slot is free: a waiting request may open a connection.
    const next = this.queue.shift();
    if (next) this.open(next);
  }

  open(ex: Exchange1): void {
    this.count++;
    const socket = connect({ host: this.host, port: this.port });
    const c = new Conn(this, socket);
    this.pool.live.add(c);
    c.ex = ex;
    ex.conn = c;
    const timer = setTimeout(() => {
      const e = c.ex;
      c.kill();
      e?.fail(new SocketError('connect timeout', 'UND_ERR_CONNECT_TIMEOUT'));
    }, this.pool.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      c.connected = true;
      if (c.ex === ex && !ex.finished) ex.start(c);
      else this.pool.release(c);
    });
    socket.once('close', () => clearTimeout(timer));
  }
}

export class H1Pool {
  private readonly endpoints = new Map<string, Endpoint>();
  readonly connectTimeoutMs: number;
  private closed = false;

  constructor(private readonly o: H1PoolOptions) {
    this.connectTimeoutMs = o.connectTimeoutMs ?? 10_000;
  }

  /** Starts a request; its outcome reaches `handler` (see H1Handler), asynchronously. */
  dispatch(req: H1Request, handler: H1Handler): void {
    const ex = new Exchange1(this, req, handler);
    handler.onRequestStart?.(ex, {});
    if (ex.finished) return; // aborted in onRequestStart
    if (this.closed) { ex.fail(new SocketError('the pool is closed', 'UND_ERR_CLOSED')); return; }
    const key = `${req.host}:${req.port}`;
    let ep = this.endpoints.get(key);
    if (!ep) { ep = new Endpoint(this, key, req.host, req.port); this.endpoints.set(key, ep); }
    // Most recently used first: its keep-alive is the freshest.
    const c = ep.idle.pop();
    if (c) {
      if (c.idleTimer) { clearTimeout(c.idleTimer); c.idleTimer = undefined; }
      ex.start(c);
      return;
    }
    if (ep.count < this.o.connections) ep.open(ex);
    else ep.queue.push(ex);
  }

  /** Back to the pool (or straight to a waiting request). */
  release(c: Conn): void {
    if (c.dead) return;
    const ep = c.ep;
    const next = ep.queue.shift();
    if (next) { next.start(c); return; }
    if (this.closed) { c.kill(); return; }
    const ms = c.hintMs > 0 ? Math.min(this.o.keepAliveTimeoutMs, c.hintMs - 1000) : this.o.keepAliveTimeoutMs;
    if (ms <= 0) { c.kill(); return; }
    c.idleTimer = setTimeout(() => c.kill(), ms);
    c.idleTimer.unref();
    ep.idle.push(c);
  }

  unqueue(ex: Exchange1): void {
    for (const ep of this.endpoints.values()) {
      const i = ep.queue.indexOf(ex);
      if (i >= 0) { ep.queue.splice(i, 1); return; }
    }
  }

  /** Closes idle connections now and the others as their requests end. */
  async close(): Promise<void> {
    this.closed = true;
    for (const ep of this.endpoints.values()) for (const c of [...ep.idle]) c.kill();
  }

  /** Ends every connection now; requests in flight fail. */
  async destroy(): Promise<void> {
    this.closed = true;
    for (const ep of this.endpoints.values()) {
      for (const ex of ep.queue.splice(0)) ex.fail(new SocketError('the pool is destroyed', 'UND_ERR_DESTROYED'));
    }
    for (const c of [...this.live]) {
      const ex = c.ex;
      c.kill();
      ex?.fail(new SocketError('the pool is destroyed', 'UND_ERR_DESTROYED'));
    }
  }

  /** Every connection open or opening (idle or busy), for destroy(). */
  readonly live = new Set<Conn>();
}
