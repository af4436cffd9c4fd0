import { createServer as netServer, type Server as NetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listen, type Running } from '../testing/harness.js';
import { H1Pool, type H1Request } from './h1-pool.js';

interface Result { status: number; headers: Record<string, string | string[]>; body: string; error?: Error & { code?: string } }

function send(pool: H1Pool, req: Partial<H1Request> & { port: number }): Promise<Result> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let status = 0;
    let headers: Result['headers'] = {};
    pool.dispatch({ host: '127.0.0.1', method: 'GET', path: '/', headers: {}, body: null, ...req }, {
      onResponseStart(_c, s, h) { status = s; headers = h; },
      onResponseData(_c, chunk) { chunks.push(chunk); },
      onResponseEnd() { resolve({ status, headers, body: Buffer.concat(chunks).toString() }); },
      onResponseError(_c, error) { resolve({ status, headers, body: Buffer.concat(chunks).toString(), error }); },
    });
  });
}

/** A raw TCP upstream: `onRequest` gets each connection's bytes as they come and answers by hand. */
async function rawUpstream(onData: (s: Socket, data: string) => void): Promise<{ port: number; server: NetServer; connections: number }> {
  const state = { port: 0, server: netServer(), connections: 0 };
  state.server.on('connection', (s) => { state.connections++; s.on('data', (d) => onData(s, d.toString('latin1'))); s.on('error', () => {}); });
  await new Promise<void>((r) => state.server.listen(0, '127.0.0.1', r));
  state.port = (state.server.address() as AddressInfo).port;
  return state;
}

describe('H1Pool: the plaintext upstream client', () => {
  let app: Running;
  let pool: H1Pool;
  const sockets = new Set<unknown>();
  let seen: { method?: string; url?: string; headers?: Record<string, unknown>; body?: string } = {};

  beforeAll(async () => {
    app = await listen((req, res) => {
      sockets.add(req.socket);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen = { method: req.method, url: req.url, headers: { ...req.headers }, body: Buffer.concat(chunks).toString() };
        if (req.url === '/chunked') { res.write('a'); setTimeout(() => res.end('b'), 5); return; }
        if (req.url === '/cookies') { res.setHeader('set-cookie', ['a=1', 'b=2']); res.end('c'); return; }
        if (req.url === '/many-headers') { for (let i = 0; i < 40; i++) res.setHeader(`x-h${i}`, String(i)); res.end('m'); return; }
        if (req.url === '/close') { res.setHeader('connection', 'close'); res.end('bye'); return; }
        if (req.url === '/continue') { res.writeContinue(); res.end('after 100'); return; }
        res.setHeader('content-type', 'text/plain');
        res.end(`ok ${req.method} ${req.url}`);
      });
    });
  });
  afterEach(async () => { await pool?.destroy(); sockets.clear(); });
  afterAll(async () => { await app.close(); });

  it('reuses one kept-alive connection for sequential requests and sends the endpoint as host', async () => {
    pool = new H1Pool({ connections: 4, keepAliveTimeoutMs: 4000 });
    for (let i = 0; i < 5; i++) {
      const r = await send(pool, { port: app.port, path: `/n/${i}?q=1` });
      expect(r).toMatchObject({ status: 200, body: `ok GET /n/${i}?q=1` });
      expect(r.headers['content-type']).toBe('text/plain');
    }
    expect(sockets.size).toBe(1);
    expect(seen.headers?.['host']).toBe(`127.0.0.1:${app.port}`);
  });

  it('frames bodies: Buffer with content-length, stream with its content-length, other streams chunked, empty POST with 0', async () => {
    pool = new H1Pool({ connections: 4, keepAliveTimeoutMs: 4000 });
    await send(pool, { port: app.port, method: 'POST', path: '/b', body: Buffer.from('hello') });
    expect(seen).toMatchObject({ method: 'POST', body: 'hello', headers: { 'content-length': '5' } });
    await send(pool, { port: app.port, method: 'PUT', path: '/s', headers: { 'content-length': '6' }, body: Readable.from([Buffer.from('abc'), Buffer.from('def')]) });
    expect(seen).toMatchObject({ method: 'PUT', body: 'abcdef', headers: { 'content-length': '6' } });
    expect(seen.headers?.['transfer-encoding']).toBeUndefined();
    await send(pool, { port: app.port, method: 'POST', path: '/c', body: Readable.from([Buffer.from('x'), Buffer.from('yz')]) });
    expect(seen).toMatchObject({ body: 'xyz', headers: { 'transfer-encoding': 'chunked' } });
    await send(pool, { port: app.port, method: 'POST', path: '/e' });
    expect(seen.headers?.['content-length']).toBe('0');
    expect(sockets.size).toBe(1);
  });

  it('passes chunked responses, repeated headers, more than 32 headers and skips 100 Continue', async () => {
    pool = new H1Pool({ connections: 4, keepAliveTimeoutMs: 4000 });
    expect(await send(pool, { port: app.port, path: '/chunked' })).toMatchObject({ status: 200, body: 'ab' });
    expect((await send(pool, { port: app.port, path: '/cookies' })).headers['set-cookie']).toEqual(['a=1', 'b=2']);
    const many = await send(pool, { port: app.port, path: '/many-headers' });
    expect(many.body).toBe('m');
    for (let i = 0; i < 40; i++) expect(many.headers[`x-h${i}`]).toBe(String(i));
    expect(await send(pool, { port: app.port, path: '/continue' })).toMatchObject({ status: 200, body: 'after 100' });
    expect(sockets.size).toBe(1);
    const head = await send(pool, { port: app.port, method: 'HEAD', path: '/x' });
    expect(head).toMatchObject({ status: 200, body: '' });
    // The HEAD response's announced length did not swallow the next response. (Node's server
    // frames a HEAD response by nothing, so llhttp does not keep that connection: a new one.)
    expect(await send(pool, { port: app.port, path: '/after-head' })).toMatchObject({ status: 200, body: 'ok GET /after-head' });
  });

  it('does not reuse a connection the upstream closes, and opens at most `connections`, queueing the rest', async () => {
    pool = new H1Pool({ connections: 4, keepAliveTimeoutMs: 4000 });
    expect(await send(pool, { port: app.port, path: '/close' })).toMatchObject({ status: 200, body: 'bye' });
    expect(await send(pool, { port: app.port, path: '/again' })).toMatchObject({ status: 200 });
    expect(sockets.size).toBe(2);
    await pool.destroy();
    sockets.clear();
    pool = new H1Pool({ connections: 2, keepAliveTimeoutMs: 4000 });
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) => send(pool, { port: app.port, path: `/p/${i}` })));
    expect(all.map((r) => r.body)).toEqual(Array.from({ length: 10 }, (_, i) => `ok GET /p/${i}`));
    expect(sockets.size).toBe(2);
  });

  it('reads a body delimited by the connection end; reports a close before the response as UND_ERR_SOCKET', async () => {
    pool = new H1Pool({ connections: 4, keepAliveTimeoutMs: 4000 });
    const up = await rawUpstream((s, d) => {
      if (d.startsWith('GET /eof')) s.end('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end');
      else if (d.startsWith('GET /half')) s.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort');
      else s.destroy();
    });
    try {
      expect(await send(pool, { port: up.port, path: '/eof' })).toMatchObject({ status: 200, body: 'until the end' });
      const half = await send(pool, { port: up.port, path: '/half' });
      expect(half.status).toBe(200);
      expect(half.error?.code).toBe('UND_ERR_SOCKET');
      const gone = await send(pool, { port: up.port, path: '/gone' });
      expect(gone.status).toBe(0);
      expect(gone.error?.code).toBe('UND_ERR_SOCKET');
    } finally { up.server.close(); }
  });

  it('fails with the socket\'s code when nothing listens, and with UND_ERR_SOCKET on a malformed response', async () => {
    pool = new H1Pool({ connections: 4, keepAliveTimeoutMs: 4000 });
    const closed = await rawUpstream(() => {});
    const port = closed.port;
    await new Promise((r) => closed.server.close(r));
    expect((await send(pool, { port })).error?.code).toBe('ECONNREFUSED');
    const bad = await rawUpstream((s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab'));
    try {
      expect((await send(pool, { port: bad.port })).error?.code).toBe('UND_ERR_SOCKET');
    } finally { bad.server.close(); }
  });

  it('closes idle connections after keepAliveTimeoutMs and after the upstream\'s own close', async () => {
    pool = new H1Pool({ connections: 4, keepAliveTimeoutMs: 100 });
    await send(pool, { port: app.port, path: '/1' });
    await new Promise((r) => setTimeout(r, 250));
    await send(pool, { port: app.port, path: '/2' });
    expect(sockets.size).toBe(2);
    // The upstream closes its idle side: the next request opens a new connection instead of failing.
    app.server.closeIdleConnections();
    await new Promise((r) => setTimeout(r, 50));
    expect(await send(pool, { port: app.port, path: '/3' })).toMatchObject({ status: 200 });
    expect(sockets.size).toBe(3);
  });

  it('an answer before the request body was sent completes the exchange and frees its connection slot without reusing the connection', async () => {
    // One connection allowed: the next request gets through only if the slot was given back.
    pool = new H1Pool({ connections: 1, keepAliveTimeoutMs: 4000 });
    const up = await rawUpstream((s, d) => {
      if (d.startsWith('POST /big')) s.write('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 8\r\n\r\ntoo long');
      else if (d.startsWith('GET /next')) s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    });
    try {
      // A body that never ends: only the 413 can complete this exchange.
      const body = new Readable({ read() {} });
      body.push(Buffer.alloc(1024, 1));
      const r = await send(pool, { port: up.port, method: 'POST', path: '/big', headers: { 'content-length': '1000000' }, body });
      expect(r).toMatchObject({ status: 413, body: 'too long' });
      body.push(Buffer.alloc(1024, 2));
      expect(await send(pool, { port: up.port, path: '/next' })).toMatchObject({ status: 200, body: 'ok' });
      expect(up.connections).toBe(2);
      // The rest of the client's body is read and dropped, not cut off: destroying the client's
      // request stream would reset its connection, possibly before the 413 reached it.
      await new Promise((r) => setTimeout(r, 20));
      expect(body.destroyed).toBe(false);
      expect(body.readableLength).toBe(0);
      body.destroy();
    } finally { up.server.close(); }
  });

  it('abort() ends the request with the given reason and drops its connection', async () => {
    pool = new H1Pool({ connections: 4, keepAliveTimeoutMs: 4000 });
    const up = await rawUpstream(() => {}); // never answers
    try {
      const err = await new Promise<Error>((resolve) => {
        pool.dispatch({ host: '127.0.0.1', port: up.port, method: 'GET', path: '/', headers: {}, body: null }, {
          onRequestStart(c) { setTimeout(() => c.abort(new Error('timed out')), 50); },
          onResponseError(_c, e) { resolve(e); },
        });
      });
      expect(err.message).toBe('timed out');
      await new Promise((r) => setTimeout(r, 50));
      expect(pool.live.size).toBe(0);
    } finally { up.server.close(); }
  });
});
