/**
 * The admin port's exposure (issue 14, item 4): it listens on loopback unless told otherwise;
 * beyond loopback its mutating endpoint (`POST /config/reload`) needs `Authorization: Bearer` with
 * the token in `adminTokenFile` (--admin-token-file), and without a token file answers 403;
 * `GET /config` never shows a secret.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configFromOptions } from '../cli/proxy.js';
import { ConfigError, proxyConfigSchema } from './config.js';
import { isLoopbackHost, REDACTED, redactSecrets } from './secrets.js';
import { startSidecar, type Sidecar } from './sidecar.js';
import { lineCollector, listen, send, type Running } from './testing/harness.js';
import pino from 'pino';

/** Local address (`a.b.c.d`) of the socket listening on `port`, from /proc/net/tcp (Linux). */
function listeningAddress(port: number): string | undefined {
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== '0A') continue; // 0A = LISTEN
    const [hexAddr, hexPort] = f[1].split(':');
    if (parseInt(hexPort, 16) !== port) continue;
    return [3, 2, 1, 0].map((i) => parseInt(hexAddr.slice(i * 2, i * 2 + 2), 16)).join('.'); // little-endian
  }
  return undefined;
}

const reloads = async (sc: Sidecar, result: string) => Number(new RegExp(`^meshtrace_proxy_config_reloads_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(await sc.metrics.text())?.[1]);
const authFailures = async (sc: Sidecar, reason: string) => Number(new RegExp(`^meshtrace_proxy_admin_auth_failures_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(await sc.metrics.text())?.[1]);
const reload = (sc: Sidecar, headers: Record<string, string> = {}) => send(sc.adminPort, '/config/reload', headers, 'POST');

describe('sidecar admin port', () => {
  let dir: string;
  let app: Running;
  const sidecars: Sidecar[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshtrace-admin-'));
    app = await listen((_req, res) => res.end('ok'));
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => { for (const s of sidecars.splice(0)) await s.close({ drainMs: 50 }); });

  async function start(extra: Record<string, unknown>, logger?: pino.Logger): Promise<Sidecar> {
    const sc = await startSidecar({ service: 'web', appPort: app.port, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false, ...extra }, logger ? { logger } : {});
    sidecars.push(sc);
    return sc;
  }

  it('listens on 127.0.0.1 even when the listeners bind to every interface', async () => {
    const sc = await start({ bindHost: '0.0.0.0' });
    expect(listeningAddress(sc.inboundPort)).toBe('0.0.0.0');
    expect(listeningAddress(sc.adminPort)).toBe('127.0.0.1');
    // On loopback without a token file, reload is open as before.
    expect((await reload(sc)).status).toBe(200);
    expect(await reloads(sc, 'unchanged')).toBe(1);
  });

  it('beyond loopback without a token file: reads answer, POST /config/reload is refused with 403 and a warning at start', async () => {
    const log = lineCollector();
    const sc = await start({ adminHost: '0.0.0.0' }, pino({ level: 'info' }, log));
    expect(listeningAddress(sc.adminPort)).toBe('0.0.0.0');
    expect(log.lines.find((l) => l['level'] === 40 && String(l['msg']).includes('--admin-token-file'))).toMatchObject({ adminHost: '0.0.0.0' });
    const r = await reload(sc, { authorization: 'Bearer anything' });
    expect(r.status).toBe(403);
    expect(r.body).toContain('set --admin-token-file');
    expect(await reloads(sc, 'unchanged')).toBe(0); // nothing was reloaded
    expect(await authFailures(sc, 'refused')).toBe(1);
    for (const path of ['/ready', '/config', '/metrics']) expect((await send(sc.adminPort, path)).status, path).toBe(200);
  });

  it('with a token file: 401 without or with a wrong token, 200 with the right one, and the new token once the file changes', async () => {
    const tokenFile = join(dir, 'admin-token');
    writeFileSync(tokenFile, 'admin-secret-1\n');
    const sc = await start({ adminHost: '0.0.0.0', adminTokenFile: tokenFile });
    const missing = await reload(sc);
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="meshtrace-admin"');
    expect((await reload(sc, { authorization: 'Bearer admin-secret-2' })).status).toBe(401);
    expect((await reload(sc, { authorization: 'Basic YWRtaW4tc2VjcmV0LTE=' })).status).toBe(401);
    expect((await reload(sc, { authorization: 'Bearer admin-secret-1x' })).status).toBe(401);
    expect(await reloads(sc, 'unchanged')).toBe(0);
    expect([await authFailures(sc, 'missing'), await authFailures(sc, 'invalid')]).toEqual([2, 2]);
    const ok = await reload(sc, { authorization: 'Bearer admin-secret-1' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ result: 'unchanged' });
    expect(await reloads(sc, 'unchanged')).toBe(1);

    writeFileSync(tokenFile, 'admin-secret-2\n');
    expect((await reload(sc, { authorization: 'Bearer admin-secret-1' })).status).toBe(401);
    expect((await reload(sc, { authorization: 'bearer admin-secret-2' })).status).toBe(200);
  });

  it('a token file guards reload on loopback too', async () => {
    const tokenFile = join(dir, 'loopback-token');
    writeFileSync(tokenFile, 'loop-secret');
    const sc = await start({ adminTokenFile: tokenFile });
    expect(listeningAddress(sc.adminPort)).toBe('127.0.0.1');
    expect((await reload(sc)).status).toBe(401);
    expect((await reload(sc, { authorization: 'Bearer loop-secret' })).status).toBe(200);
  });

  it('a missing admin token file stops the start, naming the key and the flag', async () => {
    const err = await startSidecar({ service: 'web', appPort: app.port, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false, adminTokenFile: join(dir, 'absent') })
      .then((sc) => { sidecars.push(sc); return undefined; }, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^adminTokenFile \(--admin-token-file\): cannot read .*absent: ENOENT$/)]);
  });

  it('GET /config redacts secrets and shows token and key files by path only', async () => {
    const adminToken = join(dir, 'admin-token-redact');
    const collectorToken = join(dir, 'collector-token-redact');
    writeFileSync(adminToken, 'ADMIN-TOKEN-CONTENT');
    writeFileSync(collectorToken, 'COLLECTOR-TOKEN-CONTENT');
    const sc = await start({
      adminHost: '127.0.0.1', adminTokenFile: adminToken, collectorTokenFile: collectorToken,
      collector: 'http://otel:URL-PASSWORD@127.0.0.1:9/',
      upstreams: { api: '127.0.0.1:9' },
      routes: [{
        name: 'by-credentials', host: 'api', destinations: [{ upstream: 'api' }],
        match: [{ headers: { authorization: { exact: 'Bearer ROUTE-MATCHED-TOKEN' }, cookie: { regex: 'session=COOKIE-VALUE.*' }, 'x-user': { exact: 'alice' }, 'x-api-key': { present: true } } }],
      }],
    });
    const body = (await send(sc.adminPort, '/config')).body;
    for (const secret of ['ADMIN-TOKEN-CONTENT', 'COLLECTOR-TOKEN-CONTENT', 'URL-PASSWORD', 'ROUTE-MATCHED-TOKEN', 'COOKIE-VALUE']) expect(body).not.toContain(secret);
    const c = JSON.parse(body) as Record<string, unknown> & { routes: { match: { headers: Record<string, unknown> }[] }[] };
    expect(c).toMatchObject({ adminHost: '127.0.0.1', adminTokenFile: adminToken, collectorTokenFile: collectorToken, collector: `http://otel:${REDACTED}@127.0.0.1:9/` });
    expect(c.routes[0].match[0].headers).toEqual({
      authorization: { exact: REDACTED }, cookie: { regex: REDACTED }, 'x-user': { exact: 'alice' }, 'x-api-key': { present: true },
    });
    // The running configuration itself is untouched.
    expect(sc.config.collector).toBe('http://otel:URL-PASSWORD@127.0.0.1:9/');
  });
});

describe('admin and collector flags', () => {
  it('map to their config keys; the control plane\'s layer cannot set them', () => {
    const opts = { service: 'web', appPort: '1', adminHost: '0.0.0.0', adminTokenFile: '/etc/admin-token', collector: 'https://c:4318', collectorTokenFile: '/etc/c-token', collectorCa: '/etc/ca.pem' };
    expect(configFromOptions(opts)).toMatchObject({ adminHost: '0.0.0.0', adminTokenFile: '/etc/admin-token', collectorTokenFile: '/etc/c-token', collectorCa: '/etc/ca.pem' });
    const pushed = { adminHost: '0.0.0.0', adminTokenFile: '/tmp/x', collectorTokenFile: '/tmp/y', collectorCa: '/tmp/z', timeoutMs: 1234 };
    const c = configFromOptions({ service: 'web', appPort: '1', collector: 'https://c:4318' }, {}, pushed);
    expect(c).toMatchObject({ adminHost: '127.0.0.1', timeoutMs: 1234 });
    expect([c.adminTokenFile, c.collectorTokenFile, c.collectorCa]).toEqual([undefined, undefined, undefined]);
  });
});

describe('secrets', () => {
  it('tells loopback listen addresses from the rest', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.5', '::ffff:10.0.0.1', 'example.com', 'fe80::1', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('redacts keys named like secrets, URL passwords and secret query parameters', () => {
    expect(redactSecrets({ a: { apiKey: 'k', password: 'p', token: 't', tokenFile: '/f', keyFile: '/k', n: 3 }, u: 'https://h/x?access_token=abc&q=1', plain: 'user:pw' }))
      .toEqual({ a: { apiKey: REDACTED, password: REDACTED, token: REDACTED, tokenFile: '/f', keyFile: '/k', n: 3 }, u: `https://h/x?access_token=${REDACTED}&q=1`, plain: 'user:pw' });
  });

  it('every config key has been considered for redaction', () => {
    // A new key must be added here after deciding whether it can hold a secret (then redactSecrets
    // must catch it by name, URL or header, and the /config test above must show it).
    expect(Object.keys(proxyConfigSchema.shape).sort()).toEqual([
      'accessLog', 'adminHost', 'adminPort', 'adminTokenFile' /* path */, 'appHost', 'appPort',
      'bindHost', 'collector' /* URL: password redacted */, 'collectorCa' /* path */, 'collectorTokenFile' /* path */,
      'downstream', 'export', 'inboundPort', 'maxConnectionsPerUpstream', 'mtls' /* paths */, 'outboundPort', 'propagators',
      'routes' /* header matches redacted */, 'sampling', 'service', 'serviceVersion', 'timeoutMs', 'upstreamPolicies', 'upstreams',
    ]);
  });
});
