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
});
