import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { decodeOtlpProtobuf } from '../../collector/otlp/decode-protobuf.js';
import type { Span } from '../../model/span.js';

/** Test helpers: real servers on 127.0.0.1:0. */

export interface Running { port: number; url: string; server: Server; close(): Promise<void> }

export async function listen(handler: RequestListener): Promise<Running> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port, url: `http://127.0.0.1:${port}`, server,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** An OTLP/HTTP protobuf receiver decoding with the collector's decoder. `status` answers every export. */
export async function startOtlpSink(): Promise<Running & { spans: Span[]; requests: number; status: number }> {
  const sink = { spans: [] as Span[], requests: 0, status: 200 };
  const r = await listen((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      sink.requests++;
      if (req.url === '/v1/traces' && sink.status === 200) sink.spans.push(...decodeOtlpProtobuf(Buffer.concat(chunks)).spans);
      res.writeHead(sink.status, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  return Object.assign(sink, r);
}

/** Polls `check` until it returns a value (not undefined/false); throws after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A pino destination collecting JSON lines. */
export function lineCollector(): Writable & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      buf += chunk.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      cb();
    },
  });
  return Object.assign(w, { lines });
}

export function attr(span: Span, key: string): unknown {
  return span.attributes.find((a) => a.key === key)?.value;
}

/** Reads the request body fully. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export interface Reply { status: number; headers: IncomingHttpHeaders; body: string }

/** A plain HTTP/1.1 request on a fresh connection; unlike fetch it may set Host and use absolute-form targets. */
export function send(port: number, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
