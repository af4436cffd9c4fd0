/**
 * Sidecar proxy bench (issue 4, item 8). The same HTTP load against a tiny app:
 *   direct            load → app
 *   1 sidecar         load → sidecar inbound → app
 *   2 sidecars        load → client sidecar outbound → server sidecar inbound → app (a mesh call)
 *   nginx             load → nginx (1 worker, upstream keep-alive) → app   [Debian nginx, if installed]
 *   Node TCP relay    load → a Node process piping bytes to its own app connection → app
 * The relay parses no HTTP and records nothing: it is the floor any proxy written for Node pays
 * on this machine (event loop, two socket reads and two writes per request), measured in the same
 * run so the sidecar's figures can be split into "Node" and "ours". The direct row's CPU is the
 * app's: Node's HTTP server answering the request, the other Node baseline.
 * Each at a fixed 1,000 requests/s (support/constant-rate.ts: open loop, 10 connections, latency
 * from each request's due time, so a stall counts for every request queued behind it — wrk2's
 * coordinated-omission correction; autocannon's `overallRate` has none) for latency and CPU,
 * then saturated (64 connections) for throughput: with wrk (a C load generator in its own process)
 * when the `wrk` package is installed, else autocannon. autocannon runs in the bench's Node process
 * and needs about as much CPU per request as a proxy, so on 2 cores it capped direct and nginx and
 * understated how far the sidecar is from them; the table says which one ran. Sidecars run as real `meshtrace proxy` processes,
 * record every request (sampling 1.0, stricter than Istio's default 1%) and export OTLP to a sink in
 * the bench process; access logs off (Istio's default). CPU from /proc/<pid>/stat of the proxy
 * processes (all sidecars together; nginx master + worker); RSS from /proc/<pid>/status after the
 * fixed-rate run (also its anonymous part: RSS less the file-backed pages of the node binary and
 * libraries, which every sidecar on a machine shares). Everything shares one machine: the load
 * generator competes for the same cores. Sidecars run as `meshtrace proxy` runs for a user: from
 * dist/sidecar.mjs when it is fresh (`MESHTRACE_SIDECAR_BUNDLE=0` in the environment: the sources
 * through tsx, for comparison; `MESHTRACE_BENCH_PROXY_NODE_FLAGS`: node flags for the sidecars only).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile, summarize, type BenchOptions, type BenchTable, type Scenario } from '../scenario.js';
import { constantRate } from './support/constant-rate.js';
import { runWrk, wrkAvailable } from './support/wrk.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(repo, 'bin', 'meshtrace.js');
const CLK_TCK = 100;

interface AutocannonResult { requests: { total: number }; non2xx: number; errors: number; timeouts: number; duration: number; '2xx': number }
type Autocannon = ((opts: Record<string, unknown>, cb: (err: Error | null, r: AutocannonResult) => void) => unknown);
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const APP_SRC = `
const http = require('node:http');
const body = Buffer.from('{"ratings":{"Reviewer1":5,"Reviewer2":4},"id":0,"ok":true}');
http.createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }); res.end(body); });
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\\n'));
`;

/**
 * The floor for a Node proxy: each downstream connection gets its own upstream connection and
 * bytes are piped both ways without parsing (so keep-alive and pipelining pass through as they are).
 */
const RELAY_SRC = `
const net = require('node:net');
const up = Number(process.env.UPSTREAM_PORT);
const server = net.createServer((d) => {
  d.setNoDelay(true);
  const u = net.connect(up, '127.0.0.1');
  u.setNoDelay(true);
  d.pipe(u); u.pipe(d);
  const close = () => { d.destroy(); u.destroy(); };
  d.on('error', close); u.on('error', close); d.on('close', close); u.on('close', close);
}).listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
`;

async function startRelay(appPort: number): Promise<Target> {
  const child = spawn(process.execPath, ['-e', RELAY_SRC], { env: { ...process.env, UPSTREAM_PORT: String(appPort) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await waitForOutput(child, 'stdout', /port (\d+)/, 'Node TCP relay');
  return {
    name: RELAY, url: `http://127.0.0.1:${/\d+/.exec(line)![0]}/reviews/0`,
    pids: () => [child.pid!],
    stop: () => kill(child),
  };
}

const RELAY = 'Node TCP relay (floor)';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function waitForOutput(child: ChildProcess, stream: 'stdout' | 'stderr', match: RegExp, what: string): Promise<string> {
  return new Promise((resolveP, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`${what} did not start: ${buf}`)), 30_000);
    child[stream]!.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = match.exec(buf);
      if (m) { clearTimeout(t); resolveP(m[0]); }
    });
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`${what} exited (${code}): ${buf}`)); });
  });
}

/** utime + stime of a process, seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Resident MiB of a process: all of it (VmRSS) and its anonymous (private) part (RssAnon). */
function rssMiB(pid: number, field: 'VmRSS' | 'RssAnon' = 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch { return []; }
}

interface Target {
  name: string;
  url: string;
  headers?: Record<string, string>;
  /** Processes whose CPU and RSS are the proxy's cost (empty for direct). */
  pids(): number[];
  stop(): Promise<void>;
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); setTimeout(() => child.kill('SIGKILL'), 3000).unref(); });
}

async function startApp(): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', APP_SRC], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await waitForOutput(child, 'stdout', /ready/, 'bench app');
  return { port, child };
}

/** Node flags for the sidecar processes only (`MESHTRACE_BENCH_PROXY_NODE_FLAGS`, space-separated), e.g. V8 heap sizes. */
const sidecarNodeFlags = (): string[] => (process.env['MESHTRACE_BENCH_PROXY_NODE_FLAGS'] ?? '').split(/\s+/).filter(Boolean);

async function startProxy(args: string[]): Promise<{ child: ChildProcess; ports: { inboundPort: number; outboundPort: number } }> {
  const child = spawn(process.execPath, [...sidecarNodeFlags(), bin, 'proxy', '--no-access-log', '--inbound-port', '0', '--outbound-port', '0', '--admin-port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const line = await waitForOutput(child, 'stderr', /\{[^\n]*"meshtrace proxy started"[^\n]*\}/, 'meshtrace proxy');
  return { child, ports: JSON.parse(line) as { inboundPort: number; outboundPort: number } };
}

async function startSink(): Promise<{ url: string; server: Server; spans: () => number }> {
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => { bytes += c.length; });
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, spans: () => bytes };
}

function nginxAvailable(): boolean {
  return spawnSync('nginx', ['-v']).status === 0;
}

async function startNginx(dir: string, appPort: number): Promise<Target> {
  const port = await freePort();
  mkdirSync(join(dir, 'nginx'), { recursive: true });
  const p = join(dir, 'nginx');
  const conf = join(p, 'nginx.conf');
  writeFileSync(conf, `
worker_processes 1;
daemon off;
pid ${p}/nginx.pid;
error_log ${p}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${p}/body; proxy_temp_path ${p}/proxy; fastcgi_temp_path ${p}/fastcgi; uwsgi_temp_path ${p}/uwsgi; scgi_temp_path ${p}/scgi;
  upstream app { server 127.0.0.1:${appPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}`);
  const child = spawn('nginx', ['-c', conf, '-p', p, '-e', `${p}/error.log`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try { const r = await fetch(`http://127.0.0.1:${port}/`); await r.arrayBuffer(); if (r.ok) break; } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error('nginx did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    name: 'nginx (1 worker)', url: `http://127.0.0.1:${port}/reviews/0`,
    pids: () => [child.pid!, ...childPids(child.pid!)],
    stop: () => kill(child),
  };
}

/** Closed-loop autocannon load (saturation when wrk is not installed). */
function load(url: string, headers: Record<string, string> | undefined, opts: { connections: number; seconds: number }): Promise<AutocannonResult> {
  return new Promise((resolveP, reject) => {
    autocannon({ url, headers, connections: opts.connections, duration: opts.seconds, timeout: 10 }, (err, r) => (err ? reject(err) : resolveP(r)));
  });
}

interface Run { p50: number; p99: number; sat: number; cpuPer1k: number; rss: number; anon: number; errors: number }

/** Closed-loop load for warm-up and saturation: wrk when `wrkDir` is set, else autocannon. */
async function saturate(t: Target, connections: number, seconds: number, wrkDir: string | undefined): Promise<{ ok: number; seconds: number; errors: number }> {
  if (wrkDir) {
    const r = await runWrk(t.url, t.headers, { connections, seconds, dir: wrkDir });
    return { ok: r.requests - r.non2xx, seconds: r.seconds, errors: r.non2xx + r.errors };
  }
  const r = await load(t.url, t.headers, { connections, seconds });
  return { ok: r['2xx'], seconds: r.duration, errors: r.non2xx + r.errors + r.timeouts };
}

async function measure(t: Target, o: { rate: number; fixedS: number; satS: number; warmS: number; wrkDir?: string }): Promise<Run> {
  if (o.warmS > 0) await saturate(t, 16, o.warmS, o.wrkDir);
  const pids = t.pids();
  const cpu0 = pids.reduce((n, p) => n + cpuSeconds(p), 0);
  const fixed = await constantRate(t.url, t.headers, { connections: 10, seconds: o.fixedS, rate: o.rate });
  const samples = fixed.latenciesMs;
  const cpu1 = pids.reduce((n, p) => n + cpuSeconds(p), 0);
  const rss = pids.length ? pids.reduce((n, p) => n + rssMiB(p), 0) : NaN;
  const anon = pids.length ? pids.reduce((n, p) => n + rssMiB(p, 'RssAnon'), 0) : NaN;
  const sat = await saturate(t, 64, o.satS, o.wrkDir);
  return {
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    sat: sat.ok / sat.seconds,
    cpuPer1k: pids.length ? ((cpu1 - cpu0) / Math.max(1, fixed.ok)) * 1000 : NaN,
    rss,
    anon,
    errors: fixed.errors + sat.errors,
  };
}

const fmt = (n: number, d = 3) => (Number.isFinite(n) ? n.toFixed(d) : '–');
const spread = (v: number[], d = 3) => {
  const s = summarize(v);
  return v.length > 1 ? `${fmt(s.median, d)} (${fmt(s.min, d)}–${fmt(s.max, d)})` : fmt(s.median, d);
};

export const proxyScenario: Scenario = {
  name: 'proxy',
  description: 'Sidecar cost: direct vs one sidecar vs two sidecars (a mesh call) vs nginx, at a fixed 1,000 rps and saturated.',
  async run(opts: BenchOptions): Promise<BenchTable[]> {
    const reps = opts.reps;
    const wrkDir = wrkAvailable() ? opts.tmpDir : undefined;
    const o = { ...(opts.quick ? { rate: 100, fixedS: 0.5, satS: 1, warmS: 0 } : { rate: 1000, fixedS: 8, satS: 5, warmS: 2 }), wrkDir };
    const bundled = spawnSync(process.execPath, [bin, 'proxy', '--help'], { env: { ...process.env, MESHTRACE_SIDECAR_BUNDLE: '1' }, stdio: 'ignore' }).status === 0
      && process.env['MESHTRACE_SIDECAR_BUNDLE'] !== '0';
    const sink = await startSink();
    const app = await startApp();
    const started: (() => Promise<void>)[] = [() => kill(app.child), () => new Promise<void>((r) => sink.server.close(() => r()))];
    const notes: string[] = [];
    try {
      // Both sidecars start together (start-up is most of quick mode): the server's inbound port is chosen first.
      const serverInbound = await freePort();
      const [server, client] = await Promise.all([
        startProxy(['--service', 'reviews', '--app-port', String(app.port), '--collector', sink.url, '--inbound-port', String(serverInbound)]),
        startProxy(['--service', 'productpage', '--app-port', '1', '--collector', sink.url, '--upstream', `reviews=127.0.0.1:${serverInbound}`]),
      ]);
      started.push(() => kill(server.child), () => kill(client.child));
      const targets: Target[] = [
        { name: 'direct', url: `http://127.0.0.1:${app.port}/reviews/0`, pids: () => [app.child.pid!], stop: async () => {} },
        { name: '1 sidecar', url: `http://127.0.0.1:${server.ports.inboundPort}/reviews/0`, pids: () => [server.child.pid!], stop: async () => {} },
        { name: '2 sidecars', url: `http://127.0.0.1:${client.ports.outboundPort}/reviews/0`, headers: { host: 'reviews' }, pids: () => [client.child.pid!, server.child.pid!], stop: async () => {} },
      ];
      if (nginxAvailable()) {
        const ng = await startNginx(opts.tmpDir, app.port);
        started.push(() => ng.stop());
        targets.push(ng);
      } else notes.push('nginx is not installed (apt-get install nginx): no nginx row.');
      const relay = await startRelay(app.port);
      started.push(() => relay.stop());
      targets.push(relay);

      const runs = new Map<string, Run[]>(targets.map((t) => [t.name, []]));
      // Interleave configurations across repetitions so drift on a shared machine hits all alike.
      for (let i = 0; i < reps; i++) {
        for (const t of targets) runs.get(t.name)!.push(await measure(t, o));
      }
      const med = (name: string, k: keyof Run) => summarize(runs.get(name)!.map((r) => r[k])).median;
      const nginxSat = runs.has('nginx (1 worker)') ? med('nginx (1 worker)', 'sat') : NaN;
      const rows = targets.map((t) => {
        const rs = runs.get(t.name)!;
        const hops = t.name === '2 sidecars' ? 2 : t.name === 'direct' ? 0 : 1;
        return [
          t.name,
          spread(rs.map((r) => r.p50)),
          spread(rs.map((r) => r.p99)),
          t.name === 'direct' ? '–' : fmt(med(t.name, 'p50') - med('direct', 'p50')),
          t.name === 'direct' ? '–' : fmt(med(t.name, 'p99') - med('direct', 'p99')),
          spread(rs.map((r) => r.sat), 0),
          Number.isFinite(nginxSat) ? `${fmt((med(t.name, 'sat') / nginxSat) * 100, 0)}%` : '–',
          spread(rs.map((r) => r.cpuPer1k)),
          hops === 0 ? '–' : fmt(med(t.name, 'cpuPer1k') / hops),
          fmt(med(t.name, 'rss'), 1),
          fmt(med(t.name, 'anon'), 1),
          String(rs.reduce((n, r) => n + r.errors, 0)),
        ];
      });
      notes.push(
        `Fixed rate ${o.rate} rps for ${o.fixedS} s (10 connections), then saturated for ${o.satS} s (64 connections); ${reps} repetition(s), median (min–max).`,
        'Added latency = median of the configuration minus median of direct. CPU = user+system seconds of the proxy process(es) per 1,000 requests at the fixed rate (= cores busy at 1k rps); "per sidecar" divides the two-sidecar figure by two. The direct row\'s CPU and RSS are the app\'s (Node\'s HTTP server answering each request).',
        `${RELAY}: a Node process that pipes bytes between each client connection and a connection of its own to the app, parsing nothing — what any proxy running on Node pays here before doing any HTTP work. Sidecar CPU minus relay CPU is the sidecar's own share.`,
        'RSS: resident MiB of the proxy process(es) after the fixed-rate run (two sidecars: sum); "anon" is its private part, without the node binary\'s and libraries\' file-backed pages that every process running them shares.',
        `Sidecars run ${bundled ? 'from dist/sidecar.mjs (the bundle `npm install` builds; no tsx loader)' : 'from the TypeScript sources through tsx (dist/sidecar.mjs missing, stale or disabled)'}${sidecarNodeFlags().length ? ` with node flags \`${sidecarNodeFlags().join(' ')}\` (MESHTRACE_BENCH_PROXY_NODE_FLAGS)` : ''}.`,
        'Sidecars record every request (sampling 1.0) and export OTLP/HTTP protobuf to a sink; access log off.',
        'Targets (issue 15): added p50 < 0.3 ms and p99 < 1 ms per sidecar hop at 1k rps; ≥ 60% of nginx saturated rps; < 0.1 core per 1k rps; < 60 MB RSS. Anchors: Istio 1.20 0.30 ms added p99 through two Envoys at 1k rps; Istio 1.24 0.20 vCPU and 60 MB per sidecar per 1k rps.',
        wrkDir
          ? `Load generators: fixed rate support/constant-rate.ts (open loop, latency from due time; in the bench process), warm-up and saturated runs wrk -t1 (its own process), on the same ${reps > 1 ? 'shared ' : ''}2 cores.`
          : `Load generators: fixed rate support/constant-rate.ts, saturated autocannon, both in the bench process on the same ${reps > 1 ? 'shared ' : ''}machine (wrk is not installed: apt-get install wrk); its CPU caps the saturated figures of direct and nginx most.`,
      );
      return [{
        title: 'Sidecar proxy: added latency, throughput, CPU and memory',
        columns: ['path', 'p50 ms', 'p99 ms', 'added p50 ms', 'added p99 ms', 'saturated rps', 'vs nginx', 'CPU s / 1k req', 'CPU s / 1k req per sidecar', 'RSS MiB', 'RSS anon MiB', 'errors'],
        rows,
        notes,
      }];
    } finally {
      for (const stop of started.reverse()) await stop();
    }
  },
};
