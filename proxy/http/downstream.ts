import type { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { OutHeaders } from '../filters/types.js';

/**
 * The downstream request and response as the listener, the filters, the router and forward.ts
 * use them: the part of Node's IncomingMessage / ServerResponse they touch. Node's own objects
 * (requests Node's HTTP server parsed) and the fast path's (proxy/listeners/h1-fast-path.ts) both
 * satisfy it, so every feature runs on either.
 */
export interface DownstreamRequest extends Readable {
  readonly method?: string;
  readonly url?: string;
  readonly headers: IncomingHttpHeaders;
  readonly httpVersion: string;
  readonly httpVersionMajor: number;
  readonly socket: Socket;
}

export interface DownstreamResponse extends EventEmitter {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  readonly writableFinished: boolean;
  readonly writable: boolean;
  /** false: the connection closes after this response. */
  shouldKeepAlive: boolean;
  writeHead(status: number, headers: OutHeaders): this;
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer): this;
  flushHeaders(): void;
  destroy(): void;
}
