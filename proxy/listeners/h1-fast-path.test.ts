import { createRequire } from 'node:module';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSidecar, type Sidecar } from '../sidecar.js';
import { listen, waitFor, type Running } from '../testing/harness.js';
import { parseHead } from './h1-fast-path.js';

/**
 * The downstream fast path (h1-fast-path.ts): what it takes, what it hands to Node's HTTP server,
 * and that a connection behaves the same on either. The broader behaviour (propagation, spans,
 * retries, faults, timeouts, smuggling) is pinned by the listener and sidecar tests, which run
 * through the fast path since it is on by default.
 */

interface LlhttpHead { method: string; url: string; headers: [string, string][] }
type ParserCtor = (new () => Record<number, unknown> & { initialize(t: number, r: object, max: number, lenient: number): void; execute(b: Buffer): number | Error; finish(): unknown })
  & { REQUEST: number; kLenientNone: number; kOnHeaders: number; kOnHeadersComplete: number; kOnBody: number; kOnMessageComplete: number; kOnExecute: number };
const common = createRequire(import.meta.url)('_http_common') as { HTTPParser: ParserCtor; methods: string[] };

/** The same bytes through Node's llhttp in strict mode (what Node's server runs): the first request's head, or undefined if refused. */
function llhttpHead(bytes: Buffer): LlhttpHead | undefined {
  const { HTTPParser, methods } = common;
  const p = new HTTPParser();
  p.initialize(HTTPParser.REQUEST, {}, 0, HTTPParser.kLenientNone);
  let head: LlhttpHead | undefined;
  let raw: string[] = [];
  p[HTTPParser.kOnHeaders] = (h: string[]) => { raw = raw.concat(h); };
  p[HTTPParser.kOnHeadersComplete] = (_maj: number, _min: number, h: string[] | undefined, method: number, url: string) => {
    const all = raw.concat(h ?? []);
    const headers: [string, string][] = [];
    for (let i = 0; i < all.length; i += 2) headers.push([all[i].toLowerCase(), all[i + 1]]);
    head ??= { method: methods[method], url, headers };
    return 0;
  };
  p[HTTPParser.kOnBody] = () => {};
  p[HTTPParser.kOnMessageComplete] = () => {};
  p[HTTPParser.kOnExecute] = () => {};
  // Bytes after the first head belong to the next message: only the first head is compared.
  p.execute(bytes);
  return head;
}

describe('parseHead', () => {
  const ok = (head: string) => {
    const r = parseHead(head);
    if (typeof r === 'string') throw new Error(`refused: ${r}`);
    return r;
  };

  it('takes a plain HTTP/1.1 request, headers lower-cased and trimmed', () => {
    const r = ok('POST /a?b=c HTTP/1.1\r\nHost: svc\r\nContent-Length: 12\r\nX-Thing:  v 1 \r\nConnection: keep-alive, close');
    expect(r).toMatchObject({ method: 'POST', url: '/a?b=c', contentLength: 12, close: true });
    expect({ ...r.headers }).toEqual({ host: 'svc', 'content-length': '12', 'x-thing': 'v 1', connection: 'keep-alive, close' });
    expect(ok('GET http://reviews:9080/x HTTP/1.1\r\nhost: reviews').url).toBe('http://reviews:9080/x');
  });

  it('hands over everything it does not fully understand, saying why', () => {
    expect(parseHead('GET / HTTP/1.0\r\nhost: a')).toBe('request-line');
    expect(parseHead('GET /')).toBe('request-line');
    expect(parseHead('CONNECT a:443 HTTP/1.1\r\nhost: a')).toBe('request-line');
    expect(parseHead('OPTIONS * HTTP/1.1\r\nhost: a')).toBe('request-line');
    expect(parseHead('GET /a b HTTP/1.1\r\nhost: a')).toBe('request-line');
    expect(parseHead('GET / HTTP/1.1\r\nhost: a\r\nTransfer-Encoding: chunked')).toBe('transfer-encoding');
    expect(parseHead('POST / HTTP/1.1\r\nhost: a\r\nexpect: 100-continue')).toBe('expect');
    expect(parseHead('GET / HTTP/1.1\r\nhost: a\r\nupgrade: websocket\r\nconnection: upgrade')).toBe('upgrade');
    expect(parseHead('GET / HTTP/1.1\r\nhost: a\r\nconnection: upgrade')).toBe('connection');
    expect(parseHead('GET / HTTP/1.1\r\nhost: a\r\ncontent-length: 1\r\nContent-Length: 1')).toBe('duplicate-header');
    expect(parseHead('GET / HTTP/1.1\r\nhost: a\r\ncontent-length: -1')).toBe('content-length');
    expect(parseHead('GET / HTTP/1.1\r\nhost: a\r\ncontent-length: 1,1')).toBe('content-length');
    expect(parseHead('GET / HTTP/1.1\r\nx: 1')).toBe('no-host');
    expect(parseHead('GET / HTTP/1.1\r\nhost: a\r\n folded')).toBe('header-syntax');
    expect(parseHead('GET / HTTP/1.1\r\nhost : a')).toBe('header-syntax');
    expect(parseHead('GET / HTTP/1.1\r\nhost: a\nx: 1')).toBe('header-syntax');
    expect(parseHead('GET / HTTP/1.1\r\nhost: a\r\nx: \x01')).toBe('header-syntax');
    expect(parseHead('GET / HTTP/1.1\r\nhost: caf\xe9')).toBe('header-syntax');
  });

  it('takes only heads that llhttp (strict, as Node\'s server) reads the same way', () => {
    // Mostly well-formed (so the fast path takes many), with the odd byte that must not slip through.
    const token = fc.constantFrom('x-a', 'x-b', 'accept', 'user-agent', 'Content-Length', 'content-length', 'connection', 'X-Request-Id',
      'transfer-encoding', 'expect', 'upgrade', 'host', 'x_b', 'x a', 'x:a', '', 'x\x7f', '__proto__', 'constructor');
    const valueChar = fc.constantFrom('a', 'b', '1', '0', ' ', '\t', ',', ':', '/', '=', 'chunked', 'close', 'keep-alive', '-',
      '\r', '\n', '\x00', '\x7f', '\xe9');
    const value = fc.array(valueChar, { maxLength: 6 }).map((cs) => cs.join(''));
    const sep = fc.constantFrom(': ', ': ', ':', ' : ', ':\t');
    const eol = fc.constantFrom('\r\n', '\r\n', '\r\n', '\r\n', '\n', '\r');
    const head = fc.record({
      method: fc.constantFrom('GET', 'GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE', 'get'),
      target: fc.constantFrom('/', '/a?b=c', 'http://h/x', '/x/y', '*', '/a b', '/\t', '/%00', 'x', 'https://h:1/'),
      version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 '),
      headers: fc.array(fc.tuple(token, sep, value, eol), { maxLength: 5 }),
      host: fc.constantFrom(true, true, true, false),
    }).map((h) => `${h.method} ${h.target} ${h.version}\r\n${h.host ? 'host: svc\r\n' : ''}${h.headers.map(([n, s, v, e]) => `${n}${s}${v}${e}`).join('')}\r\n`);
    let taken = 0;
    fc.assert(fc.property(head, (text) => {
      const bytes = Buffer.from(text, 'latin1');
      const end = bytes.indexOf('\r\n\r\n');
      if (end < 0) return;
      const fast = parseHead(bytes.toString('latin1', 0, end));
      if (typeof fast === 'string') return;
      taken++;
      const node = llhttpHead(bytes);
      expect(node, `llhttp refuses what the fast path took: ${JSON.stringify(text)}`).toBeDefined();
      expect(fast.method).toBe(node!.method);
      expect(fast.url).toBe(node!.url);
      expect(Object.entries(fast.headers)).toEqual(node!.headers);
    }), { numRuns: Number(process.env.FP_RUNS ?? 10_000) });
    // The property says something only if many heads were taken (about 3 % are).
    expect(taken).toBeGreaterThan(150);
  });
});

/** Sends `text` on one connection and collects what comes back until `until` matches or the socket closes. */
function exchange(port: number, parts: (string | Buffer)[], until: (got: string) => boolean, gapMs = 0): Promise<{ got: string; closed: boolean; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    let closed = false;
    const done = () => resolve({ got, closed, socket });
    socket.on('error', reject);
    socket.on('data', (c: Buffer) => { got += c.toString('latin1'); if (until(got)) done(); });
    socket.on('close', () => { closed = true; done(); });
    socket.once('connect', async () => {
      for (const p of parts) {
        socket.write(p);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}
const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

for (const fastPath of [true, false]) {
  describe(`a sidecar connection, fast path ${fastPath ? 'on' : 'off (MESHTRACE_SIDECAR_FAST_PATH=0)'}`, () => {
    let app: Running;
    let sidecar: Sidecar;
    const seen: string[] = [];

    beforeAll(async () => {
      app = await listen((req, res) => {
        const chunks: Buffer[] = [];
        if (req.url === '/early') { res.writeHead(413, { 'content-length': '5' }).end('early'); req.resume(); return; }
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          seen.push(`${req.method} ${req.url} ${Buffer.concat(chunks).length}`);
          if (req.url === '/chunked') { res.write('part1;'); setTimeout(() => res.end('part2'), 20); return; }
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(req.url!.length) }).end(req.url);
        });
      });
      const before = process.env['MESHTRACE_SIDECAR_FAST_PATH'];
      process.env['MESHTRACE_SIDECAR_FAST_PATH'] = fastPath ? '1' : '0';
      try {
        sidecar = await startSidecar({ service: 'fp', appPort: app.port, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false }, { logger: pino({ level: 'silent' }) });
      } finally {
        if (before === undefined) delete process.env['MESHTRACE_SIDECAR_FAST_PATH']; else process.env['MESHTRACE_SIDECAR_FAST_PATH'] = before;
      }
    });
    afterAll(async () => {
      await sidecar?.close({ drainMs: 100 });
      await app?.close();
    });
    const handOffs = async () => {
      const text = await sidecar.metrics.text();
      return text.split('\n').filter((l) => l.startsWith('meshtrace_proxy_fast_path_handoffs_total{'))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    };

    it('answers pipelined requests in order on one connection, then closes on Connection: close', async () => {
      const h0 = await handOffs();
      const r = await exchange(sidecar.inboundPort, [
        'GET /one HTTP/1.1\r\nhost: fp\r\n\r\nGET /two HTTP/1.1\r\nhost: fp\r\n\r\nPOST /three HTTP/1.1\r\nhost: fp\r\ncontent-length: 5\r\n\r\nhel',
        'lo',
        'GET /four HTTP/1.1\r\nhost: fp\r\nconnection: close\r\n\r\n',
      ], () => false, 20);
      expect(r.closed).toBe(true);
      const bodies = r.got.split(/HTTP\/1\.1 200 OK/).slice(1).map((s) => s.slice(s.indexOf('\r\n\r\n') + 4));
      expect(bodies).toEqual(['/one', '/two', '/three', '/four']);
      expect(seen.slice(-4)).toEqual(['GET /one 0', 'GET /two 0', 'POST /three 5', 'GET /four 0']);
      expect(count(r.got, /connection: close/gi)).toBe(1);
      expect(await handOffs()).toBe(h0);
    });

    it('frames a response of unknown length as chunked, and gives a HEAD answer no body', async () => {
      const r = await exchange(sidecar.inboundPort, ['GET /chunked HTTP/1.1\r\nhost: fp\r\n\r\n'], (g) => g.endsWith('0\r\n\r\n'));
      expect(r.got).toMatch(/transfer-encoding: chunked/i);
      expect(r.got.slice(r.got.indexOf('\r\n\r\n') + 4)).toBe('6\r\npart1;\r\n5\r\npart2\r\n0\r\n\r\n');
      r.socket.destroy();
      const head = await exchange(sidecar.inboundPort, ['HEAD /abc HTTP/1.1\r\nhost: fp\r\n\r\nGET /after HTTP/1.1\r\nhost: fp\r\n\r\n'], (g) => g.endsWith('/after'));
      const [first] = head.got.split(/(?=HTTP\/1\.1 200)/);
      expect(first).toMatch(/content-length: 4\r\n/i);
      expect(first.endsWith('\r\n\r\n')).toBe(true);
      head.socket.destroy();
    });

    it('keeps the connection after an answer that came before the request body, dropping the rest of the body', async () => {
      const body = 'x'.repeat(200_000);
      const r = await exchange(sidecar.inboundPort, [
        `POST /early HTTP/1.1\r\nhost: fp\r\ncontent-length: ${body.length}\r\n\r\n`, body.slice(0, 1000), body.slice(1000),
        'GET /next HTTP/1.1\r\nhost: fp\r\n\r\n',
      ], (g) => g.endsWith('/next'), 30);
      expect(r.got).toMatch(/^HTTP\/1\.1 413 /);
      expect(r.got).toMatch(/HTTP\/1\.1 200 OK[\s\S]*\/next$/);
      r.socket.destroy();
    });

    it('hands a connection to Node\'s server at the first request it does not take, and both are answered', async () => {
      const h0 = await handOffs();
      const r = await exchange(sidecar.inboundPort, [
        'GET /fast HTTP/1.1\r\nhost: fp\r\n\r\n',
        'POST /te HTTP/1.1\r\nhost: fp\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /node HTTP/1.1\r\nhost: fp\r\n\r\n',
      ], (g) => g.endsWith('/node'), 30);
      const bodies = r.got.split(/HTTP\/1\.1 200 OK/).slice(1).map((s) => s.slice(s.indexOf('\r\n\r\n') + 4));
      expect(bodies).toEqual(['/fast', '/te', '/node']);
      expect(seen.slice(-3)).toEqual(['GET /fast 0', 'POST /te 3', 'GET /node 0']);
      expect(await handOffs()).toBe(fastPath ? h0 + 1 : h0);
      if (fastPath) expect(await sidecar.metrics.text()).toMatch(/meshtrace_proxy_fast_path_handoffs_total\{listener="inbound",reason="transfer-encoding"\} 1/);
      r.socket.destroy();
    });

    it('serves a real HTTP client over keep-alive', async () => {
      const agentless = (path: string) => new Promise<string>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: sidecar.inboundPort, path, method: 'PUT', headers: { 'content-type': 'text/plain' } }, (res) => {
          let b = ''; res.setEncoding('utf8'); res.on('data', (c: string) => { b += c; }); res.on('end', () => resolve(b));
        });
        req.on('error', reject);
        req.end('payload');
      });
      expect(await Promise.all(['/k1', '/k2', '/k3'].map(agentless))).toEqual(['/k1', '/k2', '/k3']);
      await waitFor(() => seen.includes('PUT /k3 7'), 'the app saw the bodies');
    });
  });
}
