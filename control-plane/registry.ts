import type { Endpoint, Registration, SidecarStatus } from './api.js';

/**
 * Registered sidecars with their leases (Consul's catalog with TTL checks, reduced to what the
 * mesh needs). In memory: after a control-plane restart every sidecar's next heartbeat (the full
 * record, every time) registers it again, within one heartbeat interval.
 *
 * `revision` counts changes that alter what a sidecar is told (an instance joined, left, expired
 * or changed address, version or mTLS mode); heartbeats and config reports do not count.
 */
interface Entry { instance: string; reg: Registration; lastHeartbeatMs: number }

export class Registry {
  private readonly entries = new Map<string, Entry>();
  private waiters: (() => void)[] = [];
  revision = 0;

  constructor(private readonly ttlMs: number, private readonly now: () => number = Date.now) {}

  /** Registers or renews `instance`; returns whether the endpoint set changed. */
  heartbeat(instance: string, reg: Registration): boolean {
    const prev = this.entries.get(instance);
    this.entries.set(instance, { instance, reg, lastHeartbeatMs: this.now() });
    const changed = !prev || prev.reg.service !== reg.service || prev.reg.version !== reg.version || prev.reg.address !== reg.address || prev.reg.mtls !== reg.mtls || prev.reg.ready !== reg.ready;
    if (changed) this.bump();
    return changed;
  }

  /** The registration of `instance`, if leased. */
  get(instance: string): Registration | undefined { return this.entries.get(instance)?.reg; }

  /** Removes `instance` at once (clean shutdown); false when it was not registered. */
  deregister(instance: string): boolean {
    const had = this.entries.delete(instance);
    if (had) this.bump();
    return had;
  }

  /** Drops every lease older than the TTL; returns the instances dropped. */
  expire(): string[] {
    const limit = this.now() - this.ttlMs;
    const gone = [...this.entries.values()].filter((e) => e.lastHeartbeatMs < limit).map((e) => e.instance);
    for (const id of gone) this.entries.delete(id);
    if (gone.length) this.bump();
    return gone;
  }

  /** Healthy (leased and ready) instances by service, each list sorted by instance id (stable across renders). */
  endpoints(): Record<string, Endpoint[]> {
    const out: Record<string, Endpoint[]> = {};
    const sorted = [...this.entries.values()].filter((e) => e.reg.ready).sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0));
    for (const e of sorted) (out[e.reg.service] ??= []).push({ instance: e.instance, version: e.reg.version, address: e.reg.address, mtls: e.reg.mtls });
    return out;
  }

  status(currentVersion: number): SidecarStatus[] {
    return [...this.entries.values()]
      .map((e) => ({
        service: e.reg.service, version: e.reg.version, instance: e.instance, address: e.reg.address,
        configVersion: e.reg.configVersion, lastHeartbeat: new Date(e.lastHeartbeatMs).toISOString(), mtls: e.reg.mtls, ready: e.reg.ready,
        synced: e.reg.configVersion === currentVersion && !e.reg.configError,
        ...(e.reg.configError ? { configError: e.reg.configError } : {}),
      }))
      .sort((a, b) => a.service.localeCompare(b.service) || a.version.localeCompare(b.version) || a.instance.localeCompare(b.instance));
  }

  /** Signals a change that every watcher must see (an endpoint change, or a new config version). */
  bump(): void {
    this.revision++;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves on the next bump, or after `ms`; `signal` (the request closed) ends the wait too. */
  waitForChange(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(t); signal?.removeEventListener('abort', done); this.waiters = this.waiters.filter((f) => f !== done); resolve(); };
      const t = setTimeout(done, ms);
      signal?.addEventListener('abort', done);
      this.waiters.push(done);
    });
  }
}
