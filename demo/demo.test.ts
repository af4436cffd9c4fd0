/**
 * The demo as a user runs it: `meshtrace demo` as a real process tree (all-in-one in the demo
 * process, six `meshtrace inject` sidecars, six OTel-instrumented services, the load generator),
 * checked through the query API and the sidecar's /metrics, then stopped the way a terminal's
 * Ctrl-C does (SIGINT to the whole process group) and by its own --duration, leaving no process
 * and no listening port behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from './service-process.js';
import { EXPECTED_EDGES, serviceNames } from './topology.js';

interface JaegerSpan {
  spanID: string; operationName: string; processID: string; startTime: number;
  references: { refType: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
}
interface JaegerTrace { traceID: string; spans: JaegerSpan[]; processes: Record<string, { serviceName: string; tags: { key: string; value: unknown }[] }> }

interface Banner {
  productPage: string; query: string; metrics: string; otlp: string;
  instances: { id: string; version: string; ports: number[] }[];
}

interface DemoRun { child: ChildProcess; marker: string; output(): string; banner: Promise<Banner>; exited: Promise<number | null> }

const running: DemoRun[] = [];

function runDemo(args: string[]): DemoRun {
  const marker = randomUUID();
  // detached: its own process group, so the test can send SIGINT to the whole group like a terminal.
  const child = spawn(process.execPath, [CLI, 'demo', '--port', '0', '--query-port', '0', '--otlp-http-port', '0', ...args], {
    env: { ...process.env, MESHTRACE_DEMO_TEST_MARKER: marker },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => { out += c; });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { out += c; });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const banner = new Promise<Banner>((resolve, reject) => {
    const check = () => {
      if (!/Started in/.test(out)) return false;
      const url = (label: string) => new RegExp(`${label}\\s+(http://\\S+)`).exec(out)![1];
      const instances = [...out.matchAll(/^ {2}(\S+)\s+(v\d)\s+127\.0\.0\.1:(\d+)\s+(\d+)\s+(\d+)$/gm)]
        .map((m) => ({ id: m[1], version: m[2], ports: [Number(m[3]), Number(m[4]), Number(m[5])] }));
      resolve({ productPage: url('Product page'), query: new URL(url('Traces \\(UI\\)')).origin, metrics: url('Sidecar metrics'), otlp: url('OTLP/HTTP'), instances });
      return true;
    };
    const onData = () => { if (check()) child.stdout!.off('data', onData); };
    child.stdout!.on('data', onData);
    void exited.then((code) => reject(new Error(`demo exited (${code}) before it started:\n${out}`)));
  });
  banner.catch(() => undefined); // awaited by the tests that need it; not an unhandled rejection otherwise
  const run = { child, marker, output: () => out, banner, exited };
  running.push(run);
  return run;
}

afterAll(async () => {
  for (const r of running) {
    if (r.child.exitCode === null && r.child.signalCode === null) {
      try { process.kill(-r.child.pid!, 'SIGKILL'); } catch { /* gone */ }
    }
  }
  // Anything a failed run left behind (found by its marker) is killed too.
  for (const r of running) for (const pid of processesWith(r.marker)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
});

/** Processes whose environment carries the marker (the demo and every descendant inherit it). */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').includes(`MESHTRACE_DEMO_TEST_MARKER=${marker}`)) pids.push(Number(d));
    } catch { /* exited meanwhile, or not ours */ }
  }
  return pids;
}

/** TCP ports in LISTEN state on this host (IPv4 and IPv6), from /proc/net. */
function listeningPorts(): Set<number> {
  const ports = new Set<number>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = readFileSync(f, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A') ports.add(parseInt(cols[1].split(':').pop()!, 16));
    }
  }
  return ports;
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) { last = err; }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`${url}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

const tag = (s: { tags: { key: string; value: unknown }[] }, k: string) => s.tags.find((t) => t.key === k)?.value;

/** Every root-to-leaf path as `service:kind:sidecar|app` labels; the waterfall's shape, order-free. */
function shape(t: JaegerTrace): string[] {
  const byId = new Map(t.spans.map((s) => [s.spanID, s]));
  const children = new Map<string, JaegerSpan[]>();
  const roots: JaegerSpan[] = [];
  for (const s of t.spans) {
    const parent = s.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
    if (parent && byId.has(parent)) children.set(parent, [...(children.get(parent) ?? []), s]);
    else roots.push(s);
  }
  const label = (s: JaegerSpan) => `${t.processes[s.processID].serviceName}:${tag(s, 'span.kind')}:${tag(s, 'component') === 'proxy' ? 'sidecar' : 'app'}`;
  const paths: string[] = [];
  const walk = (s: JaegerSpan, prefix: string[]) => {
    const here = [...prefix, label(s)];
    const kids = children.get(s.spanID) ?? [];
    if (!kids.length) paths.push(here.join(' > '));
    for (const k of kids) walk(k, here);
  };
  for (const r of roots) walk(r, []);
  return paths.sort();
}

const PP = 'productpage:server:sidecar > productpage:server:app';
/**
 * A product-page request served by reviews v2 or v3, every call answered on its first try: every
 * hop through two sidecars. (A retried call would have one more level: its tries.)
 */
const STARRED_SHAPE = [
  `${PP} > productpage:client:sidecar > details:server:sidecar > details:server:app > details:internal:app`,
  `${PP} > productpage:client:sidecar > reviews:server:sidecar > reviews:server:app > reviews:client:sidecar > ratings:server:sidecar > ratings:server:app > ratings:internal:app`,
  `${PP} > productpage:client:sidecar > reviews:server:sidecar > reviews:server:app > reviews:internal:app`,
  `${PP} > productpage:internal:app`,
].sort();

async function expectNothingLeft(run: DemoRun, b: Banner) {
  expect(processesWith(run.marker)).toEqual([]);
  const ports = [b.productPage, b.query, b.metrics, b.otlp].map((u) => Number(new URL(u).port)).concat(b.instances.flatMap((i) => i.ports));
  const listening = listeningPorts();
  expect(ports.filter((p) => listening.has(p))).toEqual([]);
}

describe('meshtrace demo', () => {
  it('shows the bookshop\'s traces, graph and round-robin across reviews v1/v2/v3; Ctrl-C leaves nothing behind', async () => {
    const run = runDemo(['--duration', '120s', '--rps', '5', '--error-rate', '0', '--slow-rate', '0', '--latency-scale', '0.2']);
    const b = await run.banner;
    expect(b.instances.map((i) => `${i.id} ${i.version}`).sort()).toEqual(['details v1', 'productpage v1', 'ratings-v1 v1', 'ratings-v2 v2', 'reviews-v1 v1', 'reviews-v2 v2', 'reviews-v3 v3']);
    // Discovery, not flags: the banner offers the canary through the control plane.
    expect(run.output()).toContain('meshtrace mesh apply -f demo/canary.json');

    // Every service is in the store.
    await eventually('the query API lists all services', async () => {
      const { data } = await getJson<{ data: string[] }>(`${b.query}/api/services`);
      return serviceNames().every((s) => data.includes(s)) ? data : undefined;
    });

    // A product-page trace through reviews v2/v3 has every hop, sidecar spans between the apps' spans.
    const starred = await eventually('a complete product-page trace via reviews v2/v3', async () => {
      const { data } = await getJson<{ data: JaegerTrace[] }>(`${b.query}/api/traces?service=ratings&operation=${encodeURIComponent('GET /ratings/{id}')}&limit=20&lookback=1h`);
      for (const found of data) {
        const { data: [t] } = await getJson<{ data: JaegerTrace[] }>(`${b.query}/api/traces/${found.traceID}`);
        if (shape(t).join('\n') === STARRED_SHAPE.join('\n')) return t;
      }
      return undefined;
    });
    const clients = starred.spans.filter((s) => tag(s, 'span.kind') === 'client');
    expect(clients.map((s) => tag(s, 'peer.service')).sort()).toEqual(['details', 'ratings', 'reviews']);
    expect(clients.map((s) => tag(s, 'upstream_cluster')).every((c) => typeof c === 'string' && c.startsWith('outbound|'))).toBe(true);

    // The service graph.
    const edges = await eventually('the dependency graph has every edge', async () => {
      const { data } = await getJson<{ data: { parent: string; child: string }[] }>(`${b.query}/api/dependencies?endTs=${Date.now()}&lookback=3600000`);
      const got = data.map((d) => `${d.parent}->${d.child}`).sort();
      return EXPECTED_EDGES.every(([p, c]) => got.includes(`${p}->${c}`)) ? got : undefined;
    });
    expect(edges).toEqual(EXPECTED_EDGES.map(([p, c]) => `${p}->${c}`).sort());

    // All three reviews versions served requests: in the traces (resource service.version) …
    const versions = await eventually('traces from reviews v1, v2 and v3', async () => {
      const { data } = await getJson<{ data: JaegerTrace[] }>(`${b.query}/api/traces?service=reviews&limit=30&lookback=1h`);
      const seen = new Set<string>();
      for (const t of data) {
        for (const p of Object.values(t.processes)) if (p.serviceName === 'reviews') seen.add(String(tag(p, 'service.version')));
      }
      return ['v1', 'v2', 'v3'].every((v) => seen.has(v)) ? [...seen].sort() : undefined;
    });
    expect(versions).toEqual(['v1', 'v2', 'v3']);
    // … and in the productpage sidecar's Istio metrics (destination_version from peer metadata).
    const metrics = await (await fetch(b.metrics)).text();
    for (const v of ['v1', 'v2', 'v3']) {
      expect(metrics).toMatch(new RegExp(`istio_requests_total\\{reporter="source",[^}]*destination_service="reviews",[^}]*destination_version="${v}"[^}]*\\} [1-9]`));
    }

    // Bookinfo's route (demo/mesh.json): a request signed in as jason always gets reviews v2;
    // the productpage sidecar's CLIENT span names the route.
    const origin = new URL(b.productPage).origin;
    const jasonVersions = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${origin}/api/v1/products/0`, { headers: { 'end-user': 'jason' } });
      jasonVersions.add(((await r.json()) as { reviews: { version: string } }).reviews.version);
    }
    expect([...jasonVersions]).toEqual(['v2']);
    await eventually('a productpage CLIENT span routed by reviews-jason', async () => {
      const { data } = await getJson<{ data: JaegerTrace[] }>(`${b.query}/api/traces?service=productpage&tags=${encodeURIComponent('{"http.route":"reviews-jason"}')}&limit=1&lookback=1h`);
      return data.length > 0 ? data : undefined;
    });

    // The mesh in the trace: ratings v2 fails one call in five and reviews' route retries it, on
    // another endpoint; productpage's details route delays one call in five by a fault.
    const retried = await eventually('a retried ratings call', async () => {
      const { data } = await getJson<{ data: JaegerTrace[] }>(`${b.query}/api/traces?service=reviews&tag=meshtrace.retried:true&limit=1&lookback=1h`);
      return data[0];
    });
    const tries = retried.spans.filter((s) => tag(s, 'meshtrace.attempt') !== undefined && tag(s, 'peer.service') === 'ratings');
    expect(tries.length).toBeGreaterThanOrEqual(2);
    expect(tries.map((s) => tag(s, 'http.response.status_code'))).toContain(503);
    expect(tries.find((s) => tag(s, 'meshtrace.attempt') === 2) && tag(tries.find((s) => tag(s, 'meshtrace.attempt') === 2)!, 'http.request.resend_count')).toBe(1);
    await eventually('a details call delayed by the fault', async () => {
      const { data } = await getJson<{ data: JaegerTrace[] }>(`${b.query}/api/traces?service=productpage&tag=meshtrace.fault:delay&limit=1&lookback=1h`);
      return data[0];
    });

    // The product page itself renders.
    // The product page renders and links to its own trace, which the store then has in full.
    const page = await fetch(b.productPage);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Book reviews');
    const link = new RegExp(`href="${b.query}/trace/([0-9a-f]{32})"`).exec(html);
    expect(link, 'link to the page\'s trace').not.toBeNull();
    const own = await eventually('the page\'s own trace', async () => {
      const r = await fetch(`${b.query}/api/traces/${link![1]}`);
      if (r.status !== 200) return undefined;
      const { data: [t] } = (await r.json()) as { data: JaegerTrace[] };
      // 11 via reviews v1, 15 via v2/v3. Each process exports on its own schedule and productpage's
      // own spans end last (after its response), so 11 spans can be in before the root: wait for it too.
      return t.spans.length >= 11 && /^productpage:server:sidecar > productpage:server:app/.test(shape(t)[0] ?? '') ? t : undefined;
    });
    expect(shape(own)[0]).toMatch(/^productpage:server:sidecar > productpage:server:app/);

    // Ctrl-C in a terminal: SIGINT to the whole process group.
    process.kill(-run.child.pid!, 'SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.output()).toMatch(/meshtrace demo: stopped \(\d+ requests sent/);
    await expectNothingLeft(run, b);
  }, 150_000);

  it('stops by itself after --duration, leaving no process or port behind', async () => {
    const run = runDemo(['--duration', '2s', '--latency-scale', '0']);
    const b = await run.banner;
    expect(await run.exited).toBe(0);
    await expectNothingLeft(run, b);
  }, 90_000);

  it('leaves no orphans even when the demo process is killed with SIGKILL', async () => {
    const run = runDemo(['--latency-scale', '0']);
    const b = await run.banner;
    process.kill(run.child.pid!, 'SIGKILL');
    await run.exited;
    // The services see their stdin pipe close and exit; each `inject` then stops its sidecar.
    await eventually('every child of the killed demo gone', async () => (processesWith(run.marker).length === 0 ? true : undefined), 20_000);
    const listening = listeningPorts();
    expect(b.instances.flatMap((i) => i.ports).filter((p) => listening.has(p))).toEqual([]);
    // Only the temp data dir survives a SIGKILL (nobody is left to remove it).
    const dataDir = /data in (\S+)\)/.exec(run.output())![1];
    rmSync(dataDir, { recursive: true, force: true });
  }, 90_000);

  it('Ctrl-C during start-up undoes what was started: children, listeners, temp data dir', async () => {
    const run = runDemo([]);
    const dataDir = await eventually('the start-up line', async () => /data in (\S+)\)/.exec(run.output())?.[1], 20_000);
    // Some sidecars are starting now (inject processes spawned, not yet ready).
    await eventually('a sidecar process', async () => (processesWith(run.marker).length > 1 ? true : undefined), 20_000);
    process.kill(-run.child.pid!, 'SIGINT');
    expect([0, 130]).toContain(await run.exited);
    expect(processesWith(run.marker)).toEqual([]);
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);

  it('names a bad flag and exits 2', async () => {
    const run = runDemo(['--rps', 'lots', '--duration', 'soon']);
    await run.banner.catch(() => undefined);
    expect(await run.exited).toBe(2);
    expect(run.output()).toMatch(/--rps: expected a number/);
    expect(run.output()).toMatch(/--duration: expected a duration/);
  });
});
