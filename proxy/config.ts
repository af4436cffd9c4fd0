import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { propagatorNames } from './propagation/index.js';
import { redactSecrets } from './secrets.js';
import { trafficProblems, trafficRouteSchema, upstreamPolicySchema } from './traffic/schema.js';

/**
 * The sidecar's configuration: plain data. `proxyConfigSchema` validates and fills defaults;
 * `loadProxyConfig` merges a JSON config file with CLI flags (flags win) and reports every
 * invalid field by its name. Ports: 0 means "pick a free ephemeral port".
 */

const port = z.number().int().min(0).max(65535);
const rate = z.number().min(0).max(1);

/** `host:port` → {host, port}; hosts may be names, IPv4, or `[v6]`. An already parsed {host, port} passes. */
const hostPortString = z.string().transform((s, ctx) => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(s.trim());
  const p = m ? Number(m[2]) : NaN;
  if (!m || p < 1 || p > 65535) {
    ctx.addIssue({ code: 'custom', message: `expected host:port, got '${s}'` });
    return z.NEVER;
  }
  return { host: m[1].replace(/^\[|\]$/g, ''), port: p };
});
export const hostPortSchema = z.union([hostPortString, z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) })]);
export type HostPort = { host: string; port: number };
/** One address, or a non-empty list (`'h:p,h:p'` or an array) that proxy/load-balancer.ts balances round-robin. */
export const upstreamEndpointsSchema = z.unknown().transform((v, ctx) => {
  const input = typeof v === 'string' && v.includes(',') ? v.split(',') : v;
  const r = (Array.isArray(input) ? z.array(hostPortSchema).min(1) : hostPortSchema).safeParse(input);
  if (r.success) return r.data;
  // Report "expected host:port, got 'x'" rather than the union's bare "Invalid input".
  for (const issue of r.error.issues) {
    const inner = issue.code === 'invalid_union' ? issue.errors.flat().find((e) => e.code === 'custom') : undefined;
    const message = inner?.message ?? (issue.code === 'invalid_union' ? `expected host:port or a list of them, got ${JSON.stringify(input)}` : issue.message);
    ctx.addIssue({ code: 'custom', path: issue.path, message });
  }
  return z.NEVER;
});

export const samplingRouteSchema = z.object({
  /** Path prefix the rule applies to (`/health`); the longest matching prefix wins. */
  pathPrefix: z.string().startsWith('/'),
  /** Optional method filter (`GET`); absent = every method. */
  method: z.string().optional(),
  /** Name reported as `http.route` on the span. */
  route: z.string().optional(),
  /** Probability of recording a new trace (0–1). */
  rate,
});

/**
 * Mutual TLS on the inbound listener (Istio's PeerAuthentication) and the workload certificate
 * the sidecar presents both inbound and, for `ISTIO_MUTUAL` upstreams, outbound. PEM files; they
 * are re-read on every reload (certificate rotation), see proxy/mtls/material.ts.
 */
export const mtlsSchema = z.object({
  /**
   * `DISABLE`: plaintext HTTP only (the default). `STRICT`: only TLS with a client certificate
   * signed by `caFile` is accepted. `PERMISSIVE`: both on the same port (the first byte decides).
   */
  mode: z.enum(['DISABLE', 'PERMISSIVE', 'STRICT']).default('DISABLE'),
  /** The workload certificate (PEM), with its SPIFFE id as URI SAN. */
  certFile: z.string().min(1).optional(),
  /** Its private key (PEM). */
  keyFile: z.string().min(1).optional(),
  /** The mesh CA certificate(s) (PEM) peers' certificates must chain to. */
  caFile: z.string().min(1).optional(),
  /** Peers' SPIFFE ids must be in this trust domain (`spiffe://<trustDomain>/…`). */
  trustDomain: z.string().min(1).regex(/^[a-z0-9._-]+$/, 'expected a trust domain such as cluster.local (lowercase letters, digits, . _ -)').default('cluster.local'),
}).strict();

export const proxyConfigSchema = z.object({
  /** Workload / service name: `service.name` on spans, `*_workload` metric labels. */
  service: z.string().min(1),
  /** Version label for Istio metrics (`source_version`/`destination_version`); `unknown` when unset. */
  serviceVersion: z.string().default('unknown'),
  /** Interface the listeners bind to. */
  bindHost: z.string().default('127.0.0.1'),
  /** Callers reach the app through this port (0 = ephemeral). */
  inboundPort: port.default(15006),
  /** The app's own calls go here, as HTTP_PROXY or by Host header (0 = ephemeral). */
  outboundPort: port.default(15001),
  /** `/ready`, `/config`, `/metrics` (0 = ephemeral). */
  adminPort: port.default(15000),
  /**
   * Interface the admin listener binds to: loopback by default whatever `bindHost` is, as Envoy's
   * admin should be. Bound elsewhere, its mutating endpoints (`POST /config/reload`) need
   * `adminTokenFile`'s token, and without one they answer 403.
   */
  adminHost: z.string().min(1).default('127.0.0.1'),
  /**
   * File holding the token the admin's mutating endpoints require (`Authorization: Bearer <token>`)
   * when set, wherever the admin is bound. Its content is re-read when the file changes.
   */
  adminTokenFile: z.string().min(1).optional(),
  appHost: z.string().default('127.0.0.1'),
  /** The app's port; inbound requests are forwarded to appHost:appPort. */
  appPort: port.refine((p) => p > 0, 'must be a port number 1–65535'),
  /** OTLP/HTTP base URL (`http://127.0.0.1:4318`); spans go to `<url>/v1/traces`. Empty = no export. */
  collector: z.union([z.literal(''), z.url({ protocol: /^https?$/, error: (iss) => `expected an http:// or https:// URL, got '${String(iss.input)}'` })]).default(''),
  /** File holding a token sent as `Authorization: Bearer <token>` with every span export; re-read when the file changes. */
  collectorTokenFile: z.string().min(1).optional(),
  /** PEM file of the CA(s) that sign an https collector's certificate (replaces the system roots for the exporter). */
  collectorCa: z.string().min(1).optional(),
  /** Outbound routing: a request for host `name` (with or without port) goes to this address (a list: round-robin). */
  upstreams: z.record(z.string().min(1), upstreamEndpointsSchema).default({}),
  /** Formats injected into forwarded requests; W3C tracecontext is always written too. */
  propagators: z.array(z.enum(propagatorNames)).min(1).default(['tracecontext', 'b3']),
  sampling: z.object({
    /** Probability of recording a trace this proxy starts (0–1). Callers' decisions are honoured. */
    rate: rate.default(1),
    /** Per-route rates for inbound requests. */
    routes: z.array(samplingRouteSchema).default([]),
    /** Per-upstream-service rates for outbound calls that start a trace, by upstream name. */
    upstreams: z.record(z.string(), rate).default({}),
  }).default({ rate: 1, routes: [], upstreams: {} }),
  /** Longest wait for the upstream's response headers, ms; then 504 UT. 0 = no limit. A route's `timeoutMs` overrides it. */
  timeoutMs: z.number().int().min(0).default(15_000),
  /**
   * Limits on downstream connections (callers inbound, the app outbound), named after Envoy's
   * HTTP connection manager settings. They bound what a client that opens connections and never
   * finishes a request (slowloris) can hold. Restart-only (the servers are built at start).
   */
  downstream: z.object({
    /**
     * Envoy's `request_headers_timeout`: a request's headers must be complete this long after the
     * connection opened (or, on a kept-alive connection, after the request's first byte), else
     * 408 and the connection is closed. With mTLS on, a connection must also send its first byte
     * and finish its TLS handshake within this time each. Envoy's default is off; 10 s as Node's
     * own `headersTimeout` guidance: slow links send headers in well under a second. 0 = off.
     */
    requestHeadersTimeoutMs: z.number().int().min(0).default(10_000),
    /**
     * Envoy's `common_http_protocol_options.idle_timeout` for a kept-alive connection with no
     * request in flight; then it is closed. Envoy's default is 1 h; 65 s here keeps a connection
     * past common clients' own pool timeouts (so the client, not the proxy, usually closes it and
     * never sends on a socket being closed) while idle sockets do not pile up. 0 = off.
     */
    idleTimeoutMs: z.number().int().min(0).default(65_000),
  }).strict().default({ requestHeadersTimeoutMs: 10_000, idleTimeoutMs: 65_000 }),
  /** Outbound traffic routes (Istio VirtualService-like), first match wins; see proxy/traffic/schema.ts. */
  routes: z.array(trafficRouteSchema).default([]),
  /** Circuit breaking and outlier detection by upstream name (Istio DestinationRule-like). */
  upstreamPolicies: z.record(z.string().min(1), upstreamPolicySchema).default({}),
  /** Mutual TLS (see mtlsSchema); default DISABLE, plaintext as before. */
  mtls: mtlsSchema.default({ mode: 'DISABLE', trustDomain: 'cluster.local' }),
  /** One JSON line per request on stdout. */
  accessLog: z.boolean().default(true),
  export: z.object({
    /** Spans held while the collector is slow or down; beyond this they are dropped and counted. */
    maxQueueSpans: z.number().int().min(1).default(2048),
    /** Spans per OTLP request. */
    maxBatchSpans: z.number().int().min(1).default(512),
    /** Longest a span waits before its batch is sent, ms. */
    flushIntervalMs: z.number().int().min(1).default(1000),
    /** Per-request export timeout, ms. */
    timeoutMs: z.number().int().min(1).default(10_000),
  }).default({ maxQueueSpans: 2048, maxBatchSpans: 512, flushIntervalMs: 1000, timeoutMs: 10_000 }),
  /** Connections kept per upstream origin (undici pool size). */
  maxConnectionsPerUpstream: z.number().int().min(1).default(128),
});

export type ProxyConfigInput = z.input<typeof proxyConfigSchema>;
export type ProxyConfig = z.output<typeof proxyConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid proxy configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Validates a whole configuration; throws ConfigError listing every bad field by its path. */
export function parseProxyConfig(input: unknown): ProxyConfig {
  const r = proxyConfigSchema.safeParse(input);
  if (!r.success) {
    throw new ConfigError(r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`));
  }
  const problems: string[] = [];
  const c = r.data;
  // Cross-field rules.
  const fixed = [['inboundPort', c.inboundPort], ['outboundPort', c.outboundPort], ['adminPort', c.adminPort]] as const;
  for (let i = 0; i < fixed.length; i++) {
    for (let j = i + 1; j < fixed.length; j++) {
      if (fixed[i][1] !== 0 && fixed[i][1] === fixed[j][1]) problems.push(`${fixed[j][0]}: same port as ${fixed[i][0]} (${fixed[i][1]})`);
    }
  }
  for (const name of Object.keys(c.sampling.upstreams)) {
    if (!(name in c.upstreams)) problems.push(`sampling.upstreams.${name}: no upstream named '${name}'`);
  }
  problems.push(...trafficProblems(c));
  const mutual = Object.entries(c.upstreamPolicies).filter(([, p]) => p.tls?.mode === 'ISTIO_MUTUAL').map(([n]) => n);
  if (c.mtls.mode !== 'DISABLE' || mutual.length) {
    const why = c.mtls.mode !== 'DISABLE' ? `mtls.mode is ${c.mtls.mode}` : `upstreamPolicies.${mutual[0]}.tls.mode is ISTIO_MUTUAL`;
    for (const f of ['certFile', 'keyFile', 'caFile'] as const) if (!c.mtls[f]) problems.push(`mtls.${f}: required because ${why}`);
  }
  if (c.collectorCa && !c.collector.startsWith('https:')) problems.push(`collectorCa: applies to an https:// collector only, collector is '${c.collector}'`);
  if (c.collectorTokenFile && !c.collector) problems.push('collectorTokenFile: no collector to send it to (collector is not set)');
  if (problems.length) throw new ConfigError(problems);
  return c;
}

/** Reads a JSON config file; the file's keys are the schema's keys. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) {
    throw new ConfigError([`config: cannot read ${path}: ${(e as Error).message}`]);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('top level must be an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError([`config: ${path} is not a JSON object: ${(e as Error).message}`]);
  }
}

/** Parses repeated `name=host:port` flags into the upstreams map (validated later by the schema). */
export function parseUpstreamFlags(flags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of flags) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new ConfigError([`upstreams: expected name=host:port, got '${f}'`]);
    out[f.slice(0, eq)] = f.slice(eq + 1);
  }
  return out;
}

/** Config file values overlaid with flags (flags win; upstream maps merge). */
export function mergeConfig(file: Record<string, unknown>, flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...file };
  for (const [k, v] of Object.entries(flags)) {
    if (v === undefined) continue;
    if (k === 'upstreams' || k === 'sampling') {
      out[k] = { ...(file[k] as object | undefined), ...(v as object) };
    } else out[k] = v;
  }
  return out;
}

/**
 * The configuration as `/config` shows it, secrets redacted (proxy/secrets.ts `redactSecrets`:
 * a password in the collector URL, header values a route matches for `authorization`/`cookie`,
 * any key named like a secret). Token and key files appear by path only; their content is never
 * part of the configuration.
 */
export function publicConfig(c: ProxyConfig, bound: { inboundPort: number; outboundPort: number; adminPort: number }) {
  return redactSecrets({ ...c, ...bound });
}
