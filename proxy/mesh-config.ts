import { ConfigError, proxyConfigSchema } from './config.js';

/**
 * A mesh-wide config file: one JSON document every sidecar reads (mounted like a ConfigMap).
 * Top-level keys apply to every sidecar; `services: { "<service>": { …overrides… } }` is merged
 * over them for the sidecar whose `service` matches. Merge rule: objects merge key by key,
 * arrays and scalars replace. A plain per-sidecar file (no `services`) passes through unchanged.
 *
 * Every entry's keys are checked, not only this sidecar's: the file is one document, and a typo
 * in any section is reported by every sidecar reading it (as a rejected reload), rather than only
 * by the one it was meant for. An entry's *values* are validated by the sidecar it applies to.
 */

/** Keys a `services.<name>` entry may set: the schema's keys except `service` (the entry's own name). */
function knownKeys(): Set<string> {
  const keys = new Set(Object.keys(proxyConfigSchema.shape));
  keys.delete('service');
  return keys;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `over` merged onto `base`: objects merge recursively, anything else in `over` replaces. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isObject(v) && isObject(base[k]) ? deepMerge(base[k], v) : v;
  }
  return out;
}

/**
 * This sidecar's view of a (possibly mesh-wide) config file. `service` is the name the sidecar
 * runs as (its `--service` flag, else the file's top-level `service`). Throws ConfigError naming
 * every malformed `services` entry or unknown key by its path (`services.ratings.smapling`).
 */
export function selectServiceConfig(file: Record<string, unknown>, service: string | undefined): Record<string, unknown> {
  if (!('services' in file)) return file;
  const { services, ...base } = file;
  if (!isObject(services)) throw new ConfigError(['services: expected an object of per-service overrides, keyed by service name']);
  const known = knownKeys();
  const problems: string[] = [];
  for (const [name, entry] of Object.entries(services)) {
    if (!isObject(entry)) { problems.push(`services.${name}: expected an object of overrides`); continue; }
    for (const key of Object.keys(entry)) {
      if (key === 'service') problems.push(`services.${name}.service: not allowed (the entry's key names the service)`);
      else if (!known.has(key)) problems.push(`services.${name}.${key}: unknown key (known: ${[...known].join(', ')})`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  const self = service ?? (typeof base['service'] === 'string' ? base['service'] : undefined);
  const entry = self !== undefined && Object.hasOwn(services, self) ? services[self] as Record<string, unknown> : undefined;
  return entry ? deepMerge(base, entry) : base;
}
