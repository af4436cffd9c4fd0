import * as z from 'zod';

/**
 * Traffic management in the sidecar's config file: `routes` (Istio's VirtualService, reduced to
 * one sidecar's outbound calls) and `upstreamPolicies` (Istio's DestinationRule: circuit breaking
 * and outlier detection). Field names follow Istio's where one exists; durations are ms and say so.
 * Cross-field rules (destinations naming configured upstreams, …) are in `trafficProblems`.
 */

const percent = z.number().min(0).max(100);
const status = z.number().int().min(100).max(599);
const ms = z.number().int().min(0);

/** Header condition: exactly one of exact | prefix | regex | present. */
export const headerMatchSchema = z.object({
  exact: z.string().optional(),
  prefix: z.string().optional(),
  /** JavaScript regular expression, anchored at both ends (Istio's RE2 regex is a full match too). */
  regex: z.string().optional().superRefine((re, ctx) => {
    if (re === undefined) return;
    try { new RegExp(re); } catch (e) { ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(e as Error).message}` }); }
  }),
  /** true: the header must be present (any value); false: it must be absent. */
  present: z.boolean().optional(),
}).strict().superRefine((m, ctx) => {
  const n = [m.exact, m.prefix, m.regex, m.present].filter((v) => v !== undefined).length;
  if (n !== 1) ctx.addIssue({ code: 'custom', message: 'expected exactly one of exact, prefix, regex, present' });
});

/** One request condition; every given field must hold. Paths are matched without the query string. */
export const routeMatchSchema = z.object({
  /** Path starts with this (`/api/`). */
  pathPrefix: z.string().startsWith('/').optional(),
  /** Path equals this exactly. */
  path: z.string().startsWith('/').optional(),
  /** Method, case-insensitive (`GET`). */
  method: z.string().min(1).optional(),
  /** By lowercase header name. */
  headers: z.record(z.string().min(1), headerMatchSchema).optional(),
}).strict().superRefine((m, ctx) => {
  if (m.path !== undefined && m.pathPrefix !== undefined) ctx.addIssue({ code: 'custom', path: ['path'], message: 'give path or pathPrefix, not both' });
});

export const routeDestinationSchema = z.object({
  /** A name in `upstreams`. */
  upstream: z.string().min(1),
  /** Relative share of the route's requests (≥ 0, default 1); the weights of a route must not all be 0. */
  weight: z.number().min(0).optional(),
}).strict();

export const retryOnValues = ['5xx', 'gateway-error', 'connect-failure', 'reset', 'retriable-4xx', 'retriable-status-codes'] as const;
export type RetryOn = (typeof retryOnValues)[number];

export const retryPolicySchema = z.object({
  /** Retries after the first try (Istio's `attempts`): 2 means at most 3 tries; 0 = no retries. */
  attempts: z.number().int().min(0).max(10),
  /** Timeout of each try, ms; absent = only the route timeout bounds them. */
  perTryTimeoutMs: z.number().int().min(1).optional(),
  /** Envoy `retry_on` conditions. Default: Istio's `connect-failure` + `retriable-status-codes` (503). */
  retryOn: z.array(z.enum(retryOnValues)).min(1).optional(),
  /** Statuses `retriable-status-codes` retries (default [503]). */
  retriableStatusCodes: z.array(status).optional(),
}).strict();

export const faultSchema = z.object({
  /** Delay `percent` % of requests by `fixedDelayMs` before they are forwarded (flag DI). */
  delay: z.object({ percent, fixedDelayMs: ms }).strict().optional(),
  /** Answer `percent` % of requests locally with `httpStatus` (flag FI, body `fault filter abort`). */
  abort: z.object({ percent, httpStatus: status }).strict().optional(),
}).strict();

export const trafficRouteSchema = z.object({
  /** Reported as `http.route` on spans and `route_name` in the access log. */
  name: z.string().min(1).optional(),
  /** Host the app called (`reviews`, or `reviews:9080` to match that port only). */
  host: z.string().min(1),
  /** Any entry may match; absent or empty = every request for `host`. */
  match: z.array(routeMatchSchema).optional(),
  /** Weighted random split over these upstreams. */
  destinations: z.array(routeDestinationSchema).min(1),
  /** Overall timeout for the response headers (all tries included), ms; default: the global `timeoutMs`. 0 = none. */
  timeoutMs: ms.optional(),
  retries: retryPolicySchema.optional(),
  fault: faultSchema.optional(),
}).strict().superRefine((r, ctx) => {
  if (r.destinations.length > 0 && r.destinations.every((d) => (d.weight ?? 1) === 0)) ctx.addIssue({ code: 'custom', path: ['destinations'], message: 'weights sum to 0; at least one destination needs a weight > 0' });
});

export const outlierDetectionSchema = z.object({
  /** Consecutive 5xx responses or connect failures/resets/timeouts that eject an endpoint (Istio default 5). */
  consecutive5xxErrors: z.number().int().min(1).default(5),
  /** How often an endpoint that stayed healthy earns back one step of its ejection multiplier, ms (Istio default 10 s). */
  intervalMs: z.number().int().min(1).default(10_000),
  /** Ejection time = baseEjectionTimeMs × times ejected, capped at max(300 s, baseEjectionTimeMs) (Istio default 30 s). */
  baseEjectionTimeMs: z.number().int().min(1).default(30_000),
  /** Most endpoints of the upstream ejected at once, % (Istio default 10); as in Envoy, one endpoint may always be ejected. */
  maxEjectionPercent: percent.default(10),
}).strict();

/**
 * `ISTIO_MUTUAL`: the sidecar originates mTLS to the upstream with the workload certificate of
 * `mtls` (certFile/keyFile), verifies the upstream's chain against `mtls.caFile` and, when
 * `subjectAltNames` is given, that one of the upstream certificate's URI SANs is listed.
 * `DISABLE` (the default): plaintext.
 */
export const upstreamTlsSchema = z.object({
  mode: z.enum(['DISABLE', 'ISTIO_MUTUAL']).default('DISABLE'),
  /** Accepted identities of the upstream (`spiffe://cluster.local/ns/default/sa/reviews`); absent = any certificate the CA signed. */
  subjectAltNames: z.array(z.string().min(1)).min(1).optional(),
}).strict();

export const upstreamPolicySchema = z.object({
  /** Concurrent requests to the upstream (Istio `http2MaxRequests`); beyond → 503 UO. Absent = no limit. */
  maxRequests: z.number().int().min(1).optional(),
  /**
   * Requests waiting for a pooled connection (Istio `http1MaxPendingRequests`): requests in flight
   * beyond `maxConnectionsPerUpstream` × endpoints; beyond → 503 UO. Absent = no limit.
   */
  maxPendingRequests: z.number().int().min(0).optional(),
  outlierDetection: outlierDetectionSchema.optional(),
  /** Client-side TLS toward this upstream (Istio DestinationRule `trafficPolicy.tls`); absent = plaintext. */
  tls: upstreamTlsSchema.optional(),
}).strict();

export type TrafficRoute = z.output<typeof trafficRouteSchema>;
export type RetryPolicy = z.output<typeof retryPolicySchema>;
export type FaultPolicy = z.output<typeof faultSchema>;
export type UpstreamPolicy = z.output<typeof upstreamPolicySchema>;
export type UpstreamTls = z.output<typeof upstreamTlsSchema>;
export type OutlierDetection = z.output<typeof outlierDetectionSchema>;

/** Cross-field rules: every destination and policy names a configured upstream. */
export function trafficProblems(c: { upstreams: Record<string, unknown>; routes: readonly TrafficRoute[]; upstreamPolicies: Record<string, UpstreamPolicy> }): string[] {
  const problems: string[] = [];
  c.routes.forEach((r, i) => r.destinations.forEach((d, j) => {
    if (!(d.upstream in c.upstreams)) problems.push(`routes.${i}.destinations.${j}.upstream: no upstream named '${d.upstream}'`);
  }));
  for (const name of Object.keys(c.upstreamPolicies)) {
    if (!(name in c.upstreams)) problems.push(`upstreamPolicies.${name}: no upstream named '${name}'`);
  }
  return problems;
}
