/**
 * Fuzz target of the sidecar's config schema (see test/fuzz/target.ts): configs assembled from
 * valid and invalid field values (routes, retries, faults, upstream policies, mTLS), and
 * mutations of their JSON text. Only `ConfigError` may be thrown, each problem names its field,
 * and an accepted config is accepted again unchanged (it is what `/config` shows and what a
 * reload re-validates).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type FuzzTarget, mutatedString, onlyTyped, refusalLabel, textCodec, withSeeds } from '../test/fuzz/target.js';
import { ConfigError, parseProxyConfig } from './config.js';

const portish = fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(-1, 70000, 1.5, '80', null));
const hostPort = fc.oneof(fc.constantFrom('127.0.0.1:16006', '[::1]:80', 'h:1', 'h:1,h:2', 'nohost', 'h:0', ':80', 'h:99999'), fc.tuple(fc.domain(), fc.integer({ min: 0, max: 70000 })).map(([h, p]) => `${h}:${p}`));
const upstreamName = fc.constantFrom('reviews-v1', 'reviews-v2', 'ratings', 'ghost');
const route = fc.record({
  name: fc.string({ maxLength: 8 }),
  host: fc.constantFrom('reviews', 'ratings', ''),
  match: fc.array(fc.record({
    pathPrefix: fc.constantFrom('/', '/reviews', 'x'),
    method: fc.constantFrom('GET', 'POST', 'get'),
    headers: fc.dictionary(fc.constantFrom('end-user', 'x'), fc.oneof(fc.record({ exact: fc.string({ maxLength: 5 }) }), fc.record({ regex: fc.constantFrom('(', 'a.*', '[a-') }), fc.record({ prefix: fc.constant('p') })), { maxKeys: 2 }),
  }, { requiredKeys: [] }), { maxLength: 2 }),
  destinations: fc.array(fc.record({ upstream: upstreamName, weight: fc.integer({ min: -1, max: 100 }) }, { requiredKeys: ['upstream'] }), { maxLength: 3 }),
  timeoutMs: fc.integer({ min: -1, max: 10_000 }),
  retries: fc.record({ attempts: fc.integer({ min: -1, max: 5 }), perTryTimeoutMs: fc.nat({ max: 1000 }), retryOn: fc.array(fc.constantFrom('5xx', 'connect-failure', 'reset', 'retriable-status-codes', 'sometimes'), { maxLength: 3 }), retriableStatusCodes: fc.array(fc.integer({ min: 99, max: 600 }), { maxLength: 2 }) }, { requiredKeys: [] }),
  fault: fc.record({ delay: fc.record({ percent: fc.integer({ min: -1, max: 101 }), fixedDelayMs: fc.nat({ max: 100 }) }), abort: fc.record({ percent: fc.integer({ min: 0, max: 101 }), httpStatus: fc.integer({ min: 99, max: 600 }) }) }, { requiredKeys: [] }),
}, { requiredKeys: ['host', 'destinations'] });

const config = fc.record({
  service: fc.oneof(fc.constantFrom('reviews', ''), fc.string({ maxLength: 6 })),
  appPort: portish,
  inboundPort: portish,
  outboundPort: portish,
  adminPort: portish,
  collector: fc.constantFrom('', 'http://127.0.0.1:4318', 'https://c:4318/', 'ftp://x', 'not a url'),
  upstreams: fc.dictionary(upstreamName, fc.oneof(hostPort, fc.array(hostPort, { maxLength: 2 })), { maxKeys: 3 }),
  propagators: fc.array(fc.constantFrom('tracecontext', 'baggage', 'b3', 'b3multi', 'jaeger', 'w3c'), { maxLength: 3 }),
  sampling: fc.record({ rate: fc.double({ min: -0.5, max: 1.5, noNaN: true }), upstreams: fc.dictionary(upstreamName, fc.double({ min: 0, max: 1, noNaN: true }), { maxKeys: 2 }) }, { requiredKeys: [] }),
  timeoutMs: fc.integer({ min: -1, max: 20_000 }),
  routes: fc.array(route, { maxLength: 2 }),
  upstreamPolicies: fc.dictionary(upstreamName, fc.record({ maxRequests: fc.integer({ min: 0, max: 10 }), outlierDetection: fc.record({ consecutive5xxErrors: fc.integer({ min: 0, max: 5 }), maxEjectionPercent: fc.integer({ min: 0, max: 120 }) }, { requiredKeys: [] }) }, { requiredKeys: [] }), { maxKeys: 2 }),
  mtls: fc.record({ mode: fc.constantFrom('DISABLE', 'PERMISSIVE', 'STRICT', 'ON'), certFile: fc.constant('/c.pem'), keyFile: fc.constant('/k.pem'), caFile: fc.constant('/ca.pem'), trustDomain: fc.constantFrom('cluster.local', 'Bad Domain') }, { requiredKeys: ['mode'] }),
  accessLog: fc.oneof(fc.boolean(), fc.constant('yes')),
  export: fc.record({ maxQueueSpans: fc.integer({ min: 0, max: 4096 }), maxBatchSpans: fc.integer({ min: 0, max: 1024 }) }, { requiredKeys: [] }),
}, { requiredKeys: ['service', 'appPort'] });

/** JSON round trip: the generator's null-prototype objects become plain ones, as a file would give. */
const configJson = config.map((c) => JSON.stringify(c));

function check(input: unknown): string {
  const r = onlyTyped([ConfigError], () => parseProxyConfig(input));
  if ('refused' in r) {
    for (const p of (r.refused as ConfigError).problems) assert.match(p, /^[^:]+: ./, `problem without a field: ${p}`);
    return refusalLabel(r.refused).replace(/:.*/, '') + `:${(r.refused as ConfigError).problems[0]?.split(':')[0].replace(/\d+/g, '_')}`;
  }
  const c = r.ok;
  for (const p of [c.inboundPort, c.outboundPort, c.adminPort]) assert.ok(Number.isInteger(p) && p >= 0 && p <= 65535);
  assert.ok(c.appPort >= 1 && c.appPort <= 65535);
  assert.ok(c.service.length > 0);
  // Accepted again as it is (reload and the control plane re-validate what a sidecar shows).
  assert.deepEqual(parseProxyConfig(JSON.parse(JSON.stringify(c))), c);
  return 'ok';
}

export const proxyConfigFuzzTargets: FuzzTarget[] = [
  {
    name: 'proxy-config',
    cost: 20,
    arbitrary: (seeds) => fc.oneof(configJson, mutatedString(withSeeds(configJson, seeds as string[]))),
    check(input: string) {
      let doc: unknown;
      try { doc = JSON.parse(input); } catch { return 'not-json'; }
      return check(doc);
    },
    ...textCodec,
  } satisfies FuzzTarget<string>,
];
