import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, mergeConfig, parseProxyConfig, parseUpstreamFlags, readConfigFile } from './config.js';

function problems(input: unknown): string[] {
  try { parseProxyConfig(input); } catch (e) { if (e instanceof ConfigError) return e.problems; throw e; }
  return [];
}

describe('proxy config', () => {
  it('fills defaults', () => {
    const c = parseProxyConfig({ service: 'reviews', appPort: 9080 });
    expect(c).toMatchObject({
      inboundPort: 15006, outboundPort: 15001, adminPort: 15000, appHost: '127.0.0.1', bindHost: '127.0.0.1',
      propagators: ['tracecontext', 'b3'], sampling: { rate: 1, routes: [], upstreams: {} }, timeoutMs: 15000, accessLog: true, collector: '',
    });
  });
  it('parses upstreams and accepts an already parsed configuration again', () => {
    const c = parseProxyConfig({ service: 's', appPort: 1, upstreams: { ratings: '127.0.0.1:16006', v6: '[::1]:80' } });
    expect(c.upstreams).toEqual({ ratings: { host: '127.0.0.1', port: 16006 }, v6: { host: '::1', port: 80 } });
    expect(parseProxyConfig(c)).toEqual(c);
  });
  it('reports every invalid field by name', () => {
    const p = problems({ service: '', appPort: 0, inboundPort: 70000, collector: 'ftp://x', upstreams: { a: 'nohost' }, propagators: ['w3c'], sampling: { rate: 2 }, timeoutMs: -1 });
    const fields = p.map((x) => x.split(':')[0]);
    expect(fields).toEqual(expect.arrayContaining(['service', 'appPort', 'inboundPort', 'collector', 'upstreams.a', 'propagators.0', 'sampling.rate', 'timeoutMs']));
  });
  it('names nested and type errors by their path', () => {
    const p = problems({
      service: 5, appPort: 1.5, bindHost: null, accessLog: 'yes', maxConnectionsPerUpstream: 0, propagators: [],
      sampling: { routes: [{ pathPrefix: 'health', rate: 0 }, { pathPrefix: '/x', rate: 1, method: 3 }], upstreams: { a: 'x' } },
      export: { maxBatchSpans: 0, flushIntervalMs: 'soon' }, upstreams: { a: { host: '', port: 0 }, b: [] },
    });
    const fields = p.map((x) => x.split(':')[0]);
    expect(fields.sort()).toEqual([
      'accessLog', 'appPort', 'bindHost', 'export.flushIntervalMs', 'export.maxBatchSpans', 'maxConnectionsPerUpstream', 'propagators',
      'sampling.routes.0.pathPrefix', 'sampling.routes.1.method', 'sampling.upstreams.a', 'service', 'upstreams.a.host', 'upstreams.a.port', 'upstreams.b',
    ]);
    expect(problems({ service: 's', appPort: 1, collector: 'not a url' })).toEqual(["collector: expected an http:// or https:// URL, got 'not a url'"]);
    expect(problems('x')).toEqual(['(root): Invalid input: expected object, received string']);
  });
  it('keeps optional route fields absent and fills export defaults field by field', () => {
    const c = parseProxyConfig({ service: 's', appPort: 1, sampling: { routes: [{ pathPrefix: '/a', rate: 0.5 }] }, export: { maxBatchSpans: 7 } });
    expect(c.sampling.routes).toEqual([{ pathPrefix: '/a', rate: 0.5 }]);
    expect(c.export).toEqual({ maxQueueSpans: 2048, maxBatchSpans: 7, flushIntervalMs: 1000, timeoutMs: 10_000 });
  });
  it('checks cross-field rules', () => {
    expect(problems({ service: 's', appPort: 1, inboundPort: 15001 })).toEqual(['outboundPort: same port as inboundPort (15001)']);
    expect(problems({ service: 's', appPort: 1, sampling: { upstreams: { ghost: 0.5 } } })).toEqual(["sampling.upstreams.ghost: no upstream named 'ghost'"]);
  });
  it('parses --upstream flags and names a malformed one', () => {
    expect(parseUpstreamFlags(['a=h:1', 'b=[::1]:2'])).toEqual({ a: 'h:1', b: '[::1]:2' });
    expect(() => parseUpstreamFlags(['nope'])).toThrow(/upstreams: expected name=host:port, got 'nope'/);
  });
  it('merges a config file with flags, flags winning and upstream maps merging', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshtrace-proxy-config-'));
    try {
      const f = join(dir, 'proxy.json');
      writeFileSync(f, JSON.stringify({ service: 'from-file', appPort: 8080, upstreams: { a: 'h:1' }, sampling: { rate: 0.1, routes: [{ pathPrefix: '/health', rate: 0 }] } }));
      const c = parseProxyConfig(mergeConfig(readConfigFile(f), { service: 'from-flag', upstreams: { b: 'h:2' }, sampling: { rate: 0.5 }, appPort: undefined }));
      expect(c).toMatchObject({ service: 'from-flag', appPort: 8080, upstreams: { a: { host: 'h', port: 1 }, b: { host: 'h', port: 2 } }, sampling: { rate: 0.5, routes: [{ pathPrefix: '/health', rate: 0 }] } });
      writeFileSync(f, '[1]');
      expect(() => readConfigFile(f)).toThrow(/is not a JSON object/);
      expect(() => readConfigFile(join(dir, 'missing.json'))).toThrow(/config: cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
