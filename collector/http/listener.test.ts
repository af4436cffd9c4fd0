import http from 'node:http';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createHttpListener } from './listener.js';
import { readBody } from './read-body.js';

describe('createHttpListener', () => {
  it('cuts off a client that is still uploading once the shutdown grace period is over', async () => {
    let bodyResult = '';
    let handlerStarted!: () => void;
    const started = new Promise<void>((r) => (handlerStarted = r));
    const listener = createHttpListener({
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
      shutdownGraceMs: 50,
      handler: async (req, res) => {
        handlerStarted();
        try {
          await readBody(req, { maxBytes: 1e6, coding: 'identity' });
          bodyResult = 'complete';
          res.end();
        } catch (err) {
          bodyResult = (err as Error).name;
          res.destroy();
        }
      },
    });
    await listener.start();
    const { port } = listener.address();
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'content-length': '1000' } });
    const clientDone = new Promise((resolve) => {
      req.on('error', resolve);
      req.on('response', resolve);
    });
    req.write('partial');
    await started;
    await listener.shutdown();
    await clientDone;
    expect(bodyResult).toBe('RequestAbortedError');
  });

  it('answers every request it received during shutdown: keep-alive clients sending back to back see no reset', async () => {
    const listener = createHttpListener({
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
      handler: async (req, res) => {
        await readBody(req, { maxBytes: 1e6, coding: 'identity' });
        await new Promise((r) => setTimeout(r, 1 + Math.random() * 3));
        res.end('ok');
      },
    });
    await listener.start();
    const { port } = listener.address();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    const outcomes = new Map<string, number>();
    const send = () =>
      new Promise<string>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent, headers: { 'content-length': '5' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(String(res.statusCode)));
        });
        req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        req.end('hello');
      });
    // Each client sends its next request the moment the last one is answered, on the same
    // keep-alive connection, until the server refuses to connect.
    const client = async () => {
      for (let i = 0; i < 10_000; i++) {
        const outcome = await send();
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if (outcome === 'ECONNREFUSED') return;
      }
    };
    const clients = Array.from({ length: 16 }, client);
    await new Promise((r) => setTimeout(r, 300));
    await listener.shutdown();
    await Promise.all(clients);
    agent.destroy();
    const resets = [...outcomes].filter(([o]) => o !== '200' && o !== 'ECONNREFUSED');
    expect(resets).toEqual([]);
    expect(outcomes.get('200')).toBeGreaterThan(16);
    expect(outcomes.get('ECONNREFUSED')).toBe(16);
  });
});
