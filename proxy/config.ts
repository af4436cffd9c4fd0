import { readFileSync } from 'node:fs';
import { propagatorNames, type PropagatorName } from './propagation/context.js';

/**
 * The sidecar's configuration: plain data. `parseProxyConfig` validates it, fills defaults and
 * reports every invalid field by its path (`sampling.routes.0.rate: …`); `mergeConfig` overlays
 * CLI flags on a JSON config file (flags win). Ports: 0 means "pick a free ephemeral port".
 *
 * Validation is hand-written rather than a zod schema: the sidecar runs beside every service,
 * and zod alone was ~7–11 MiB of its resident memory. The rules are the schema's, field by field;
 * unknown keys are ignored, as zod's objects did.
 */

export type HostPort = { host: string; port: number };

export interface SamplingRoute {
  /** Path prefix the rule applies to (`/health`); the longest matching prefix wins. */
  pathPrefix: string;
  /** Optional method filter (`GET`); absent = every method. */
  method?: string;
  /** Name reported as `http.route` on the span. */
  route?: string;
  /** Probability of recording a new trace (0–1). */
  rate: number;
}

export interface ProxyConfig {
  /** Workload / service name: `service.name` on spans, `*_workload` metric labels. */
  service: string;
  /** Version label for Istio metrics (`source_version`/`destination_version`); `unknown` when unset. */
  serviceVersion: string;
  /** Interface the listeners bind to. */
  bindHost: string;
  /** Callers reach the app through this port (0 = ephemeral). */
  inboundPort: number;
  /** The app's own calls go here, as HTTP_PROXY or by Host header (0 = ephemeral). */
  outboundPort: number;
  /** `/ready`, `/config`, `/metrics` (0 = ephemeral). */
  adminPort: number;
  appHost: string;
  /** The app's port; inbound requests are forwarded to appHost:appPort. */
  appPort: number;
  /** OTLP/HTTP base URL (`http://127.0.0.1:4318`); spans go to `<url>/v1/traces`. Empty = no export. */
  collector: string;
  /** Outbound routing: a request for host `name` (with or without port) goes to this address (a list: round-robin). */
  upstreams: Record<string, HostPort | HostPort[]>;
  /** Formats injected into forwarded requests; W3C tracecontext is always written too. */
  propagators: PropagatorName[];
  sampling: {
    /** Probability of recording a trace this proxy starts (0–1). Callers' decisions are honoured. */
    rate: number;
    /** Per-route rates for inbound requests. */
    routes: SamplingRoute[];
    /** Per-upstream-service rates for outbound calls that start a trace, by upstream name. */
    upstreams: Record<string, number>;
  };
  /** Longest wait for the upstream's response headers, ms; then 504 UT. 0 = no limit. */
  timeoutMs: number;
  /** One JSON line per request on stdout. */
  accessLog: boolean;
  export: {
    /** Spans held while the collector is slow or down; beyond this they are dropped and counted. */
    maxQueueSpans: number;
    /** Spans per OTLP request. */
    maxBatchSpans: number;
    /** Longest a span waits before its batch is sent, ms. */
    flushIntervalMs: number;
    /** Per-request export timeout, ms. */
    timeoutMs: number;
  };
  /** Connections kept per upstream origin (undici pool size). */
  maxConnectionsPerUpstream: number;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends (infer E)[] ? E[] : T[K] extends object ? DeepPartial<T[K]> : T[K] };
/** What `parseProxyConfig` accepts: every field but `service` and `appPort` optional; upstream addresses may be `host:port` strings. */
export type ProxyConfigInput = Omit<DeepPartial<ProxyConfig>, 'upstreams'> & {
  service: string;
  appPort: number;
  upstreams?: Record<string, string | HostPort | (string | HostPort)[]>;
};

export const defaultExportConfig = (): ProxyConfig['export'] => ({ maxQueueSpans: 2048, maxBatchSpans: 512, flushIntervalMs: 1000, timeoutMs: 10_000 });

/** Collects problems by field path while reading a value; every reader returns a fallback on failure. */
class Checker {
  readonly problems: string[] = [];
  fail(path: string, message: string): void { this.problems.push(`${path || '(root)'}: ${message}`); }

  string(path: string, v: unknown, dflt: string | undefined, minLength = 0): string {
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v !== 'string') { this.fail(path, `expected a string, got ${describe(v)}`); return ''; }
    if (v.length < minLength) this.fail(path, `must not be empty`);
    return v;
  }

  number(path: string, v: unknown, dflt: number | undefined, o: { int?: boolean; min?: number; max?: number }): number {
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) { this.fail(path, `expected a number, got ${describe(v)}`); return 0; }
    if (o.int && !Number.isSafeInteger(v)) this.fail(path, `expected an integer, got ${v}`);
    else if (o.min !== undefined && v < o.min) this.fail(path, `must be ≥ ${o.min}, got ${v}`);
    else if (o.max !== undefined && v > o.max) this.fail(path, `must be ≤ ${o.max}, got ${v}`);
    return v;
  }

  port(path: string, v: unknown, dflt: number | undefined): number {
    return this.number(path, v, dflt, { int: true, min: 0, max: 65535 });
  }

  rate(path: string, v: unknown, dflt: number | undefined): number {
    return this.number(path, v, dflt, { min: 0, max: 1 });
  }

  object(path: string, v: unknown): Record<string, unknown> | undefined {
    if (v === undefined) return {};
    if (typeof v !== 'object' || v === null || Array.isArray(v)) { this.fail(path, `expected an object, got ${describe(v)}`); return undefined; }
    return v as Record<string, unknown>;
  }

  /** A record whose keys are non-empty and whose values `each` reads. */
  record<T>(path: string, v: unknown, each: (p: string, x: unknown) => T): Record<string, T> {
    const o = this.object(path, v);
    const out: Record<string, T> = {};
    if (!o) return out;
    for (const [k, x] of Object.entries(o)) {
      if (k.length === 0) { this.fail(path, 'names must not be empty'); continue; }
      out[k] = each(`${path}.${k}`, x);
    }
    return out;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'object') return 'an object';
  return String(v);
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/;

/** `host:port` (hosts may be names, IPv4, or `[v6]`) or an already parsed {host, port}. */
function hostPort(c: Checker, path: string, v: unknown): HostPort {
  if (typeof v === 'string') {
    const m = HOST_PORT.exec(v.trim());
    const p = m ? Number(m[2]) : NaN;
    if (!m || p < 1 || p > 65535) { c.fail(path, `expected host:port, got '${v}'`); return { host: '', port: 0 }; }
    return { host: m[1].replace(/^\[|\]$/g, ''), port: p };
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    return { host: c.string(`${path}.host`, o['host'], undefined, 1), port: c.number(`${path}.port`, o['port'], undefined, { int: true, min: 1, max: 65535 }) };
  }
  c.fail(path, `expected host:port or a list of them, got ${JSON.stringify(v)}`);
  return { host: '', port: 0 };
}

/** One address, or a non-empty list (`'h:p,h:p'` or an array) that proxy/load-balancer.ts balances round-robin. */
function upstreamEndpoints(c: Checker, path: string, v: unknown): HostPort | HostPort[] {
  const input = typeof v === 'string' && v.includes(',') ? v.split(',') : v;
  if (!Array.isArray(input)) return hostPort(c, path, input);
  if (input.length === 0) c.fail(path, 'expected at least one host:port');
  return input.map((x, i) => hostPort(c, `${path}.${i}`, x));
}

function collectorUrl(c: Checker, path: string, v: unknown): string {
  const s = c.string(path, v, '');
  if (s === '') return s;
  let ok = false;
  try { ok = /^https?:$/.test(new URL(s).protocol); } catch { /* not a URL */ }
  if (!ok) c.fail(path, `expected an http:// or https:// URL, got '${s}'`);
  return s;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid proxy configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Validates a whole configuration and fills defaults; throws ConfigError listing every bad field by its path. */
export function parseProxyConfig(input: unknown): ProxyConfig {
  const c = new Checker();
  const o = c.object('', input);
  if (!o) throw new ConfigError(c.problems);
  const sampling = c.object('sampling', o['sampling']) ?? {};
  const exp = c.object('export', o['export']) ?? {};
  const dx = defaultExportConfig();
  const appPort = c.port('appPort', o['appPort'], undefined);
  if (appPort === 0 && typeof o['appPort'] === 'number') c.fail('appPort', 'must be a port number 1–65535');
  let propagators: PropagatorName[] = ['tracecontext', 'b3'];
  if (o['propagators'] !== undefined) {
    const p = o['propagators'];
    if (!Array.isArray(p)) c.fail('propagators', `expected a list, got ${describe(p)}`);
    else if (p.length === 0) c.fail('propagators', 'expected at least one propagator');
    else {
      propagators = p as PropagatorName[];
      p.forEach((x, i) => {
        if (!(propagatorNames as readonly unknown[]).includes(x)) c.fail(`propagators.${i}`, `expected one of ${propagatorNames.join(', ')}, got ${describe(x)}`);
      });
    }
  }
  let routes: SamplingRoute[] = [];
  if (sampling['routes'] !== undefined) {
    const rs = sampling['routes'];
    if (!Array.isArray(rs)) c.fail('sampling.routes', `expected a list, got ${describe(rs)}`);
    else {
      routes = rs.map((r, i) => {
        const p = `sampling.routes.${i}`;
        const ro = c.object(p, r ?? null) ?? {};
        const route: SamplingRoute = { pathPrefix: c.string(`${p}.pathPrefix`, ro['pathPrefix'], undefined), rate: c.rate(`${p}.rate`, ro['rate'], undefined) };
        if (typeof ro['pathPrefix'] === 'string' && !ro['pathPrefix'].startsWith('/')) c.fail(`${p}.pathPrefix`, `must start with '/', got '${ro['pathPrefix']}'`);
        if (ro['method'] !== undefined) route.method = c.string(`${p}.method`, ro['method'], undefined);
        if (ro['route'] !== undefined) route.route = c.string(`${p}.route`, ro['route'], undefined);
        return route;
      });
    }
  }
  const cfg: ProxyConfig = {
    service: c.string('service', o['service'], undefined, 1),
    serviceVersion: c.string('serviceVersion', o['serviceVersion'], 'unknown'),
    bindHost: c.string('bindHost', o['bindHost'], '127.0.0.1'),
    inboundPort: c.port('inboundPort', o['inboundPort'], 15006),
    outboundPort: c.port('outboundPort', o['outboundPort'], 15001),
    adminPort: c.port('adminPort', o['adminPort'], 15000),
    appHost: c.string('appHost', o['appHost'], '127.0.0.1'),
    appPort,
    collector: collectorUrl(c, 'collector', o['collector']),
    upstreams: c.record('upstreams', o['upstreams'], (p, v) => upstreamEndpoints(c, p, v)),
    propagators,
    sampling: {
      rate: c.rate('sampling.rate', sampling['rate'], 1),
      routes,
      upstreams: c.record('sampling.upstreams', sampling['upstreams'], (p, v) => c.rate(p, v, undefined)),
    },
    timeoutMs: c.number('timeoutMs', o['timeoutMs'], 15_000, { int: true, min: 0 }),
    accessLog: o['accessLog'] === undefined ? true : typeof o['accessLog'] === 'boolean' ? o['accessLog'] : (c.fail('accessLog', `expected true or false, got ${describe(o['accessLog'])}`), true),
    export: {
      maxQueueSpans: c.number('export.maxQueueSpans', exp['maxQueueSpans'], dx.maxQueueSpans, { int: true, min: 1 }),
      maxBatchSpans: c.number('export.maxBatchSpans', exp['maxBatchSpans'], dx.maxBatchSpans, { int: true, min: 1 }),
      flushIntervalMs: c.number('export.flushIntervalMs', exp['flushIntervalMs'], dx.flushIntervalMs, { int: true, min: 1 }),
      timeoutMs: c.number('export.timeoutMs', exp['timeoutMs'], dx.timeoutMs, { int: true, min: 1 }),
    },
    maxConnectionsPerUpstream: c.number('maxConnectionsPerUpstream', o['maxConnectionsPerUpstream'], 128, { int: true, min: 1 }),
  };
  if (c.problems.length) throw new ConfigError(c.problems);
  // Cross-field rules.
  const problems: string[] = [];
  const fixed = [['inboundPort', cfg.inboundPort], ['outboundPort', cfg.outboundPort], ['adminPort', cfg.adminPort]] as const;
  for (let i = 0; i < fixed.length; i++) {
    for (let j = i + 1; j < fixed.length; j++) {
      if (fixed[i][1] !== 0 && fixed[i][1] === fixed[j][1]) problems.push(`${fixed[j][0]}: same port as ${fixed[i][0]} (${fixed[i][1]})`);
    }
  }
  for (const name of Object.keys(cfg.sampling.upstreams)) {
    if (!(name in cfg.upstreams)) problems.push(`sampling.upstreams.${name}: no upstream named '${name}'`);
  }
  if (problems.length) throw new ConfigError(problems);
  return cfg;
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

/** The configuration as `/config` shows it (config holds no secrets today; keep this the one place to redact). */
export function publicConfig(c: ProxyConfig, bound: { inboundPort: number; outboundPort: number; adminPort: number }) {
  return { ...c, ...bound };
}
