import type { ProxyConfig } from './config.js';

/**
 * What a configuration reload may change in a running sidecar, and how a reload is reported.
 * The sidecar (proxy/sidecar.ts) applies the plan; this module is pure so its rules test alone.
 */

/**
 * Keys a running sidecar keeps until it restarts (Istio's ProxyConfig behaves the same way: a
 * changed value takes effect when the pod restarts, while routing changes apply live).
 * - `service`, `serviceVersion`: the span exporter's resource and the metrics' workload labels
 *   are fixed at start (an OpenTelemetry resource never changes during a process's life).
 * - `bindHost`, `inboundPort`, `outboundPort`, `adminPort`: the sockets are bound; `inject` also
 *   told the app its `HTTP_PROXY` from them.
 * - `collector`, `export`: the span exporter holds its queue and batches; rebuilding it would
 *   drop or reorder queued spans.
 * - `maxConnectionsPerUpstream`: the undici pools are long-lived and keep their connections.
 * - `downstream`: the listeners' HTTP servers take their timeouts (and how often Node checks the
 *   headers timeout) when they are created.
 * Everything else (upstreams, sampling, propagators, timeoutMs, accessLog, appHost/appPort, mtls,
 * upstreamPolicies and keys added later) is rebuilt into new filter chains and applies to new
 * requests; the mTLS certificate files are re-read on every reload (proxy/mtls/material.ts), so a
 * rotated certificate applies even when the configuration itself is unchanged.
 */
export const RESTART_ONLY_KEYS = [
  'service', 'serviceVersion', 'bindHost', 'inboundPort', 'outboundPort', 'adminPort', 'collector', 'export', 'maxConnectionsPerUpstream', 'downstream',
] as const satisfies readonly (keyof ProxyConfig)[];

/** JSON with object keys sorted: two configurations are equal when this is. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    typeof x === 'object' && x !== null && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x);
}

export interface ReloadPlan {
  /** What the sidecar runs after the reload: `next` with the restart-only keys kept as they run. */
  effective: ProxyConfig;
  /** Restart-only keys whose new value differs (`export.maxBatchSpans` for a nested one); not applied. */
  restartRequired: string[];
  /** Whether `effective` differs from `running`. */
  changed: boolean;
}

/** Splits a validated new configuration into what applies now and what waits for a restart. */
export function planReload(running: ProxyConfig, next: ProxyConfig): ReloadPlan {
  const restartRequired: string[] = [];
  const effective = { ...next } as Record<string, unknown>;
  const now = running as unknown as Record<string, unknown>;
  for (const key of RESTART_ONLY_KEYS) {
    const a = now[key];
    const b = effective[key];
    if (canonicalJson(a) !== canonicalJson(b)) {
      if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
        const sub = new Set([...Object.keys(a), ...Object.keys(b)]);
        for (const k of [...sub].sort()) {
          if (canonicalJson((a as Record<string, unknown>)[k]) !== canonicalJson((b as Record<string, unknown>)[k])) restartRequired.push(`${key}.${k}`);
        }
      } else restartRequired.push(key);
    }
    effective[key] = a;
  }
  const kept = effective as unknown as ProxyConfig;
  return { effective: kept, restartRequired, changed: canonicalJson(kept) !== canonicalJson(running) };
}

export type ReloadResult = 'applied' | 'rejected' | 'unchanged';

/** One reload attempt, as `Sidecar.reload()`, `POST /config/reload` and the log report it. */
export interface ReloadOutcome {
  result: ReloadResult;
  /** The configuration version serving after this attempt (1 = the one the sidecar started with). */
  version: number;
  /** Every problem, each naming its field path (`sampling.rate: Too big: …`); empty unless rejected. */
  problems: string[];
  /** Restart-only keys whose new value was not applied (see RESTART_ONLY_KEYS). */
  restartRequired: string[];
}

/** The `reload` section of `/config`. Times are ISO-8601. */
export interface ReloadStatus {
  version: number;
  /** When the serving version was applied (version 1: start-up). */
  appliedAt: string;
  /** The last reload attempt; null until the first one. */
  lastAttemptAt: string | null;
  lastResult: ReloadResult | null;
  problems: string[];
  restartRequired: string[];
  /** The watched config file, if any. */
  file?: string;
}
