/**
 * A really full disk: the real CLI with its data directory on a 3 MiB tmpfs (mounted by the test;
 * CI runs as root). Fill it through the OTLP receiver, then grow the file system, as an operator
 * freeing space would, and watch the server recover by itself — the path all-in-one/disk-full.test.ts
 * covers with SQLite's page limit, here end to end through the composition root and the CLI.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, waitForExit, type RunningCli } from './helpers/process.js';

const mountPoint = mkdtempSync(join(tmpdir(), 'meshtrace-tmpfs-'));
let cli: RunningCli | undefined;

beforeAll(() => {
  // Root is needed to mount; CI and the development machines run as root. Without it this fails
  // loudly rather than skipping: a disk-full test that silently does not run proves nothing.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint]);
});

afterAll(async () => {
  if (cli) {
    cli.child.kill('SIGTERM');
    await waitForExit(cli.child);
  }
  try { execFileSync('umount', [mountPoint]); } catch { /* not mounted */ }
  rmSync(mountPoint, { recursive: true, force: true });
});

function request(): string {
  const traceId = randomBytes(16).toString('hex');
  const start = BigInt(Date.now()) * 1_000_000n;
  return JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'filler' } }] },
      scopeSpans: [{
        spans: Array.from({ length: 20 }, (_, i) => ({
          traceId,
          spanId: randomBytes(8).toString('hex'),
          name: `op-${i % 4}`,
          kind: 2,
          startTimeUnixNano: String(start),
          endTimeUnixNano: String(start + 1_000_000n),
          // Distinct values: stored once each, so every request takes new space.
          attributes: [{ key: 'blob', value: { stringValue: randomBytes(200).toString('hex') } }],
        })),
      }],
    }],
  });
}

describe('disk full, for real', () => {
  it('refuses with 503 + Retry-After, says why on /ready and once per interval in the log, and recovers when space returns', async () => {
    cli = await startCli(['all-in-one', '--data-dir', mountPoint, '--host', '127.0.0.1', '--otlp-http-port', '0', '--otlp-grpc-port', 'off', '--zipkin-port', 'off', '--query-port', '0']);
    const url = `${cli.started.otlpHttpUrl}/v1/traces`;
    const send = () => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: request() });

    let refused: Response | undefined;
    let stored = 0;
    for (let i = 0; i < 3000 && !refused; i++) {
      const res = await send();
      await res.arrayBuffer();
      if (res.status === 200) stored++;
      else refused = res;
    }
    expect(stored).toBeGreaterThan(5);
    expect(refused?.status).toBe(503);
    expect(refused?.headers.get('retry-after')).toMatch(/^\d+$/);
    // Asked right after the refusal (the next write that commits clears the state).
    const ready = await fetch(`${cli.started.queryUrl}/ready`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toMatch(/full|SQLITE_FULL|disk/i);
    // More requests while (nearly) full: each is answered — 503, or 200 when the WAL checkpoint
    // made room for one more — and none is logged on its own.
    const more: number[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await send();
      await res.arrayBuffer();
      more.push(res.status);
    }
    expect(more.filter((st) => st !== 200 && st !== 503)).toEqual([]);
    expect(more).toContain(503);
    const stackLines = cli.output().split('\n').filter((l) => /^\s+at /.test(l) || l.includes('\\n    at ')).length;
    expect(stackLines).toBe(0);
    expect(cli.output()).toMatch(/storage refus/i);

    // Space comes back: the file system grows, as when an operator frees space.
    execFileSync('mount', ['-o', 'remount,size=64m', mountPoint]);
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (Date.now() < deadline) {
      const res = await send();
      await res.arrayBuffer();
      status = res.status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
    expect((await fetch(`${cli.started.queryUrl}/ready`)).status).toBe(200);
    for (let i = 0; i < 50 && !cli.output().includes('storage accepts writes again'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(cli.output()).toContain('storage accepts writes again');
  });
});
