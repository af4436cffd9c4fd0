import { randomUUID } from 'node:crypto';
import { LEASE_TTL_MS, type ConfigHistoryEntry, type ConfigVersion, type MeshStatus, type MeshTopology, type Registration, type Snapshot } from './api.js';
import { InvalidRequestError, NotFoundError } from './errors.js';
import { Registry } from './registry.js';
import { renderForService, validateMeshConfig } from './render.js';
import { ConfigStore } from './store.js';
import { buildTopology } from './topology.js';

export interface ControlPlaneOptions {
  /** SQLite file holding the config versions. */
  dbPath: string;
  /** Lease length, ms (default LEASE_TTL_MS). */
  leaseTtlMs?: number;
}

/**
 * The control plane's state and rules, without HTTP: the registry of leased sidecars and the
 * versioned mesh config. `revision` (in the registry) moves on every change a sidecar must see;
 * `epoch` is new for each process, so a sidecar that resumes a watch after a restart is answered
 * at once instead of waiting for a revision number the new process has not reached.
 */
export class ControlPlane {
  readonly epoch = randomUUID();
  readonly registry: Registry;
  private readonly store: ConfigStore;
  private currentConfig: ConfigVersion;
  private readonly sweeper: NodeJS.Timeout;

  constructor(o: ControlPlaneOptions) {
    this.store = new ConfigStore(o.dbPath);
    this.currentConfig = this.store.current();
    const ttl = o.leaseTtlMs ?? LEASE_TTL_MS;
    this.registry = new Registry(ttl);
    // Checked several times per lease, so an instance leaves within ~1.25 leases.
    this.sweeper = setInterval(() => this.registry.expire(), Math.max(100, Math.floor(ttl / 4)));
    this.sweeper.unref();
  }

  get config(): ConfigVersion { return this.currentConfig; }

  heartbeat(instance: string, reg: Registration): void { this.registry.heartbeat(instance, reg); }

  deregister(instance: string): void { this.registry.deregister(instance); }

  /** Validates `config` whole; stores it as the next version and tells every watcher. */
  apply(config: Record<string, unknown>, source = 'apply'): number {
    const problems = validateMeshConfig(config);
    if (problems.length) throw new InvalidRequestError(`invalid mesh config: ${problems.length} problem(s); nothing was stored`, problems);
    const version = this.store.append(config, source);
    this.currentConfig = this.store.get(version)!;
    this.registry.bump();
    return version;
  }

  /** Stores version `n`'s config again as a new version (history stays append-only). */
  rollback(n: number): number {
    const old = this.store.get(n);
    if (!old) throw new NotFoundError(`no mesh config version ${n}`);
    return this.apply(old.config, `rollback to ${n}`);
  }

  history(): ConfigHistoryEntry[] { return this.store.history(); }

  /** What the sidecar `instance` (registered or not yet) of `service` applies now. */
  snapshot(service: string, instance?: string): Snapshot {
    const endpoints = this.registry.endpoints();
    const caller = instance ? this.registry.get(instance) : undefined;
    return {
      epoch: this.epoch,
      revision: this.registry.revision,
      configVersion: this.currentConfig.version,
      config: renderForService(this.currentConfig.config, service, endpoints, caller),
      endpoints,
    };
  }

  status(): MeshStatus {
    return { version: this.currentConfig.version, sidecars: this.registry.status(this.currentConfig.version) };
  }

  topology(): MeshTopology { return buildTopology(this.currentConfig, this.registry.status(this.currentConfig.version)); }

  close(): void {
    clearInterval(this.sweeper);
    this.registry.bump(); // releases held watches
    this.store.close();
  }
}
