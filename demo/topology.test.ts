import { describe, expect, it } from 'vitest';
import { parseDemoConfig, parseLoadgenConfig } from './config.js';
import { pickPath, pickUser } from './loadgen.js';
import { runSummary } from './orchestrator.js';
import { BOOKSHOP, serviceNames, startLayers, type DemoService } from './topology.js';

describe('bookshop topology', () => {
  it('starts callees before callers', () => {
    expect(startLayers().map((l) => l.map((s) => s.id))).toEqual([
      ['details', 'ratings-v1', 'ratings-v2'],
      ['reviews-v1', 'reviews-v2', 'reviews-v3'],
      ['productpage'],
    ]);
  });

  it('refuses unknown callees and cycles', () => {
    const a: DemoService = { id: 'a', service: 'a', version: 'v1', script: 'a.mjs', calls: ['b'] };
    const b: DemoService = { id: 'b', service: 'b', version: 'v1', script: 'b.mjs', calls: ['a'] };
    expect(() => startLayers([a])).toThrow(/a calls unknown service 'b'/);
    expect(() => startLayers([a, b])).toThrow(/call cycle among a, b/);
  });

  it('names the logical services once each', () => {
    expect(serviceNames()).toEqual(['details', 'ratings', 'reviews', 'productpage']);
  });
});

describe('load mix', () => {
  it('asks for HTML product pages and JSON products of the three books', () => {
    const seq = (...v: number[]) => { let i = 0; return () => v[i++ % v.length]; };
    expect(pickPath(seq(0, 0.1))).toBe('/productpage?id=0');
    expect(pickPath(seq(0.99, 0.9))).toBe('/api/v1/products/2');
  });

  it('signs one request in five in as jason (routed to reviews v2 by demo/mesh.json)', () => {
    expect(pickUser(() => 0.1)).toBe('jason');
    expect(pickUser(() => 0.5)).toBeUndefined();
  });
});

describe('demo options', () => {
  it('has defaults a newcomer can run with', () => {
    expect(parseDemoConfig({})).toEqual({ duration: 0, loadDuration: 600_000, rps: 3, errorRate: 0.02, slowRate: 0.05, latencyScale: 1, verbose: false });
    expect(parseDemoConfig({ duration: '20s', port: '0', rps: '0.5' })).toMatchObject({ duration: 20_000, port: 0, rps: 0.5 });
  });

  it('names every bad flag', () => {
    expect(() => parseDemoConfig({ duration: 'later', rps: '0', errorRate: '2', queryPort: '70000' }))
      .toThrow(/--duration: expected a duration[\s\S]*--rps: expected a number[\s\S]*--query-port[\s\S]*--error-rate/);
    expect(() => parseLoadgenConfig({ target: 'productpage:9080' })).toThrow(/--target/);
  });
});

describe('demo banner', () => {
  it('says the load runs as long as the demo when the demo is shorter than the load', () => {
    const defaults = parseDemoConfig({ duration: '40s' });
    expect(runSummary(defaults)).toBe('Load: 3 requests/s for 40 s; the demo ends after 40 s.');
    expect(runSummary({ ...defaults, loadDuration: 10_000 })).toBe('Load: 3 requests/s for 10 s; the demo ends after 40 s.');
    expect(runSummary({ ...defaults, loadDuration: 0 })).toBe('Load: 3 requests/s for 40 s; the demo ends after 40 s.');
    expect(runSummary(parseDemoConfig({}))).toBe('Load: 3 requests/s for 600 s; Ctrl-C stops everything.');
    expect(runSummary({ ...parseDemoConfig({}), loadDuration: 0 })).toBe('Load: 3 requests/s; Ctrl-C stops everything.');
  });
});

