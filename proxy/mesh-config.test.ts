import { describe, expect, it } from 'vitest';
import { ConfigError, parseProxyConfig, proxyConfigSchema } from './config.js';
import { deepMerge, selectServiceConfig } from './mesh-config.js';
import { planReload, RESTART_ONLY_KEYS } from './reload.js';

function problems(f: () => unknown): string[] {
  try { f(); } catch (e) { if (e instanceof ConfigError) return e.problems; throw e; }
  return [];
}

const MESH = {
  collector: 'http://127.0.0.1:4318',
  upstreams: { ratings: '10.0.0.1:9080', details: '10.0.0.2:9080' },
  sampling: { rate: 0.1, routes: [{ pathPrefix: '/health', rate: 0 }] },
  propagators: ['tracecontext', 'b3'],
  services: {
    reviews: { appPort: 9080, upstreams: { ratings: '10.0.0.9:9080' }, sampling: { rate: 1 } },
    ratings: { appPort: 9081, propagators: ['jaeger'], sampling: { routes: [] } },
  },
};

describe('mesh-wide config file', () => {
  it('merges the service\'s section over the top level: objects merge, arrays and scalars replace', () => {
    const reviews = selectServiceConfig(MESH, 'reviews');
    expect(reviews).toEqual({
      collector: 'http://127.0.0.1:4318', appPort: 9080, propagators: ['tracecontext', 'b3'],
      upstreams: { ratings: '10.0.0.9:9080', details: '10.0.0.2:9080' },
      sampling: { rate: 1, routes: [{ pathPrefix: '/health', rate: 0 }] },
    });
    const ratings = selectServiceConfig(MESH, 'ratings');
    expect(ratings).toMatchObject({ appPort: 9081, propagators: ['jaeger'], sampling: { rate: 0.1, routes: [] }, upstreams: MESH.upstreams });
    expect(ratings).not.toHaveProperty('services');
    // The file is left as it was.
    expect(MESH.upstreams.ratings).toBe('10.0.0.1:9080');
  });

  it('takes the service name from the top level when no flag names it, and gives a service without a section the top level', () => {
    expect(selectServiceConfig({ ...MESH, service: 'ratings' }, undefined)).toMatchObject({ service: 'ratings', appPort: 9081 });
    const other = selectServiceConfig(MESH, 'productpage');
    expect(other).toEqual({ collector: MESH.collector, upstreams: MESH.upstreams, sampling: MESH.sampling, propagators: MESH.propagators });
    // A plain file passes through untouched.
    const plain = { service: 's', appPort: 1 };
    expect(selectServiceConfig(plain, 's')).toBe(plain);
  });

  it('names unknown keys, a `service` key and malformed entries in every section', () => {
    const p = problems(() => selectServiceConfig({ services: { reviews: { smapling: { rate: 1 } }, ratings: { service: 'x', timeoutMs: 5 }, details: 3 } }, 'reviews'));
    expect(p).toHaveLength(3);
    expect(p[0]).toMatch(/^services\.reviews\.smapling: unknown key \(known: .*sampling.*\)$/);
    expect(p[1]).toMatch(/^services\.ratings\.service: not allowed/);
    expect(p[2]).toBe('services.details: expected an object of overrides');
    expect(problems(() => selectServiceConfig({ services: [] }, 'x'))).toEqual(['services: expected an object of per-service overrides, keyed by service name']);
  });

  it('deepMerge replaces arrays and lets scalars replace objects', () => {
    expect(deepMerge({ a: [1, 2], b: { c: 1, d: 2 }, e: { f: 1 } }, { a: [3], b: { d: 4 }, e: 'x' })).toEqual({ a: [3], b: { c: 1, d: 4 }, e: 'x' });
  });
});

describe('reload plan', () => {
  const base = parseProxyConfig({ service: 'reviews', appPort: 9080, upstreams: { ratings: '127.0.0.1:1' } });

  it('applies reloadable keys and keeps restart-only ones, naming nested ones by path', () => {
    const next = parseProxyConfig({
      service: 'renamed', appPort: 9090, inboundPort: 16006, upstreams: { ratings: '127.0.0.1:2' },
      sampling: { rate: 0.5 }, export: { maxBatchSpans: 7 }, timeoutMs: 100,
    });
    const plan = planReload(base, next);
    expect(plan.changed).toBe(true);
    expect(plan.restartRequired).toEqual(['service', 'inboundPort', 'export.maxBatchSpans']);
    expect(plan.effective).toMatchObject({ service: 'reviews', inboundPort: 15006, appPort: 9090, upstreams: { ratings: { port: 2 } }, sampling: { rate: 0.5 }, timeoutMs: 100 });
    expect(plan.effective.export).toEqual(base.export);
  });

  it('reports no change for the same configuration (key order aside) and for a restart-only change alone', () => {
    expect(planReload(base, parseProxyConfig({ appPort: 9080, upstreams: { ratings: '127.0.0.1:1' }, service: 'reviews' }))).toEqual({ effective: base, restartRequired: [], changed: false });
    const plan = planReload(base, { ...base, adminPort: 1 });
    expect(plan).toMatchObject({ changed: false, restartRequired: ['adminPort'] });
  });

  it('lists only schema keys', () => {
    for (const k of RESTART_ONLY_KEYS) expect(Object.keys(proxyConfigSchema.shape)).toContain(k);
  });
});
