/**
 * Configuration reload on a real sidecar: real config files in a temp directory (rewritten in
 * place and by rename, as editors and ConfigMaps do), real upstream servers, requests through the
 * outbound and inbound listeners. The config source is the CLI's own (cli/proxy.ts), so a reload
 * re-reads the file and merges flags exactly as `meshtrace proxy` does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromOptions, reloadOptions } from '../cli/proxy.js';
import { startSidecar, type Sidecar } from './sidecar.js';
import { lineCollector, listen, send, waitFor, type Running } from './testing/harness.js';

/** Answers `{ name, traceparent }`; `/slow` waits until `release()` (then answers). */
async function upstream(name: string) {
  const held: ServerResponse[] = [];
  const seen: string[] = [];
  const answer = (req: IncomingMessage, res: ServerResponse) => res.end(JSON.stringify({ name, traceparent: req.headers.traceparent ?? null }));
  const r = await listen((req, res) => {
    seen.push(req.url ?? '');
    if (req.url === '/slow') { held.push(res); res.once('close', () => held.splice(held.indexOf(res), 1)); return; }
    answer(req, res);
  });
  return Object.assign(r, { held, seen, release: () => { for (const res of held.splice(0)) res.end(JSON.stringify({ name, slow: true })); } });
}
type Upstream = Awaited<ReturnType<typeof upstream>>;

const viaOutbound = async (sc: Sidecar, host: string, path = '/r') => {
  const r = await send(sc.outboundPort, path, { host });
  return { status: r.status, ...(r.status === 200 ? JSON.parse(r.body) as { name: string; traceparent: string | null } : { name: `status ${r.status}`, traceparent: null }) };
};
const adminJson = async (sc: Sidecar, path: string) => JSON.parse((await send(sc.adminPort, path)).body) as Record<string, unknown> & { reload: Record<string, unknown> };
const sampledFlag = (tp: string | null) => tp?.slice(-2);

let dir: string;
let a: Upstream;
let b: Upstream;
let app: Running;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtrace-reload-'));
  [a, b] = await Promise.all([upstream('A'), upstream('B')]);
  app = await listen((_req, res) => res.end('app'));
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), app?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

/** A sidecar started as `meshtrace proxy --config <file> --service <service> …` is, plus its file watcher. */
async function cliSidecar(file: string, flags: Record<string, unknown>, watch = true) {
  const opts = { config: file, inboundPort: '0', outboundPort: '0', adminPort: '0', accessLog: false, ...flags };
  const diagnostics = lineCollector();
  const ro = reloadOptions(opts);
  const sc = await startSidecar(configFromOptions(opts), {
    ...ro, ...(watch ? { watchOptions: { debounceMs: 50, pollMs: 250 } } : { watchFile: undefined }),
    logger: pino({ level: 'info' }, diagnostics),
  });
  return { sc, diagnostics };
}

describe('config reload from a watched file', () => {
  let sc: Sidecar;
  let diagnostics: ReturnType<typeof lineCollector>;
  let file: string;
  const base = () => ({ service: 'reviews', appPort: app.port, upstreams: { ratings: `127.0.0.1:${a.port}` }, sampling: { rate: 1 } });
  const writeRenamed = (v: unknown) => { writeFileSync(`${file}.tmp`, JSON.stringify(v)); renameSync(`${file}.tmp`, file); };

  beforeAll(async () => {
    file = join(dir, 'watched.json');
    writeFileSync(file, JSON.stringify(base()));
    ({ sc, diagnostics } = await cliSidecar(file, {}));
  });
  afterAll(async () => { await sc?.close({ drainMs: 100 }); });

  it('applies an edit made by rename and one written in place, without a restart', async () => {
    const r0 = await viaOutbound(sc, 'ratings');
    expect(r0).toMatchObject({ status: 200, name: 'A' });
    expect(sampledFlag(r0.traceparent)).toBe('01');
    const before = await adminJson(sc, '/config');
    expect(before.reload).toMatchObject({ version: 1, lastResult: null, file });

    writeRenamed({ ...base(), upstreams: { ratings: `127.0.0.1:${b.port}` } });
    await waitFor(async () => (await viaOutbound(sc, 'ratings')).name === 'B', 'ratings to move to B after a rename', 20_000);
    const after = await adminJson(sc, '/config');
    expect(after.reload).toMatchObject({ version: 2, lastResult: 'applied', problems: [], restartRequired: [] });
    expect(after.upstreams).toEqual({ ratings: { host: '127.0.0.1', port: b.port } });
    // The same ports: nothing restarted.
    expect(after).toMatchObject({ inboundPort: sc.inboundPort, outboundPort: sc.outboundPort, adminPort: sc.adminPort });

    // In place, and the sampling rate with it: new traces are now not sampled.
    writeFileSync(file, JSON.stringify({ ...base(), sampling: { rate: 0 } }));
    await waitFor(async () => (await viaOutbound(sc, 'ratings')).name === 'A', 'ratings back to A after an in-place write', 20_000);
    expect(sampledFlag((await viaOutbound(sc, 'ratings')).traceparent)).toBe('00');
    expect(sc.config.sampling.rate).toBe(0);
    expect(diagnostics.lines.some((l) => l['msg'] === 'config version 3 applied')).toBe(true);
  });

  it('rejects invalid edits, keeps serving the last good configuration, names the field, then applies a valid edit', async () => {
    const good = { ...base(), upstreams: { ratings: `127.0.0.1:${b.port}` } };
    writeRenamed(good);
    await waitFor(async () => (await viaOutbound(sc, 'ratings')).name === 'B', 'the good configuration', 20_000);
    const version = sc.reloadStatus.version;

    const rejectedWith = (needle: string) => waitFor(async () => {
      const c = await adminJson(sc, '/config');
      const problems = c.reload['problems'] as string[];
      return c.reload['lastResult'] === 'rejected' && problems.some((p) => p.includes(needle)) ? c : undefined;
    }, `a rejected reload naming ${needle}`, 20_000);

    writeFileSync(file, '{ "service": "reviews", ');
    await rejectedWith('is not a JSON object');

    writeRenamed({ ...good, sampling: { rate: 7 } });
    let c = await rejectedWith('sampling.rate');
    // No --sampling-rate flag was given, so the problem names the file's key alone.
    expect(c.reload['problems']).toEqual(['sampling.rate: Too big: expected number to be <=1']);

    writeRenamed({ ...good, sampling: { rate: 1, upstreams: { ghost: 0.5 } } });
    c = await rejectedWith('sampling.upstreams.ghost');
    expect(c.reload['problems']).toEqual(["sampling.upstreams.ghost: no upstream named 'ghost'"]);
    expect(c.reload['version']).toBe(version);
    // Still the last good configuration, serving.
    expect(c.sampling).toEqual({ rate: 1, routes: [], upstreams: {} });
    expect((await viaOutbound(sc, 'ratings')).name).toBe('B');
    // The log names every problem's field.
    const errors = diagnostics.lines.filter((l) => l['level'] === 50 && String(l['msg']).startsWith('config reload rejected'));
    expect(errors.map((l) => (l['problems'] as string[]).join(' '))).toEqual(expect.arrayContaining([
      expect.stringContaining('is not a JSON object'), expect.stringContaining('sampling.rate:'), expect.stringContaining('sampling.upstreams.ghost:'),
    ]));
    expect(String(errors.at(-1)!['msg'])).toContain(`version ${version} keeps serving`);
    const metrics = (await send(sc.adminPort, '/metrics')).body;
    expect(metrics).toMatch(/meshtrace_proxy_config_reloads_total\{result="rejected"\} 3/);
    expect(metrics).toContain(`meshtrace_proxy_config_version ${version}`);

    writeRenamed({ ...good, upstreams: { ratings: `127.0.0.1:${a.port}` } });
    await waitFor(async () => (await viaOutbound(sc, 'ratings')).name === 'A', 'a valid edit after rejected ones', 20_000);
    expect(sc.reloadStatus).toMatchObject({ version: version + 1, lastResult: 'applied', problems: [] });
    expect((await send(sc.adminPort, '/metrics')).body).toContain(`meshtrace_proxy_config_version ${version + 1}`);
  });
});

describe('config reload from a Kubernetes ConfigMap volume', () => {
  it('follows the kubelet\'s atomic swap of the ..data symlink', async () => {
    // The kubelet's layout: config.json → ..data/config.json, ..data → ..<timestamp>/; an update
    // writes a new ..<timestamp>/, points ..data_tmp at it and renames ..data_tmp over ..data.
    const cm = join(dir, 'configmap');
    const version = (name: string, port: number) => {
      mkdirSync(join(cm, name), { recursive: true });
      writeFileSync(join(cm, name, 'config.json'), JSON.stringify({ service: 'reviews', appPort: app.port, upstreams: { ratings: `127.0.0.1:${port}` } }));
    };
    version('..2024_01_01', a.port);
    symlinkSync('..2024_01_01', join(cm, '..data'));
    symlinkSync('..data/config.json', join(cm, 'config.json'));
    const { sc } = await cliSidecar(join(cm, 'config.json'), {});
    try {
      expect((await viaOutbound(sc, 'ratings')).name).toBe('A');
      version('..2024_01_02', b.port);
      symlinkSync('..2024_01_02', join(cm, '..data_tmp'));
      renameSync(join(cm, '..data_tmp'), join(cm, '..data'));
      rmSync(join(cm, '..2024_01_01'), { recursive: true });
      await waitFor(async () => (await viaOutbound(sc, 'ratings')).name === 'B', 'the swapped ConfigMap to apply', 20_000);
      expect(sc.reloadStatus).toMatchObject({ version: 2, lastResult: 'applied' });
    } finally {
      await sc.close({ drainMs: 100 });
    }
  });
});

describe('reload semantics', () => {
  let sc: Sidecar;
  let file: string;
  const base = () => ({ service: 'reviews', appPort: app.port, upstreams: { ratings: `127.0.0.1:${a.port}` }, timeoutMs: 15_000 });

  beforeAll(async () => {
    file = join(dir, 'explicit.json');
    writeFileSync(file, JSON.stringify(base()));
    // No watcher: every reload here is the test's own call.
    ({ sc } = await cliSidecar(file, {}, false));
  });
  afterAll(async () => { await sc?.close({ drainMs: 100 }); });

  it('keeps restart-only keys, reports them, and applies the rest', async () => {
    // inboundPort is set by a flag (--inbound-port 0), which wins over the file: not even a change.
    writeFileSync(file, JSON.stringify({
      ...base(), inboundPort: 16999, serviceVersion: 'v9', collector: 'http://127.0.0.1:9', export: { maxBatchSpans: 3 }, maxConnectionsPerUpstream: 2,
      downstream: { requestHeadersTimeoutMs: 500 }, upstreams: { ratings: `127.0.0.1:${b.port}` },
    }));
    const restartRequired = ['serviceVersion', 'collector', 'export.maxBatchSpans', 'maxConnectionsPerUpstream', 'downstream.requestHeadersTimeoutMs'];
    const outcome = sc.reload();
    expect(outcome).toEqual({ result: 'applied', version: 2, problems: [], restartRequired });
    expect((await viaOutbound(sc, 'ratings')).name).toBe('B');
    const c = await adminJson(sc, '/config');
    expect(c).toMatchObject({ inboundPort: sc.inboundPort, serviceVersion: 'unknown', collector: '', export: { maxBatchSpans: 512 }, maxConnectionsPerUpstream: 128, downstream: { requestHeadersTimeoutMs: 10_000 } });
    expect(c.reload).toMatchObject({ lastResult: 'applied', restartRequired });
    // The inbound listener still serves on its port.
    expect((await send(sc.inboundPort, '/')).body).toBe('app');
    // Nothing else changed: unchanged, and still reported.
    expect(sc.reload()).toMatchObject({ result: 'unchanged', version: 2, restartRequired });
  });

  it('lets flags win over the reloaded file, as at start-up', async () => {
    writeFileSync(file, JSON.stringify({ ...base(), sampling: { rate: 0 } }));
    const flagged = await cliSidecar(file, { samplingRate: '1' }, false);
    try {
      writeFileSync(file, JSON.stringify({ ...base(), sampling: { rate: 0, upstreams: { ratings: 0 } }, timeoutMs: 1000 }));
      expect(flagged.sc.reload()).toMatchObject({ result: 'applied' });
      expect(flagged.sc.config).toMatchObject({ sampling: { rate: 1, upstreams: { ratings: 0 } }, timeoutMs: 1000 });
    } finally {
      await flagged.sc.close({ drainMs: 100 });
    }
  });

  it('lets a request in flight finish on the configuration it started with; new ones use the new route and timeout', async () => {
    writeFileSync(file, JSON.stringify(base()));
    sc.reload();
    const inflight = viaOutbound(sc, 'ratings', '/slow');
    await waitFor(() => a.held.length === 1, 'the slow request to reach A');
    writeFileSync(file, JSON.stringify({ ...base(), upstreams: { ratings: `127.0.0.1:${b.port}` }, timeoutMs: 200 }));
    expect(sc.reload().result).toBe('applied');
    expect((await viaOutbound(sc, 'ratings')).name).toBe('B');
    // The new timeout applies to a new slow request (B holds it; the sidecar answers 504)…
    const timedOut = await send(sc.outboundPort, '/slow', { host: 'ratings' });
    expect(timedOut.status).toBe(504);
    // …while the old request, on its 15 s timeout and its route to A, is still waiting; release it.
    expect(a.held.length).toBe(1);
    a.release();
    expect(await inflight).toMatchObject({ status: 200, name: 'A' });
    b.release();
  });

  it('applies traffic routes and policies on reload; a route naming an unknown upstream is rejected by its path', async () => {
    const upstreams = { 'ratings-a': `127.0.0.1:${a.port}`, 'ratings-b': `127.0.0.1:${b.port}` };
    const route = (to: string, extra: Record<string, unknown> = {}) => ({ name: `to-${to}`, host: 'ratings', destinations: [{ upstream: to }], ...extra });
    writeFileSync(file, JSON.stringify({ ...base(), upstreams, routes: [route('ratings-a')] }));
    expect(sc.reload().result).toBe('applied');
    expect((await viaOutbound(sc, 'ratings')).name).toBe('A');
    // Header match and a fault abort for everyone else, without a restart.
    writeFileSync(file, JSON.stringify({
      ...base(), upstreams,
      routes: [
        { ...route('ratings-b'), name: 'jason', match: [{ headers: { 'end-user': { exact: 'jason' } } }] },
        route('ratings-a', { fault: { abort: { percent: 100, httpStatus: 418 } } }),
      ],
    }));
    expect(sc.reload().result).toBe('applied');
    expect(JSON.parse((await send(sc.outboundPort, '/r', { host: 'ratings', 'end-user': 'jason' })).body).name).toBe('B');
    const aborted = await send(sc.outboundPort, '/r', { host: 'ratings' });
    expect([aborted.status, aborted.body]).toEqual([418, 'fault filter abort']);
    // An invalid route: rejected, naming the field; the routes above keep serving.
    writeFileSync(file, JSON.stringify({ ...base(), upstreams, routes: [route('ratings-c')] }));
    const rejected = sc.reload();
    expect(rejected.result).toBe('rejected');
    expect(rejected.problems).toEqual([expect.stringMatching(/^routes\.0\.destinations\.0\.upstream: no upstream named 'ratings-c'/)]);
    expect((await send(sc.outboundPort, '/r', { host: 'ratings' })).status).toBe(418);
    // Back to the previous test's configuration, which the next one expects.
    writeFileSync(file, JSON.stringify({ ...base(), upstreams: { ratings: `127.0.0.1:${b.port}` }, timeoutMs: 200 }));
    expect(sc.reload().result).toBe('applied');
  });

  it('answers a programmatic reload with an invalid input as rejected, serving on', async () => {
    const v = sc.reloadStatus.version;
    const outcome = sc.reload({ service: 'reviews', appPort: 'x', upstreams: {}, sampling: { upstreams: { ratings: 2 } } });
    expect(outcome.result).toBe('rejected');
    expect(outcome.version).toBe(v);
    expect(outcome.problems.map((p) => p.split(':')[0]).sort()).toEqual(['appPort', 'sampling.upstreams.ratings']);
    expect((await viaOutbound(sc, 'ratings')).name).toBe('B');
  });
});

describe('a mesh-wide config file', () => {
  const sidecars: Sidecar[] = [];
  afterAll(async () => { await Promise.all(sidecars.map((s) => s.close({ drainMs: 100 }))); });

  it('gives each sidecar its own merged view and rejects an unknown key in a services entry by name', async () => {
    const file = join(dir, 'mesh.json');
    const mesh = (reviewsSection: Record<string, unknown>) => ({
      appPort: app.port,
      upstreams: { ratings: `127.0.0.1:${a.port}`, details: `127.0.0.1:${a.port}` },
      sampling: { rate: 1 },
      services: {
        reviews: reviewsSection,
        ratings: { sampling: { rate: 0 }, timeoutMs: 1234 },
      },
    });
    writeFileSync(file, JSON.stringify(mesh({ upstreams: { ratings: `127.0.0.1:${b.port}` } })));
    const reviews = (await cliSidecar(file, { service: 'reviews' })).sc;
    const ratings = (await cliSidecar(file, { service: 'ratings' })).sc;
    sidecars.push(reviews, ratings);

    expect(reviews.config).toMatchObject({ service: 'reviews', sampling: { rate: 1 }, timeoutMs: 15_000, upstreams: { ratings: { port: b.port }, details: { port: a.port } } });
    expect(ratings.config).toMatchObject({ service: 'ratings', sampling: { rate: 0 }, timeoutMs: 1234, upstreams: { ratings: { port: a.port }, details: { port: a.port } } });
    expect((await viaOutbound(reviews, 'ratings')).name).toBe('B');
    expect((await viaOutbound(ratings, 'ratings')).name).toBe('A');
    expect(sampledFlag((await viaOutbound(ratings, 'details')).traceparent)).toBe('00');
    expect(await adminJson(reviews, '/config')).not.toHaveProperty('services');

    // A typo in reviews' section: both sidecars reject the file, naming the key; both keep serving.
    writeFileSync(file, JSON.stringify(mesh({ upstreams: { ratings: `127.0.0.1:${a.port}` }, smapling: { rate: 0 } })));
    for (const sc of [reviews, ratings]) {
      await waitFor(() => sc.reloadStatus.lastResult === 'rejected', `${sc.config.service} to reject the typo`, 20_000);
      expect(sc.reloadStatus.problems).toEqual([expect.stringMatching(/^services\.reviews\.smapling: unknown key/)]);
    }
    expect((await viaOutbound(reviews, 'ratings')).name).toBe('B');

    // Fixed: reviews picks up its new section; ratings' view is the same as before, so nothing changes for it.
    writeFileSync(file, JSON.stringify(mesh({ upstreams: { ratings: `127.0.0.1:${a.port}` }, sampling: { rate: 0 } })));
    await waitFor(async () => (await viaOutbound(reviews, 'ratings')).name === 'A', 'reviews to apply its fixed section', 20_000);
    expect(sampledFlag((await viaOutbound(reviews, 'ratings')).traceparent)).toBe('00');
    await waitFor(() => ratings.reloadStatus.lastResult === 'unchanged', 'ratings to find its view unchanged', 20_000);
    expect(ratings.reloadStatus.version).toBe(1);
  });
});
