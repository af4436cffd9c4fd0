/**
 * Configuration of the all-in-one server (collector + store + query API + UI), from CLI flags and
 * `MESHTRACE_*` environment variables. Plain data with separate defaults and validation (the
 * OpenTelemetry Collector's pattern): `parseAllInOneConfig` reports EVERY invalid field, each named
 * by its flag, so a user fixes them in one go.
 */
import { z } from 'zod';
import type { SpanLimits } from '../collector/span-limits.js';
import { parseBytes, parseDurationUs } from '../config/units.js';
import { tenancyConfigProblems } from '../tenancy/tenancy.js';

/** One entry per setting: its flag, env var, default (as a user would type it) and help text. */
export const allInOneOptions = {
  dataDir: { flag: '--data-dir', env: 'MESHTRACE_DATA_DIR', default: './data', help: 'directory for the SQLite database' },
  host: { flag: '--host', env: 'MESHTRACE_HOST', default: '0.0.0.0', help: 'interface every listener binds to' },
  otlpHttpPort: { flag: '--otlp-http-port', env: 'MESHTRACE_OTLP_HTTP_PORT', default: '4318', help: 'OTLP/HTTP receiver port (0 = any free port)' },
  otlpGrpcPort: { flag: '--otlp-grpc-port', env: 'MESHTRACE_OTLP_GRPC_PORT', default: '4317', help: 'OTLP/gRPC receiver port (0 = any free port, off = disabled)' },
  zipkinPort: { flag: '--zipkin-port', env: 'MESHTRACE_ZIPKIN_PORT', default: '9411', help: 'Zipkin v2 JSON receiver port (0 = any free port, off = disabled)' },
  queryPort: { flag: '--query-port', env: 'MESHTRACE_QUERY_PORT', default: '16686', help: 'query API and UI port (0 = any free port)' },
  retention: { flag: '--retention', env: 'MESHTRACE_RETENTION', default: '72h', help: 'delete spans older than this (e.g. 72h, 7d; 0 = keep forever)' },
  maxSize: { flag: '--max-size', env: 'MESHTRACE_MAX_SIZE', default: '0', help: 'delete the oldest spans when the database and its WAL on disk exceed this size (e.g. 10GiB; 0 = no cap; tolerance: README)' },
  maxBodySize: { flag: '--max-body-size', env: 'MESHTRACE_MAX_BODY_SIZE', default: '20MiB', help: 'largest accepted request body, after decompression' },
  queueSize: { flag: '--queue-size', env: 'MESHTRACE_QUEUE_SIZE', default: '100000', help: 'spans waiting to be written before receivers answer 503 + Retry-After' },
  logLevel: { flag: '--log-level', env: 'MESHTRACE_LOG_LEVEL', default: 'info', help: 'fatal, error, warn, info, debug, trace or silent' },
  corsOrigins: { flag: '--cors-origins', env: 'MESHTRACE_CORS_ORIGINS', default: '', help: 'comma-separated origins allowed to POST spans from browsers (* = any)' },
  uiBasePath: { flag: '--ui-base-path', env: 'MESHTRACE_UI_BASE_PATH', default: '/', help: 'path prefix the UI is served under (like Jaeger\'s --query.base-path)' },
  maxClockSkewAdjustment: { flag: '--max-clock-skew-adjustment', env: 'MESHTRACE_MAX_CLOCK_SKEW_ADJUSTMENT', default: '0s', help: 'largest clock-skew correction applied at query time (0s = off, as in Jaeger)' },
  queryMaxLimit: { flag: '--query-max-limit', env: 'MESHTRACE_QUERY_MAX_LIMIT', default: '1500', help: 'most traces one search may ask for (limit, query.num_traces); larger → 400 (Jaeger UI\'s own maximum is 1500)' },
  queryMaxSpans: { flag: '--query-max-spans', env: 'MESHTRACE_QUERY_MAX_SPANS', default: '200000', help: 'most spans one query response carries over all its traces; a larger answer is cut and says so' },
  controlPlanePort: { flag: '--control-plane-port', env: 'MESHTRACE_CONTROL_PLANE_PORT', default: '15010', help: 'mesh control plane port (service discovery and config for sidecars started with --control-plane; 0 = any free port, off = disabled; the default is skipped with a warning when taken)' },
  meshTokenFile: { flag: '--mesh-token-file', env: 'MESHTRACE_MESH_TOKEN_FILE', default: '', help: 'file holding the token the control plane requires for registration and config changes (MESHTRACE_MESH_TOKEN gives it directly)' },
  sqliteSync: { flag: '--sqlite-sync', env: 'MESHTRACE_SQLITE_SYNC', default: 'normal', help: 'normal: durable across process crashes; full: also across power loss (slower)' },
  storage: { flag: '--storage', env: 'MESHTRACE_STORAGE', default: 'sqlite', help: 'sqlite (a file in --data-dir) or clickhouse (--clickhouse-url)' },
  clickhouseUrl: { flag: '--clickhouse-url', env: 'MESHTRACE_CLICKHOUSE_URL', default: 'http://127.0.0.1:8123', help: 'ClickHouse HTTP interface, with --storage clickhouse' },
  clickhouseDatabase: { flag: '--clickhouse-database', env: 'MESHTRACE_CLICKHOUSE_DATABASE', default: 'meshtrace', help: 'ClickHouse database of the trace tables (created when missing)' },
  clickhouseUser: { flag: '--clickhouse-user', env: 'MESHTRACE_CLICKHOUSE_USER', default: 'default', help: 'ClickHouse user' },
  clickhousePassword: { flag: '--clickhouse-password', env: 'MESHTRACE_CLICKHOUSE_PASSWORD', default: '', help: 'ClickHouse password (prefer the environment variable: flags show in ps)' },
  clickhouseNoMigrate: { flag: '--clickhouse-no-migrate', env: 'MESHTRACE_CLICKHOUSE_NO_MIGRATE', default: 'false', help: 'do not create or upgrade the ClickHouse schema at start; fail if it is not current', boolean: true },
  clickhouseCluster: { flag: '--clickhouse-cluster', env: 'MESHTRACE_CLICKHOUSE_CLUSTER', default: '', help: 'ClickHouse cluster name: ON CLUSTER DDL, Replicated and Distributed tables (none = one node)' },
  spanMaxAttributes: { flag: '--span-max-attributes', env: 'MESHTRACE_SPAN_MAX_ATTRIBUTES', default: '128', help: 'attributes kept per span, event and link; the rest are dropped and counted (otel.dropped_attributes_count; 0 = no limit)' },
  spanMaxAttributeLength: { flag: '--span-max-attribute-length', env: 'MESHTRACE_SPAN_MAX_ATTRIBUTE_LENGTH', default: '65536', help: 'characters kept of an attribute value, event name or status message (bytes of a binary value; 0 = no limit)' },
  spanMaxEvents: { flag: '--span-max-events', env: 'MESHTRACE_SPAN_MAX_EVENTS', default: '128', help: 'events kept per span, the last ones; the rest are dropped and counted (otel.dropped_events_count; 0 = no limit)' },
  spanMaxLinks: { flag: '--span-max-links', env: 'MESHTRACE_SPAN_MAX_LINKS', default: '128', help: 'links kept per span, the first ones; the rest are dropped and counted (otel.dropped_links_count; 0 = no limit)' },
  traceMaxSpans: { flag: '--trace-max-spans', env: 'MESHTRACE_TRACE_MAX_SPANS', default: '100000', help: 'spans of one trace a collector keeps; further spans of that trace are dropped and counted as rejected (0 = no limit)' },
  tenancyHeader: { flag: '--tenancy-header', env: 'MESHTRACE_TENANCY_HEADER', default: 'x-tenant', help: 'header (gRPC: metadata key) naming the tenant of each request, with --tenants' },
  tenants: { flag: '--tenants', env: 'MESHTRACE_TENANTS', default: '', help: 'comma-separated tenants (a-z, 0-9, _): tenancy is on when set; each tenant has its own store and every request must name one (README: Tenants)' },
  authFile: { flag: '--auth-file', env: 'MESHTRACE_AUTH_FILE', default: '', help: 'JSON file of tokens and users with roles (ingest, read, admin; meshtrace auth token|user makes entries): when set, the receivers need ingest and the query API and UI need read; reloaded when it changes' },
  tlsCert: { flag: '--tls-cert', env: 'MESHTRACE_TLS_CERT', default: '', help: 'PEM certificate (chain) every listener serves TLS with (HTTPS, gRPC over TLS); reloaded when it changes; needs --tls-key' },
  tlsKey: { flag: '--tls-key', env: 'MESHTRACE_TLS_KEY', default: '', help: 'PEM private key of --tls-cert' },
  tlsClientCa: { flag: '--tls-client-ca', env: 'MESHTRACE_TLS_CLIENT_CA', default: '', help: 'PEM CA certificate(s): the receivers require a client certificate it signed (mutual TLS); needs --tls-cert' },
  clickhouseAsyncInsert: { flag: '--clickhouse-async-insert', env: 'MESHTRACE_CLICKHOUSE_ASYNC_INSERT', default: 'false', help: 'write through ClickHouse async inserts (async_insert=1, wait_for_async_insert=1: a batch is still acknowledged only once stored)', boolean: true },
} as const;

export type AllInOneOptionName = keyof typeof allInOneOptions;
export type RawAllInOneConfig = Partial<Record<AllInOneOptionName, string | number>>;

const port = z.coerce.number().int('must be an integer').min(0, 'must be 0–65535').max(65535, 'must be 0–65535');
/** A port, or `off` (null) for a receiver that is not started. */
const optionalPort = z.union([z.literal('off').transform(() => null), port]);
const positiveInt = z.coerce.number().int('must be an integer').positive('must be greater than zero');
/** A count limit; 0 = no limit. */
const limit = z.coerce.number().int('must be an integer').min(0, 'must not be negative (0 = no limit)').max(Number.MAX_SAFE_INTEGER, 'is too large');

function durationUs(what: string) {
  return z.string().transform((raw, ctx) => {
    const us = parseDurationUs(raw);
    if (us === undefined || us < 0) {
      ctx.addIssue({ code: 'custom', message: `invalid ${what} '${raw}' (expected e.g. 72h, 30m, 7d)` });
      return z.NEVER;
    }
    return us;
  });
}

function bytes() {
  return z.string().transform((raw, ctx) => {
    const n = parseBytes(raw);
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: `invalid size '${raw}' (expected e.g. 20MiB, 500MB, 1048576)` });
      return z.NEVER;
    }
    return n;
  });
}

export const allInOneConfigSchema = z.object({
  dataDir: z.string().min(1, 'must not be empty'),
  host: z.string().min(1, 'must not be empty'),
  otlpHttpPort: port,
  otlpGrpcPort: optionalPort,
  zipkinPort: optionalPort,
  queryPort: port,
  /** µs; 0 keeps spans forever. */
  retention: durationUs('duration'),
  /** bytes; 0 means no size cap. */
  maxSize: bytes(),
  /** bytes, applied after decompression. */
  maxBodySize: bytes().refine((n) => n > 0, 'must be greater than zero'),
  /** spans. */
  queueSize: positiveInt,
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  corsOrigins: z.string().transform((s) => s.split(',').map((o) => o.trim()).filter(Boolean)),
  uiBasePath: z.string().regex(/^\/[^?#\s]*$/, "must start with '/'").transform((p) => (p.length > 1 ? p.replace(/\/+$/, '') : p)),
  /** µs; 0 disables clock-skew adjustment. */
  maxClockSkewAdjustment: durationUs('duration'),
  sqliteSync: z.enum(['normal', 'full']),
  /** null = no control plane. */
  controlPlanePort: optionalPort,
  /** '' = none (then MESHTRACE_MESH_TOKEN, else no token). */
  meshTokenFile: z.string(),
  /** traces per search. */
  queryMaxLimit: positiveInt,
  /** spans per query response. */
  queryMaxSpans: positiveInt,
  storage: z.enum(['sqlite', 'clickhouse']),
  clickhouseUrl: z.string().refine((u) => /^https?:\/\/[^/]+/.test(u), 'must be http(s)://host:port'),
  clickhouseDatabase: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier ([A-Za-z_][A-Za-z0-9_]*)'),
  clickhouseUser: z.string(),
  clickhousePassword: z.string(),
  clickhouseNoMigrate: z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'),
  clickhouseCluster: z.string().transform((s) => s.trim() || undefined),
  /** attributes per span, event and link; 0 = no limit. */
  spanMaxAttributes: limit,
  /** UTF-16 code units (bytes for binary values); 0 = no limit. */
  spanMaxAttributeLength: limit,
  /** events per span; 0 = no limit. */
  spanMaxEvents: limit,
  /** links per span; 0 = no limit. */
  spanMaxLinks: limit,
  /** spans per trace id per collector process; 0 = no limit. */
  traceMaxSpans: limit,
  /** Lowercase, as HTTP/2 and gRPC metadata carry header names. */
  tenancyHeader: z.string().transform((s) => s.trim().toLowerCase()),
  /** Empty = tenancy off (one store, as without tenants). */
  tenants: z.string().transform((s) => s.split(',').map((t) => t.trim()).filter(Boolean)),
  /** '' = no authentication. */
  authFile: z.string(),
  /** '' = plain HTTP and gRPC; else with tlsKey, TLS on every listener. */
  tlsCert: z.string(),
  tlsKey: z.string(),
  /** '' = no client certificates asked for. */
  tlsClientCa: z.string(),
  clickhouseAsyncInsert: z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'),
}).superRefine((c, ctx) => {
  for (const p of tenancyConfigProblems({ header: c.tenancyHeader, tenants: c.tenants })) {
    ctx.addIssue({ code: 'custom', path: [p.field === 'header' ? 'tenancyHeader' : 'tenants'], message: p.message });
  }
  if (c.tlsCert && !c.tlsKey) ctx.addIssue({ code: 'custom', path: ['tlsKey'], message: 'is required with --tls-cert' });
  if (c.tlsKey && !c.tlsCert) ctx.addIssue({ code: 'custom', path: ['tlsCert'], message: 'is required with --tls-key' });
  if (c.tlsClientCa && !c.tlsCert) ctx.addIssue({ code: 'custom', path: ['tlsClientCa'], message: 'needs --tls-cert and --tls-key (mutual TLS is TLS first)' });
  // The size cap needs a store that reports its size synchronously (SQLite); ClickHouse has TTL and --retention.
  if (c.storage === 'clickhouse' && c.maxSize > 0) ctx.addIssue({ code: 'custom', path: ['maxSize'], message: 'is not supported with --storage clickhouse (use --retention)' });
});

export type AllInOneConfig = z.output<typeof allInOneConfigSchema>;

/** The collector's span limits (collector/span-limits.ts) from the `--span-max-*` and `--trace-max-spans` settings. */
export function spanLimitsOf(c: AllInOneConfig): SpanLimits {
  return {
    maxAttributes: c.spanMaxAttributes,
    maxAttributeValueLength: c.spanMaxAttributeLength,
    maxEvents: c.spanMaxEvents,
    maxLinks: c.spanMaxLinks,
    maxSpansPerTrace: c.traceMaxSpans,
  };
}

export function defaultRawAllInOneConfig(): Record<AllInOneOptionName, string> {
  const out = {} as Record<AllInOneOptionName, string>;
  for (const [name, o] of Object.entries(allInOneOptions)) out[name as AllInOneOptionName] = o.default;
  return out;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Defaults ← environment ← given values (flags). Throws ConfigError listing every invalid field by
 * its flag and environment variable.
 */
export function parseAllInOneConfig(given: RawAllInOneConfig, env: NodeJS.ProcessEnv = {}): AllInOneConfig {
  const raw: Record<string, string> = defaultRawAllInOneConfig();
  for (const [name, o] of Object.entries(allInOneOptions)) {
    const fromEnv = env[o.env];
    if (fromEnv !== undefined) raw[name] = fromEnv;
    const v = given[name as AllInOneOptionName];
    if (v !== undefined) raw[name] = String(v);
  }
  const result = allInOneConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0]) as AllInOneOptionName;
    const o = allInOneOptions[name];
    return o ? `${o.flag} (${o.env}): ${issue.message} (got '${raw[name]}')` : issue.message;
  });
  throw new ConfigError(problems);
}
