import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { startSidecar, type Sidecar } from '../sidecar.js';
import { SpanKind, StatusCode } from '../../model/span.js';
import { attr, lineCollector, listen, send, startOtlpSink, waitFor, type Running } from '../testing/harness.js';

const MiB = 1024 * 1024;

/** Deterministic pseudo-random bytes, generated lazily so the test never holds the whole body. */
function bodyStream(bytes: number): Readable {
  let sent = 0;
  let n = 0;
  return new Readable({
    read() {
      if (sent >= bytes) { this.push(null); return; }
      const size = Math.min(64 * 1024, bytes - sent);
      const chunk = Buffer.alloc(size, n++ % 251);
      sent += size;
      this.push(chunk);
    },
  });
}

function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    let out = '';
    s.on('data', (c) => { out += c.toString(); });
    s.on('end', () => resolve(out));
    s.on('close', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy());
  });
}

describe('sidecar: HTTP correctness', () => {
  let app: Running;
  let sidecar: Sidecar;
  let wss: WebSocketServer;
  const log = lineCollector();
  let appSawAbort = false;
  let appSeenHeaders: Record<string, unknown> = {};

  beforeAll(async () => {
    app = await listen((req, res) => {
      appSeenHeaders = { ...req.headers };
      if (req.url === '/upload') {
        const h = createHash('sha256');
        let n = 0;
        req.on('data', (c: Buffer) => { h.update(c); n += c.length; });
        req.on('end', () => res.end(JSON.stringify({ bytes: n, sha256: h.digest('hex') })));
      } else if (req.url?.startsWith('/download/')) {
        const size = Number(req.url.split('/')[2]);
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        bodyStream(size).pipe(res);
      } else if (req.url === '/sse') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('data: first\n\n');
        // The second event is sent only when the client says it got the first: proof of streaming.
        app.server.once('second', () => {
          res.write('data: second\n\n');
          app.server.once('third', () => res.end('data: third\n\n'));
        });
      } else if (req.url === '/hang') {
        res.on('close', () => { appSawAbort = !res.writableFinished; });
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 1500).unref();
      } else {
        res.end('ok');
      }
    });
    wss = new WebSocketServer({ server: app.server });
    wss.on('connection', (ws, req) => {
      ws.send(`hello ${String(req.headers['traceparent']).slice(0, 2)}`);
      ws.on('message', (m) => ws.send(`echo:${m.toString()}`));
    });
    sidecar = await startSidecar({ service: 'web', appPort: app.port, inboundPort: 0, outboundPort: 0, adminPort: 0, timeoutMs: 500 }, { accessLog: log });
  });
  afterAll(async () => {
    await sidecar?.close({ drainMs: 100 });
    wss?.close();
    await app?.close();
  });

  const url = (p: string) => `http://127.0.0.1:${sidecar.inboundPort}${p}`;

  it('streams a large chunked upload to the app unchanged', async () => {
    const size = 24 * MiB + 123;
    const expected = createHash('sha256');
    await new Promise<void>((resolve) => { bodyStream(size).on('data', (c: Buffer) => expected.update(c)).on('end', resolve); });
    const res = await fetch(url('/upload'), { method: 'POST', body: Readable.toWeb(bodyStream(size)) as ReadableStream, duplex: 'half' } as RequestInit);
    expect(await res.json()).toEqual({ bytes: size, sha256: expected.digest('hex') });
    const line = await waitFor(() => log.lines.find((l) => l['path'] === '/upload'), 'upload log line');
    expect(line['bytes_received']).toBe(size);
  });

  it('streams a large download', async () => {
    const size = 32 * MiB;
    const res = await fetch(url(`/download/${size}`));
    let n = 0;
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) n += c.length;
    expect(n).toBe(size);
  });

  it('passes server-sent events through as they are written', async () => {
    const res = await fetch(url('/sse'));
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = '';
    while (!text.includes('first')) text += dec.decode((await reader.read()).value);
    // The app writes each next event only once the previous one arrived: had the proxy buffered
    // anything, this would never finish.
    app.server.emit('second');
    while (!text.includes('second')) text += dec.decode((await reader.read()).value);
    app.server.emit('third');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
    expect(text).toBe('data: first\n\ndata: second\n\ndata: third\n\n');
  });

  it('passes WebSocket upgrades through, with trace context on the handshake', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${sidecar.inboundPort}/ws`);
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (m) => {
        messages.push(m.toString());
        if (messages.length === 1) ws.send('ping');
        else { ws.close(); resolve(); }
      });
      ws.on('error', reject);
    });
    expect(messages).toEqual(['hello 00', 'echo:ping']);
    expect(await waitFor(() => ws.readyState === WebSocket.CLOSED, 'the socket to close')).toBe(true);
    const line = await waitFor(() => log.lines.find((l) => l['path'] === '/ws'), 'websocket log line');
    expect(line['response_code']).toBe(101);
  });

  it('removes hop-by-hop request headers, including those named by Connection', async () => {
    const reply = await rawRequest(sidecar.inboundPort, 'GET /hop HTTP/1.1\r\nHost: x\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic Zm9v\r\nX-Kept: 1\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 200/);
    expect(appSeenHeaders).toMatchObject({ 'x-kept': '1' });
    for (const h of ['x-secret', 'keep-alive', 'te', 'proxy-authorization']) expect(appSeenHeaders[h]).toBeUndefined();
  });

  it('rejects a request with both Content-Length and Transfer-Encoding (no smuggling)', async () => {
    const reply = await rawRequest(sidecar.inboundPort, 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect(reply).not.toMatch(/HTTP\/1\.1 200/);
  });

  it('cancels the upstream request when the client disconnects', async () => {
    appSawAbort = false;
    const req = httpRequest({ host: '127.0.0.1', port: sidecar.inboundPort, path: '/hang', agent: false });
    req.on('error', () => {});
    req.end();
    await waitFor(() => sidecar.metrics.text().then((t) => /meshtrace_proxy_active_requests\{listener="inbound"\} 1/.test(t)), 'request in flight');
    req.destroy();
    await waitFor(() => appSawAbort, 'the app to see the request aborted');
    const line = await waitFor(() => log.lines.find((l) => l['path'] === '/hang'), 'hang log line');
    expect(line['response_flags']).toBe('DC');
  });

  it('answers 504 UT when the app is slower than the timeout', async () => {
    const res = await fetch(url('/slow'));
    expect(res.status).toBe(504);
    expect(await res.text()).toBe('upstream request timeout');
    const line = await waitFor(() => log.lines.find((l) => l['path'] === '/slow'), 'slow log line');
    expect(line).toMatchObject({ response_code: 504, response_flags: 'UT' });
  });
});

describe('sidecar: upstream down', () => {
  it('answers 503 UF when the app refuses connections, and marks the span an error', async () => {
    const gone = await listen(() => {});
    await gone.close();
    const log = lineCollector();
    const sink = await startOtlpSink();
    const sc = await startSidecar({ service: 'down', appPort: gone.port, inboundPort: 0, outboundPort: 0, adminPort: 0, collector: sink.url, upstreams: { dead: `127.0.0.1:${gone.port}` }, export: { flushIntervalMs: 20, maxQueueSpans: 10, maxBatchSpans: 10, timeoutMs: 2000 } }, { accessLog: log });
    try {
      const r = await fetch(`http://127.0.0.1:${sc.inboundPort}/x`);
      expect(r.status).toBe(503);
      expect(await r.text()).toBe('upstream connect error or disconnect/reset before headers');
      const out = await send(sc.outboundPort, '/y', { host: 'dead' });
      expect(out.status).toBe(503);
      await waitFor(() => log.lines.length === 2, 'two log lines');
      expect(log.lines.map((l) => [l['direction'], l['response_code'], l['response_flags']])).toEqual([['inbound', 503, 'UF'], ['outbound', 503, 'UF']]);
      expect(await sc.metrics.text()).toMatch(/istio_requests_total\{reporter="destination",.*response_code="503",response_flags="UF".*\} 1/);
      await sc.flushSpans();
      const spans = await waitFor(() => sink.spans.length === 2 && sink.spans, 'two spans');
      for (const span of spans) {
        expect(span.status.code).toBe(StatusCode.ERROR);
        expect(attr(span, 'response_flags')).toBe('UF');
        expect(attr(span, 'error.type')).toBe('ECONNREFUSED');
      }
      expect(spans.map((x) => x.kind).sort()).toEqual([SpanKind.SERVER, SpanKind.CLIENT].sort());
    } finally {
      await sc.close({ drainMs: 50 });
      await sink.close();
    }
  });
});

describe('sidecar: shutdown', () => {
  it('turns /ready to 503 while draining and ends open WebSocket sessions after the drain period', async () => {
    const app = await listen((_req, res) => res.end('ok'));
    const wss = new WebSocketServer({ server: app.server });
    const sc = await startSidecar({ service: 'drain', appPort: app.port, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${sc.inboundPort}/ws`);
      await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      const closing = sc.close({ drainMs: 200 });
      const ready = await send(sc.adminPort, '/ready');
      expect(ready).toMatchObject({ status: 503, body: 'DRAINING\n' });
      await closing;
      await closed;
    } finally {
      await sc.close();
      wss.close();
      await app.close();
    }
  });
});
