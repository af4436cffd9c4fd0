/**
 * `--auth-file` end to end: entries made by the real `meshtrace auth token|user` CLI, a real
 * all-in-one server, real OpenTelemetry SDK exporters (OTLP/HTTP protobuf and JSON with headers,
 * OTLP/gRPC with metadata) and plain HTTP clients for Zipkin and the query API. Every listener
 * refuses a missing or wrong credential (401 / UNAUTHENTICATED), a known identity without the
 * role (403 / PERMISSION_DENIED), and accepts the right one; the file reloads when it changes.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureUiBuilt, launchChromium } from '../ui/e2e/browser.js';
import { exportOneSpan } from './helpers/export.js';
import { runCli } from './helpers/process.js';
import { eventually, startTestServer, type TestServer } from './helpers/server.js';

const PASSWORD = 'correct horse battery';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

let dir: string;
let authFile: string;
let server: TestServer;
/** Tokens from `meshtrace auth token`: ingest only, read only. */
let ingestToken: string;
let readToken: string;
let entries: { tokens: unknown[]; users: unknown[] };

async function cliToken(name: string, roles: string): Promise<{ token: string; entry: unknown }> {
  const r = await runCli(['auth', 'token', '--name', name, '--roles', roles]);
  expect(r.code, r.stderr).toBe(0);
  const [token, entry] = r.stdout.trim().split('\n');
  return { token, entry: JSON.parse(entry) };
}

/** Replaces the auth file the way editors and config tools do: write a temp file, rename it over. */
function writeAuthFile(content: unknown): void {
  const tmp = `${authFile}.tmp`;
  writeFileSync(tmp, typeof content === 'string' ? content : JSON.stringify(content));
  renameSync(tmp, authFile);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtrace-auth-'));
  authFile = join(dir, 'auth.json');
  writeFileSync(join(dir, 'pw'), `${PASSWORD}\n`);
  // Three CLI processes at once: each pays tsx's start-up, slow on a loaded machine.
  const [ingest, read, user] = await Promise.all([
    cliToken('ci', 'ingest'),
    cliToken('grafana', 'read'),
    runCli(['auth', 'user', '--name', 'alice', '--roles', 'read', '--password-file', join(dir, 'pw')]),
  ]);
  ingestToken = ingest.token;
  readToken = read.token;
  expect(user.code, user.stderr).toBe(0);
  entries = { tokens: [ingest.entry, read.entry], users: [JSON.parse(user.stdout)] };
  writeAuthFile(entries);
  server = await startTestServer({ authFile });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const proto = (headers?: Record<string, string>) => new ProtoExporter({ url: `${server.otlpHttpUrl}/v1/traces`, headers });
const json = (headers?: Record<string, string>) => new JsonExporter({ url: `${server.otlpHttpUrl}/v1/traces`, headers });
function grpcExporter(authorization?: string) {
  const metadata = new Metadata();
  if (authorization) metadata.set('authorization', authorization);
  return new GrpcExporter({ url: `http://${server.otlpGrpcAddress}`, metadata });
}

/** GET on the query API as the given Authorization (none = no header). */
async function query(path: string, authorization?: string): Promise<Response> {
  return fetch(`${server.queryUrl}${path}`, { headers: authorization ? { authorization } : {} });
}

async function stored(traceId: string): Promise<boolean> {
  const r = await query(`/api/traces/${traceId}`, `Bearer ${readToken}`);
  return r.status === 200;
}

describe('receivers with --auth-file', () => {
  it('OTLP/HTTP protobuf and JSON: no token or a wrong one → 401, a read-only token → 403, the ingest token → stored', async () => {
    for (const make of [proto, json]) {
      const none = await exportOneSpan(make(), 'refused');
      expect(none.ok).toBe(false);
      expect(none.error).toMatch(/401|Unauthorized/);
      const wrong = await exportOneSpan(make({ Authorization: `Bearer ${ingestToken.slice(0, -1)}x` }), 'refused');
      expect(wrong.error).toMatch(/401|Unauthorized/);
      const role = await exportOneSpan(make({ Authorization: `Bearer ${readToken}` }), 'refused');
      expect(role.error).toMatch(/403|Forbidden/);
      const good = await exportOneSpan(make({ Authorization: `Bearer ${ingestToken}` }), 'otlp-http-authed');
      expect(good).toMatchObject({ ok: true });
      expect(await stored(good.traceId)).toBe(true);
      for (const r of [none, wrong, role]) expect(await stored(r.traceId)).toBe(false);
    }
  });

  it('answers 401 with the challenge and an OTLP Status body naming the problem', async () => {
    const res = await fetch(`${server.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="meshtrace", Bearer realm="meshtrace"');
    expect(await res.json()).toMatchObject({ code: 16, message: expect.stringContaining('authentication required') });
  });

  it('OTLP/gRPC: UNAUTHENTICATED without or with a wrong token, PERMISSION_DENIED without the role, stored with the ingest token', async () => {
    const none = await exportOneSpan(grpcExporter(), 'refused');
    expect(none.ok).toBe(false);
    expect(none.error).toMatch(/UNAUTHENTICATED|16/);
    const wrong = await exportOneSpan(grpcExporter(`Bearer nope`), 'refused');
    expect(wrong.error).toMatch(/UNAUTHENTICATED|16/);
    const role = await exportOneSpan(grpcExporter(`Bearer ${readToken}`), 'refused');
    expect(role.error).toMatch(/PERMISSION_DENIED|lacks the 'ingest' role/);
    const good = await exportOneSpan(grpcExporter(`Bearer ${ingestToken}`), 'grpc-authed');
    expect(good).toMatchObject({ ok: true });
    expect(await stored(good.traceId)).toBe(true);
    expect(await stored(none.traceId)).toBe(false);
  });

  it('Zipkin: 401 / 403 / 202, and Basic credentials work where a Bearer token does', async () => {
    const traceId = 'a'.repeat(32);
    const body = JSON.stringify([{ traceId, id: 'b'.repeat(16), name: 'zipkin-op', timestamp: Date.now() * 1000, duration: 10, localEndpoint: { serviceName: 'zipkin-authed' } }]);
    const post = (authorization?: string) => fetch(`${server.zipkinUrl}/api/v2/spans`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body });
    const none = await post();
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Basic realm="meshtrace"');
    expect((await post('Bearer wrong')).status).toBe(401);
    expect((await post(basic('alice', PASSWORD))).status).toBe(403); // a reader, not a sender
    expect(await stored(traceId)).toBe(false);
    expect((await post(`Bearer ${ingestToken}`)).status).toBe(202);
    expect(await stored(traceId)).toBe(true);
  });
});

describe('query API with --auth-file', () => {
  it('refuses without credentials (401 + challenge a browser answers), 403 for an ingest-only token, 200 with read', async () => {
    for (const path of ['/api/services', '/api/v3/services', '/', '/search', '/tempo/api/echo', '/no/such/path']) {
      const res = await query(path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate'), path).toBe('Basic realm="meshtrace", Bearer realm="meshtrace"');
    }
    expect((await query('/api/services', 'Bearer wrong')).status).toBe(401);
    expect((await query('/api/services', basic('alice', 'wrong password'))).status).toBe(401);
    const forbidden = await query('/api/services', `Bearer ${ingestToken}`);
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ errors: [{ code: 403, msg: "'token:ci' lacks the 'read' role" }] });
    for (const authorization of [`Bearer ${readToken}`, basic('alice', PASSWORD)]) {
      const res = await query('/api/services', authorization);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { data: string[] }).data).toContain('zipkin-authed');
    }
    expect((await query('/', basic('alice', PASSWORD))).status).toBe(200);
  });

  it('the UI in Chromium: refused without credentials, works with the browser\'s Basic credentials (API calls included)', async () => {
    await ensureUiBuilt();
    const browser = await launchChromium();
    try {
      // Without credentials, or with wrong ones, the browser gets the Basic challenge and no page
      // (Chromium under Playwright reports an unanswerable challenge as ERR_INVALID_AUTH_CREDENTIALS).
      for (const httpCredentials of [undefined, { username: 'alice', password: 'not the password' }]) {
        const context = await browser.newContext(httpCredentials ? { httpCredentials } : {});
        const page = await context.newPage();
        const seen: { status: number; challenge?: string }[] = [];
        page.on('response', (r) => seen.push({ status: r.status(), challenge: r.headers()['www-authenticate'] }));
        const outcome = await page.goto(`${server.queryUrl}/search?service=zipkin-authed`).then((r) => r?.status(), (err: Error) => err.message);
        expect(String(outcome)).toMatch(/^401$|ERR_INVALID_AUTH_CREDENTIALS/);
        expect(seen.length).toBeGreaterThan(0);
        for (const r of seen) expect(r).toMatchObject({ status: 401, challenge: expect.stringContaining('Basic realm="meshtrace"') });
        await context.close();
      }

      const context = await browser.newContext({ httpCredentials: { username: 'alice', password: PASSWORD } });
      const page = await context.newPage();
      const res = await page.goto(`${server.queryUrl}/search?service=zipkin-authed`);
      expect(res?.status()).toBe(200);
      // The search results come from /api/traces, the service list from /api/services: both authenticated.
      await page.locator(`.result[data-trace-id="${'a'.repeat(32)}"]`).waitFor({ timeout: 15_000 });
      await page.waitForSelector('select[name=service] option[value="zipkin-authed"]', { state: 'attached' });
      await context.close();
    } finally {
      await browser.close();
    }
  });

  it('keeps /health, /ready and /metrics open; /metrics counts failures by listener and reason', async () => {
    for (const path of ['/health', '/ready', '/metrics']) expect((await query(path)).status, path).toBe(200);
    const metrics = await (await query('/metrics')).text();
    const count = (listener: string, reason: string) => Number(new RegExp(`meshtrace_auth_failures_total\\{listener="${listener}",reason="${reason}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    expect(count('query', 'missing')).toBeGreaterThanOrEqual(6);
    expect(count('query', 'forbidden')).toBeGreaterThanOrEqual(1);
    expect(count('query', 'bad-password')).toBeGreaterThanOrEqual(1);
    expect(count('otlp-http', 'missing')).toBeGreaterThanOrEqual(2);
    expect(count('otlp-grpc', 'unknown-token')).toBeGreaterThanOrEqual(1);
    expect(count('zipkin', 'forbidden')).toBeGreaterThanOrEqual(1);
    // The same registry on the OTLP/HTTP port, for a collector without a query port.
    const onReceiver = await fetch(`${server.otlpHttpUrl}/metrics`);
    expect(onReceiver.status).toBe(200);
    expect(await onReceiver.text()).toContain('meshtrace_auth_failures_total');
  });
});

describe('auth file reload', () => {
  it('a new token starts working; an invalid file keeps the last good one; the next valid file applies', async () => {
    const added = await cliToken('added', 'read');
    writeAuthFile({ ...entries, tokens: [...entries.tokens, added.entry] });
    await eventually(async () => (await query('/api/services', `Bearer ${added.token}`)).status === 200);

    // Invalid: it would drop every old entry and add one, but a role is misspelt.
    const later = await cliToken('later', 'read');
    writeAuthFile({ tokens: [{ ...(later.entry as object), roles: ['raed'] }] });
    await new Promise((r) => setTimeout(r, 2_500)); // past the 1 s poll and the debounce
    expect((await query('/api/services', `Bearer ${added.token}`)).status).toBe(200);
    expect((await query('/api/services', `Bearer ${readToken}`)).status).toBe(200);
    expect((await query('/api/services', `Bearer ${later.token}`)).status).toBe(401);

    // Fixed: only "later" remains.
    writeAuthFile({ tokens: [later.entry] });
    await eventually(async () => (await query('/api/services', `Bearer ${later.token}`)).status === 200);
    expect((await query('/api/services', `Bearer ${readToken}`)).status).toBe(401);
    expect((await query('/api/services', basic('alice', PASSWORD))).status).toBe(401);
  }, 120_000); // two CLI runs and two reloads
});

describe('start-up', () => {
  it('an invalid auth file stops the server with the flag and the field named', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ tokens: [{ name: 'x', sha256: 'zz', roles: ['ingest'] }] }));
    await expect(startTestServer({ authFile: bad })).rejects.toThrow(/--auth-file \(MESHTRACE_AUTH_FILE\): .*tokens\[0\]\.sha256: must be the 64 hex characters/);
    await expect(startTestServer({ authFile: join(dir, 'missing.json') })).rejects.toThrow(/--auth-file .*cannot read it \(ENOENT\)/);
  });
});
