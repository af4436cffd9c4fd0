/**
 * The CLI contract: `--help` on every verb, config validated with the field named, SIGTERM drains
 * and exits cleanly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli, waitForExit } from './helpers/process.js';
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
});
