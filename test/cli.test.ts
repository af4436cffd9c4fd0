/**
 * The CLI contract: `--help` on every verb, config validated with the field named, SIGTERM drains
 * and exits cleanly.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reservePorts } from '../demo/ports.js';
import { CLI, runCli, startCli, waitForExit } from './helpers/process.js';
import { getJson } from './helpers/server.js';

describe('meshtrace CLI', () => {
  it('prints help for the program and for all-in-one', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('all-in-one');
    const verb = await runCli(['all-in-one', '--help']);
    expect(verb.code).toBe(0);
    for (const flag of ['--data-dir', '--otlp-http-port', '--query-port', '--retention', '--max-body-size', '--queue-size', '--log-level', '--cors-origins', 'MESHTRACE_RETENTION']) {
      expect(verb.stdout).toContain(flag);
    }
    // Defaults are shown, and an empty default says so.
    expect(verb.stdout).toMatch(/--query-port <port>\s+query API and UI port \(0 = any free port\) \(default: 16686\)/);
    expect(verb.stdout).toMatch(/--retention <retention>.*\(default: 72h\)/);
    expect(verb.stdout).toMatch(/--cors-origins <origins>.*\(default: none\)/);
  });

  it('rejects invalid configuration, naming every bad field, from flags and env', async () => {
    const r = await runCli(['all-in-one', '--query-port', '99999', '--retention', 'forever'], { MESHTRACE_MAX_BODY_SIZE: 'huge' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--query-port');
    expect(r.stderr).toContain('--retention');
    expect(r.stderr).toContain('--max-body-size (MESHTRACE_MAX_BODY_SIZE)');
  });

  it('starts from env vars and shuts down cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtrace-cli-'));
    try {
      const run = await startCli(['all-in-one'], { MESHTRACE_DATA_DIR: dataDir, MESHTRACE_HOST: '127.0.0.1', MESHTRACE_OTLP_HTTP_PORT: '0', MESHTRACE_OTLP_GRPC_PORT: '0', MESHTRACE_ZIPKIN_PORT: '0', MESHTRACE_QUERY_PORT: '0' });
      expect((await getJson(`${run.started.queryUrl}/api/services`)).status).toBe(200);
      run.child.kill('SIGTERM');
      expect(await waitForExit(run.child)).toBe(0);
      expect(run.output()).toContain('meshtrace all-in-one stopped');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('names the flag and exits 2 when a port is taken, without a stack trace', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtrace-cli-'));
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const base = ['all-in-one', '--data-dir', dataDir, '--host', '127.0.0.1', '--otlp-http-port', '0', '--otlp-grpc-port', '0', '--zipkin-port', '0', '--query-port', '0'];
      for (const flag of ['--otlp-http-port', '--otlp-grpc-port', '--zipkin-port', '--query-port']) {
        const r = await runCli([...base, flag, String(taken)]);
        expect(r.code, flag).toBe(2);
        expect(r.stderr).toContain(`${flag} (MESHTRACE_`);
        expect(r.stderr).toContain(`127.0.0.1:${taken}`);
        expect(r.stderr).toContain('already in use');
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
    } finally {
      await new Promise((r) => blocker.close(r));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('says where to open the UI in a plain line', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtrace-cli-'));
    try {
      const run = await startCli(['all-in-one', '--data-dir', dataDir, '--host', '127.0.0.1', '--otlp-http-port', '0', '--otlp-grpc-port', 'off', '--zipkin-port', 'off', '--query-port', '0']);
      await new Promise((r) => setTimeout(r, 200));
      expect(run.output()).toContain(`open ${run.started.queryUrl}/ (UI and Jaeger API); send spans to OTLP/HTTP ${run.started.otlpHttpUrl}/v1/traces`);
      run.child.kill('SIGTERM');
      expect(await waitForExit(run.child)).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('has every receiver listening by the time the query API answers', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtrace-cli-'));
    const [otlpHttp, otlpGrpc, zipkin, query] = await reservePorts(4);
    const child = spawn(process.execPath, [CLI, 'all-in-one', '--data-dir', dataDir, '--host', '127.0.0.1', '--otlp-http-port', String(otlpHttp), '--otlp-grpc-port', String(otlpGrpc), '--zipkin-port', String(zipkin), '--query-port', String(query)], { stdio: 'ignore' });
    try {
      // What a start-up script does: wait for the API, then send at once.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${query}/api/services`).then((r) => r.ok, () => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error('query API never answered');
        await new Promise((r) => setTimeout(r, 5));
      }
      const connects = await Promise.all([otlpHttp, otlpGrpc, zipkin].map((port) =>
        new Promise<string>((resolve) => {
          const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve('connected'); });
          s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        })));
      expect(connects).toEqual(['connected', 'connected', 'connected']);
    } finally {
      child.kill('SIGTERM');
      await waitForExit(child);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
