/**
 * `meshtrace demo` settings: CLI strings in, validated values out. Every invalid flag is reported,
 * each by its name (exit 2). Plain data; defaults live here, not in the orchestrator.
 */
import { z } from 'zod';
import { parseDurationUs } from '../config/units.js';

/** Flag per setting, for error messages. */
export const demoFlags = {
  duration: '--duration', loadDuration: '--load-duration', rps: '--rps', port: '--port', queryPort: '--query-port',
  otlpHttpPort: '--otlp-http-port', dataDir: '--data-dir', errorRate: '--error-rate', slowRate: '--slow-rate',
  latencyScale: '--latency-scale', target: '--target',
} as const;

const durationMs = z.string().transform((raw, ctx) => {
  const us = /^\d+$/.test(raw) ? Number(raw) * 1_000_000 : parseDurationUs(raw);
  if (us === undefined || us < 0) {
    ctx.addIssue({ code: 'custom', message: `expected a duration such as 20s, 5m or 0, got '${raw}'` });
    return z.NEVER;
  }
  return Math.round(us / 1000);
});
const num = (min: number, max: number) => z.string().transform((raw, ctx) => {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    ctx.addIssue({ code: 'custom', message: `expected a number ${min}–${max}, got '${raw}'` });
    return z.NEVER;
  }
  return n;
});
const port = num(0, 65535).refine(Number.isInteger, 'must be an integer port');

export const demoConfigSchema = z.object({
  /** ms the whole demo runs; 0 = until Ctrl-C. */
  duration: durationMs.default(0),
  /** ms the load generator runs (the UI stays up afterwards); 0 = as long as the demo. */
  loadDuration: durationMs.default(10 * 60_000),
  /** Product-page requests per second. */
  rps: num(0.1, 200).default(3),
  /** Product page (its sidecar's inbound port); undefined = 9080, or a free port if 9080 is taken; 0 = a free port. */
  port: port.optional(),
  /** Query API + UI; undefined = 16686 or a free port; 0 = a free port. */
  queryPort: port.optional(),
  /** OTLP/HTTP receiver; undefined = 4318 or a free port; 0 = a free port. */
  otlpHttpPort: port.optional(),
  /** Where the SQLite store goes; undefined = a temp dir removed at the end. */
  dataDir: z.string().min(1).optional(),
  /** Probability that details/ratings answer 500. */
  errorRate: num(0, 1).default(0.02),
  /** Probability of a 300–700 ms slow ratings lookup. */
  slowRate: num(0, 1).default(0.05),
  /** Multiplier of all simulated latencies (0 = none). */
  latencyScale: num(0, 100).default(1),
  /** Echo every child's output (sidecars, services) to stderr. */
  verbose: z.boolean().default(false),
});
export type DemoConfig = z.output<typeof demoConfigSchema>;

export const loadgenConfigSchema = z.object({
  /** Base URL of the product page. */
  target: z.url({ protocol: /^https?$/ }),
  rps: num(0.1, 200).default(3),
  /** ms; 0 = until SIGINT/SIGTERM. */
  duration: durationMs.default(0),
});
export type LoadgenConfig = z.output<typeof loadgenConfigSchema>;

export class DemoConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid options:\n  ${problems.join('\n  ')}`);
    this.name = 'DemoConfigError';
  }
}

function parseWith<S extends z.ZodType>(schema: S, raw: Record<string, unknown>): z.output<S> {
  const given = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  const r = schema.safeParse(given);
  if (r.success) return r.data;
  throw new DemoConfigError(r.error.issues.map((i) => {
    const key = String(i.path[0] ?? '');
    const flag = (demoFlags as Record<string, string>)[key] ?? key;
    return `${flag}: ${i.message}`;
  }));
}

export const parseDemoConfig = (raw: Record<string, unknown>): DemoConfig => parseWith(demoConfigSchema, raw);
export const parseLoadgenConfig = (raw: Record<string, unknown>): LoadgenConfig => parseWith(loadgenConfigSchema, raw);
