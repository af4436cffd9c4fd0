import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeBasePath, uiRoutes } from './ui.js';

const INDEX = `<!doctype html><html><head><base href="/" /><meta name="meshtrace-api-base" content="/" />
<script type="module" src="./assets/index-abc123.js"></script></head><body></body></html>`;

let dist: string;
beforeAll(() => {
  dist = mkdtempSync(join(tmpdir(), 'meshtrace-ui-'));
  mkdirSync(join(dist, 'assets'));
  writeFileSync(join(dist, 'index.html'), INDEX);
  writeFileSync(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
});
afterAll(() => rmSync(dist, { recursive: true, force: true }));

async function app(opts: { basePath: string; distDir?: string; apiBasePath?: string; preloadTrace?: boolean }): Promise<FastifyInstance> {
  const a = Fastify({ routerOptions: { ignoreTrailingSlash: true } });
  await a.register(uiRoutes, { distDir: dist, ...opts });
  return a;
}

describe('ui routes', () => {
  it('serves index.html for every deep link with no-cache and the base path injected', async () => {
    const a = await app({ basePath: '/' });
    for (const url of ['/', '/search?service=x', '/trace/0af7651916cd43dd8448eb211c80319c', '/dependencies', '/monitor?service=x', '/compare/aa...bb']) {
      const res = await a.inject(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.body).toContain('<base href="/" />');
    }
    await a.close();
  });

  it('preloads the compact trace on trace pages, only for hex ids', async () => {
    const a = await app({ basePath: '/' });
    const page = await a.inject('/trace/0AF7651916cd43dd');
    expect(page.body).toContain('<link rel="preload" href="/api/ext/traces/0AF7651916cd43dd/compact" as="fetch" crossorigin="anonymous" />');
    const bad = await a.inject('/trace/%22%3E%3Cscript%3E');
    expect(bad.statusCode).toBe(200);
    expect(bad.body).not.toContain('preload');
    expect(bad.body).not.toContain('<script>');
    expect((await a.inject('/search')).body).not.toContain('preload');
    await a.close();
    const off = await app({ basePath: '/', preloadTrace: false });
    expect((await off.inject('/trace/abc')).body).not.toContain('preload');
    await off.close();
  });

  it('serves hashed assets as immutable', async () => {
    const a = await app({ basePath: '/' });
    const res = await a.inject('/assets/index-abc123.js');
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toContain('immutable');
    expect(res.headers['cache-control']).toContain('max-age=31536000');
    expect(res.body).toBe('console.log(1)');
    expect((await a.inject('/assets/missing.js')).statusCode).toBe(404);
    await a.close();
  });

  it('mounts under a base path, rewrites <base> and the API base, and redirects /', async () => {
    const a = await app({ basePath: 'jaeger', apiBasePath: '/jaeger' });
    const page = await a.inject('/jaeger/trace/abc');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<base href="/jaeger/" />');
    expect(page.body).toContain('<meta name="meshtrace-api-base" content="/jaeger/" />');
    expect((await a.inject('/jaeger/assets/index-abc123.js')).statusCode).toBe(200);
    expect((await a.inject('/assets/index-abc123.js')).statusCode).toBe(404);
    expect((await a.inject('/trace/abc')).statusCode).toBe(404);
    const root = await a.inject('/');
    expect(root.statusCode).toBe(302);
    expect(root.headers.location).toBe('/jaeger/');
    await a.close();
  });

  it('says how to build the UI when dist is missing', async () => {
    const a = await app({ basePath: '/', distDir: join(dist, 'nope') });
    const res = await a.inject('/search');
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build:ui');
    await a.close();
  });

  it('normalizes and validates base paths', () => {
    expect(normalizeBasePath('')).toBe('/');
    expect(normalizeBasePath('/')).toBe('/');
    expect(normalizeBasePath('jaeger/')).toBe('/jaeger/');
    expect(normalizeBasePath('/a/b')).toBe('/a/b/');
    expect(() => normalizeBasePath('/a"><script>')).toThrow(/basePath/);
    expect(() => normalizeBasePath('/a/../b')).toThrow(/basePath/);
  });
});
