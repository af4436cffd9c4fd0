import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ephemeralLow, reservePorts } from './ports.js';

describe('demo port reservation', () => {
  it('reads the low end of the kernel\'s ephemeral range, 32768 when unknown', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshtrace-ports-'));
    try {
      writeFileSync(join(dir, 'range'), '40000\t60999\n');
      expect(ephemeralLow(join(dir, 'range'))).toBe(40000);
      writeFileSync(join(dir, 'range'), 'garbage');
      expect(ephemeralLow(join(dir, 'range'))).toBe(32768);
      expect(ephemeralLow(join(dir, 'missing'))).toBe(32768);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('returns distinct free ports below the ephemeral range, skipping ports in use', async () => {
    // Occupy the port the search starts at: it must be skipped.
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(20_000 + 1234, '127.0.0.1', r));
    try {
      const ports = await reservePorts(12, '127.0.0.1', 20_000, () => 1234 / (ephemeralLow() - 20_000));
      expect(new Set(ports).size).toBe(12);
      expect(ports).not.toContain(21_234);
      for (const p of ports) expect(p >= 20_000 && p < ephemeralLow()).toBe(true);
      // Free: each can be bound now.
      for (const p of ports) {
        const s = createServer();
        await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(p, '127.0.0.1', resolve); });
        await new Promise((r) => s.close(r));
      }
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('says so when there is no room', async () => {
    await expect(reservePorts(5, '127.0.0.1', ephemeralLow() - 2)).rejects.toThrow(/no room for 5 ports/);
  });
});
