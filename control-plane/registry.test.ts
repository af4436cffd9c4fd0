import { describe, expect, it } from 'vitest';
import { registrationSchema } from './api.js';
import { Registry } from './registry.js';

const reg = (o: Record<string, unknown>) => registrationSchema.parse({ service: 'reviews', address: '127.0.0.1:1', ...o });

describe('Registry', () => {
  it('expires a lease not renewed within the TTL, and only then', () => {
    let now = 0;
    const r = new Registry(4_000, () => now);
    r.heartbeat('a', reg({ version: 'v1' }));
    r.heartbeat('b', reg({ version: 'v2', address: '127.0.0.1:2' }));
    now = 3_000;
    r.heartbeat('a', reg({ version: 'v1' }));
    now = 4_001;
    expect(r.expire()).toEqual(['b']);
    expect(r.endpoints()).toEqual({ reviews: [{ instance: 'a', version: 'v1', address: '127.0.0.1:1', mtls: 'DISABLE' }] });
    now = 7_001;
    expect(r.expire()).toEqual(['a']);
    expect(r.endpoints()).toEqual({});
  });

  it('moves the revision on endpoint changes only, and wakes watchers', async () => {
    const r = new Registry(4_000);
    const waiting = r.waitForChange(10_000);
    r.heartbeat('a', reg({}));
    await waiting;
    const rev = r.revision;
    r.heartbeat('a', reg({ configVersion: 3 })); // a heartbeat reporting its config: no change for watchers
    expect(r.revision).toBe(rev);
    r.heartbeat('a', reg({ ready: false, configVersion: 3 })); // not ready: it leaves the endpoints
    expect(r.revision).toBe(rev + 1);
    expect(r.endpoints()).toEqual({});
    expect(r.status(3)).toEqual([expect.objectContaining({ instance: 'a', ready: false, synced: true })]);
    expect(r.deregister('a')).toBe(true);
    expect(r.deregister('a')).toBe(false);
    expect(r.revision).toBe(rev + 2);
  });

  it('reports a sidecar that rejected the config as not synced, with its problems', () => {
    const r = new Registry(4_000);
    r.heartbeat('a', reg({ configVersion: 1, configError: ['routes.0.timeoutMs: Too small'] }));
    expect(r.status(2)).toEqual([expect.objectContaining({ configVersion: 1, synced: false, configError: ['routes.0.timeoutMs: Too small'] })]);
  });
});
