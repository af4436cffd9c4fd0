import { z } from 'zod';

/**
 * The control plane's contract: every HTTP route, its request and response bodies, in one file.
 * Sidecars (proxy/control-plane-client.ts), the CLI (`meshtrace mesh …`) and the UI talk to the
 * control plane only through these. Istio's shape without its protocol weight: istiod's registry
 * (here: sidecars register themselves and keep a lease by heartbeat, Consul's catalog style),
 * versioned mesh config pushed to every sidecar (a long-poll watch instead of xDS streams), and
 * each sidecar's ACK/NACK reported back (`istioctl proxy-status`).
 *
 * Routes (JSON; writes need `authorization: Bearer <token>` when the control plane has a token):
 * - `PUT    /v1/instances/:id`   register or heartbeat (the whole record every time, so a control
 *                                plane that restarted learns every sidecar back within one beat) → 200 Lease
 * - `DELETE /v1/instances/:id`   deregister at once (clean shutdown) → 204
 * - `GET    /v1/watch?service=S&instance=I&epoch=E&revision=R&waitMs=W`  this sidecar's rendered config and
 *                                endpoints; answers at once when (epoch, revision) is not the
 *                                current one, else waits up to W ms for a change → 200 Snapshot
 * - `GET    /v1/config`          the current mesh config → 200 ConfigVersion (version 0: none applied)
 * - `GET    /v1/config/history`  → 200 { versions: ConfigHistoryEntry[] } (newest first)
 * - `POST   /v1/config`          { config } validated whole, stored as the next version → 201 { version }
 *                                | 400 { error, problems[] } (every bad field by its path)
 * - `POST   /v1/config/rollback` { version } stores that version's config again as a new version → 201 { version }
 * - `GET    /v1/status`          → 200 MeshStatus (open to the UI)
 * - `GET    /v1/topology`        → 200 MeshTopology (registry + config, for the mesh page)
 * - `GET    /health`             → 200 { status: 'ok' }
 */

export const DEFAULT_CONTROL_PLANE_PORT = 15010;

/** How often a sidecar heartbeats, ms; a lease is LEASE_TTL_MS, so two or three beats may be lost. */
export const HEARTBEAT_INTERVAL_MS = 1_000;
/** An instance not heard from for this long leaves the endpoint set, ms. */
export const LEASE_TTL_MS = 4_000;
/** Longest a watch request is held open, ms (below common proxies' 60 s idle timeouts). */
export const MAX_WATCH_MS = 30_000;

export const mtlsModes = ['DISABLE', 'PERMISSIVE', 'STRICT'] as const;

/** What a sidecar says about itself on every heartbeat. */
export const registrationSchema = z.object({
  /** Logical service name (`reviews`): the host its callers use. */
  service: z.string().min(1).max(253).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a service name (letters, digits, . _ -)'),
  /** Version label (`v2`); subsets select instances by it. */
  version: z.string().min(1).max(63).default('unknown'),
  /** Where callers reach this instance: its sidecar's inbound `host:port`. */
  address: z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):\d{1,5}$/, 'expected host:port'),
  /** The inbound listener's mTLS mode. */
  mtls: z.enum(mtlsModes).default('DISABLE'),
  /**
   * The app behind the sidecar accepts connections (the sidecar probes it). Only ready instances
   * are endpoints; a sidecar whose app is still starting is registered (it shows in status) but
   * gets no traffic, as a Kubernetes pod failing its readiness probe.
   */
  ready: z.boolean().default(true),
  /** Mesh config version this sidecar runs (0 = none from the control plane yet). */
  configVersion: z.number().int().min(0).default(0),
  /** Why the sidecar rejected the newest config (its NACK), each problem with its field path; absent = it applied it. */
  configError: z.array(z.string()).optional(),
}).strict();
export type Registration = z.output<typeof registrationSchema>;
export type RegistrationInput = z.input<typeof registrationSchema>;

/** Instance ids: what the sidecar chose (host-pid-port by default). */
export const instanceIdSchema = z.string().min(1).max(200).regex(/^[A-Za-z0-9._:@-]+$/, 'expected an instance id (letters, digits, . _ : @ -)');

export interface Lease {
  instance: string;
  /** The lease ends this long after this heartbeat, ms. */
  ttlMs: number;
  /** Send the next heartbeat after this long, ms. */
  heartbeatMs: number;
}

/** One registered instance as the control plane sees it. */
export interface Endpoint {
  instance: string;
  version: string;
  address: string;
  mtls: (typeof mtlsModes)[number];
}

/**
 * What one sidecar applies: `config` is the mesh config rendered for its service (its
 * `services.<name>` section merged over the top level, route destinations naming
 * `{ service, version }` turned into upstream names, and `upstreams` filled with the healthy
 * endpoints of every registered service and subset). The sidecar layers its own file and flags
 * over it (they win). `epoch` changes when the control plane restarts; `revision` counts changes
 * of config or endpoints within an epoch.
 */
export interface Snapshot {
  epoch: string;
  revision: number;
  configVersion: number;
  config: Record<string, unknown>;
  /** Every registered service's healthy instances, by service name (what `upstreams` was built from). */
  endpoints: Record<string, Endpoint[]>;
}

export interface ConfigVersion {
  version: number;
  /** ISO-8601; null for version 0. */
  createdAt: string | null;
  config: Record<string, unknown>;
}

export interface ConfigHistoryEntry {
  version: number;
  createdAt: string;
  /** `apply`, or `rollback to N`. */
  source: string;
}

export const applyRequestSchema = z.object({ config: z.record(z.string(), z.unknown()) }).strict();
export const rollbackRequestSchema = z.object({ version: z.number().int().min(1) }).strict();

export interface SidecarStatus {
  service: string;
  version: string;
  instance: string;
  address: string;
  /** Mesh config version the sidecar applied (0 = none yet). */
  configVersion: number;
  /** ISO-8601. */
  lastHeartbeat: string;
  mtls: (typeof mtlsModes)[number];
  /** Its app accepts connections, so it is an endpoint. */
  ready: boolean;
  /** configVersion equals the current version and the sidecar reported no rejection. */
  synced: boolean;
  /** The sidecar's rejection of the newest config, when it rejected it. */
  configError?: string[];
}

export interface MeshStatus {
  /** Current mesh config version (0: none applied). */
  version: number;
  sidecars: SidecarStatus[];
}

/** One route as the mesh page shows it: which service's sidecars apply it and what it does. */
export interface TopologyRoute {
  /** The calling service whose sidecar applies it; `*` = every sidecar (top-level routes). */
  from: string;
  host: string;
  name?: string;
  /** Destination → weight in % of the route's requests (`reviews v1`, or an upstream name). */
  split: { service: string; version?: string; upstream?: string; percent: number }[];
  retries?: number;
  fault?: { delayPercent?: number; abortPercent?: number; abortStatus?: number };
  timeoutMs?: number;
  match: boolean;
}

export interface MeshTopology {
  version: number;
  services: { name: string; versions: { version: string; instances: SidecarStatus[] }[]; mtls: string }[];
  routes: TopologyRoute[];
  /** Upstream names whose upstreamPolicies say ISTIO_MUTUAL, per calling service (`*` = all). */
  mutualTls: { from: string; to: string }[];
}

/** The error body of every 4xx/5xx. */
export interface ErrorBody { error: string; problems?: string[] }
