/**
 * The listener with TLS: shutdown still ends within its grace period when a client connected and
 * never finished (or started) its handshake: a TCP socket that never became a TLS socket.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TlsSource } from '../../security/tls.js';
import { makeTestPki, type TestPki } from '../../test/helpers/tls.js';
import { createHttpListener } from './listener.js';

let dir: string;
let pki: TestPki;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtrace-listener-tls-'));
  pki = await makeTestPki(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createHttpListener with TLS', () => {
  it('shuts down within the grace period although a client never completed its handshake', async () => {
    const source = new TlsSource({ certFile: pki.server.certFile, keyFile: pki.server.keyFile }, pino({ level: 'silent' }), { pollMs: 0 });
    const listener = createHttpListener({
      host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }), shutdownGraceMs: 200,
      handler: async (_req, res) => void res.end(),
      tls: { source, mutual: false },
    });
    await listener.start();
    const silent = connect(listener.address().port, '127.0.0.1');
    const closed = new Promise((resolve) => silent.once('close', resolve));
    await new Promise((resolve) => silent.once('connect', resolve));
    const t0 = Date.now();
    await listener.shutdown();
    expect(Date.now() - t0).toBeLessThan(5_000);
    await closed;
    source.close();
  });
});
