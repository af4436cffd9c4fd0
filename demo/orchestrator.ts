/**
 * `meshtrace demo`: the all-in-one server (in this process) with its control plane, every bookshop
 * instance behind its own sidecar (`meshtrace inject --control-plane` child processes, all started
 * at once; each registers its service and version and learns the others' endpoints by name: no
 * --upstream lists), demo/mesh.json applied as the mesh config, and a bounded load generator. Stopping (duration over, Ctrl-C, SIGTERM) ends every child and listener and
 * removes the temp data dir; a failed start undoes what it started.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAllInOne, type AllInOneServer } from '../all-in-one/server.js';
import type { DemoConfig } from './config.js';
import { startLoad, type LoadGenerator } from './loadgen.js';
import { reservePorts } from './ports.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';
import type { MeshStatus } from '../control-plane/api.js';
import { BOOKSHOP, CANARY_CONFIG_FILE, MESH_CONFIG_FILE, startLayers } from './topology.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const HOST = '127.0.0.1';

export interface DemoUrls {
  productPage: string;
  ui: string;
  search: string;
  graph: string;
  metrics: string;
  otlpHttp: string;
  controlPlane: string;
  mesh: string;
}

export interface RunningDemo {
  urls: DemoUrls;
  services: readonly ServiceProcess[];
  /** Resolves when the demo has stopped (duration over or stop()) and everything is cleaned up. */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** `preferred` when it is free on HOST, else 0 (a free port); an explicit choice is kept as is. */
async function portOrFree(explicit: number | undefined, preferred: number): Promise<number> {
  if (explicit !== undefined) return explicit;
  const free = await new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(preferred, HOST, () => s.close(() => resolve(true)));
  });
  return free ? preferred : 0;
}

export interface DemoIo {
  /** Human output (URLs, progress). */
  print(line: string): void;
  /** Child output in verbose mode. */
  debug?(line: string): void;
}

/**
 * Starts everything and returns once the load runs. `interrupt` (Ctrl-C during start-up) makes a
 * start in progress undo what it started and reject; after start, call `stop()` instead.
 */
export async function startDemo(c: DemoConfig, io: DemoIo, interrupt?: AbortSignal): Promise<RunningDemo> {
  const t0 = performance.now();
  // The run's own files (sidecar config; the store unless --data-dir) live in a temp dir removed at the end.
  const tempDir = mkdtempSync(join(tmpdir(), 'meshtrace-demo-'));
  const dataDir = c.dataDir ?? tempDir;
  let aio: AllInOneServer | undefined;
  const services: ServiceProcess[] = [];
  let load: LoadGenerator | undefined;
  let watcher: AbortController | undefined;

  const teardown = async () => {
    watcher?.abort();
    await load?.stop();
    // Callers first, so no request is in flight towards a stopped service; then the store.
    for (const layer of startLayers().reverse()) {
      await Promise.all(services.filter((s) => layer.includes(s.svc)).map((s) => s.stop()));
    }
    await aio?.close();
    rmSync(tempDir, { recursive: true, force: true });
  };

  const checkInterrupt = () => { if (interrupt?.aborted) throw new Error('interrupted during start-up'); };
  try {
    io.print(`meshtrace demo: starting the bookshop behind sidecars (data in ${dataDir}) …`);
    aio = await startAllInOne({
      dataDir, host: HOST, logLevel: 'warn',
      queryPort: await portOrFree(c.queryPort, 16686),
      otlpHttpPort: await portOrFree(c.otlpHttpPort, 4318),
      // The demo's services speak OTLP/HTTP only; don't claim the gRPC and Zipkin ports.
      otlpGrpcPort: 'off',
      zipkinPort: 'off',
      // 15010 when free, so `meshtrace mesh …` works without --control-plane.
      controlPlanePort: await portOrFree(undefined, 15010),
    });
    checkInterrupt();
    const controlPlane = aio.controlPlaneUrl;
    if (!controlPlane) throw new Error('the all-in-one server started no control plane');
    // The mesh config (demo/mesh.json: Bookinfo's routes for reviews, spans sent every 200 ms so
    // the first trace shows sooner) is stored before any sidecar starts: each starts with it.
    const mesh = JSON.parse(readFileSync(join(REPO_ROOT, MESH_CONFIG_FILE), 'utf8')) as Record<string, unknown>;
    const applied = await fetch(`${controlPlane}/v1/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config: mesh }) });
    if (applied.status !== 201) throw new Error(`${MESH_CONFIG_FILE} was refused by the control plane: ${await applied.text()}`);
    const meshVersion = (await applied.json() as { version: number }).version;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BOOKSHOP_ERROR_RATE: String(c.errorRate),
      BOOKSHOP_SLOW_RATE: String(c.slowRate),
      BOOKSHOP_LATENCY_SCALE: String(c.latencyScale),
      BOOKSHOP_TRACE_UI: aio.queryUrl,
    };
    // Every sidecar's inbound port and every app's port is chosen up front (ports.ts says how, and
    // why not port 0); all instances start at once and find each other through the control plane;
    // the load starts once all are up and registered.
    const pool = await reservePorts(BOOKSHOP.length * 2, HOST);
    const inbound = new Map<string, number>();
    const appPort = new Map<string, number>();
    for (const svc of BOOKSHOP) {
      appPort.set(svc.id, pool.pop()!);
      const productPort = svc.id === 'productpage' ? await portOrFree(c.port, 9080) : 0;
      inbound.set(svc.id, productPort || pool.pop()!);
    }
    const byId = new Map<string, ServiceProcess>();
    const started = await Promise.allSettled(BOOKSHOP.map((svc) => startServiceProcess(svc, {
      collector: aio!.otlpHttpUrl,
      controlPlane,
      inboundPort: inbound.get(svc.id),
      appPort: appPort.get(svc.id),
      env,
      onLine: c.verbose ? io.debug : undefined,
    })));
    for (const r of started) if (r.status === 'fulfilled') { services.push(r.value); byId.set(r.value.svc.id, r.value); }
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    checkInterrupt();
    if (failed) throw failed.reason;
    await waitForSync(controlPlane, meshVersion, BOOKSHOP.length, interrupt);
    const product = byId.get('productpage')!;
    const productPage = `http://${HOST}:${product.ports.inboundPort}`;
    const urls: DemoUrls = {
      productPage: `${productPage}/productpage`,
      ui: `${aio.queryUrl}/`,
      search: `${aio.queryUrl}/search?service=productpage`,
      graph: `${aio.queryUrl}/dependencies`,
      metrics: `http://${HOST}:${product.ports.adminPort}/metrics`,
      otlpHttp: aio.otlpHttpUrl,
      controlPlane,
      mesh: `${aio.queryUrl}/mesh`,
    };
    printBanner(io, urls, services, c, (performance.now() - t0) / 1000, meshVersion);

    load = startLoad({ target: productPage, rps: c.rps, durationMs: c.loadDuration });
    watcher = new AbortController();
    void announceFirstTrace(aio.queryUrl, io, watcher.signal);

    let stopping: Promise<void> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let stopped!: () => void;
    const done = new Promise<void>((r) => { stopped = r; });
    const stop = () => (stopping ??= (async () => {
      clearTimeout(timer);
      io.print('meshtrace demo: stopping …');
      await load!.stop();
      const stats = { ...load!.stats };
      await teardown();
      io.print(`meshtrace demo: stopped (${stats.sent} requests sent, ${stats.ok} ok, ${stats.failed} failed, ${stats.aborted} cut off by the stop).`);
      stopped();
    })());
    if (c.duration > 0) timer = setTimeout(() => void stop(), c.duration);
    return { urls, services, done, stop };
  } catch (err) {
    await teardown();
    throw err;
  }
}

/**
 * Until every sidecar is registered, its app ready, and it runs mesh config `version` (each
 * sidecar registers right after it starts, and callers learn the new endpoints from their watch):
 * the load must not start while productpage's sidecar does not know reviews yet.
 */
async function waitForSync(controlPlane: string, version: number, sidecars: number, interrupt?: AbortSignal): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last: MeshStatus | undefined;
  while (Date.now() < deadline && !interrupt?.aborted) {
    last = await (await fetch(`${controlPlane}/v1/status`)).json() as MeshStatus;
    if (last.sidecars.length >= sidecars && last.sidecars.every((s) => s.configVersion === version && s.synced && s.ready)) {
      // The last registration reaches the callers' watches a moment after it is in the registry.
      await new Promise((r) => setTimeout(r, 200));
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the sidecars did not all register and apply mesh config version ${version}: ${JSON.stringify(last?.sidecars ?? [])}`);
}

function printBanner(io: DemoIo, u: DemoUrls, services: readonly ServiceProcess[], c: DemoConfig, startedS: number, meshVersion: number): void {
  const pad = (s: string, n: number) => s.padEnd(n);
  io.print('');
  io.print(`  Product page     ${u.productPage}`);
  io.print(`  Traces (UI)      ${u.search}`);
  io.print(`  Service graph    ${u.graph}`);
  io.print(`  Sidecar metrics  ${u.metrics}   (productpage's sidecar, Istio names)`);
  io.print(`  OTLP/HTTP        ${u.otlpHttp}`);
  io.print(`  Mesh page        ${u.mesh}`);
  io.print(`  Control plane    ${u.controlPlane}   (mesh config ${MESH_CONFIG_FILE}; every sidecar registered there, none has --upstream)`);
  io.print(`  Routing          curl -H 'end-user: jason' ${new URL(u.productPage).origin}/api/v1/products/0   → always reviews v2; others take turns`);
  const cpFlag = u.controlPlane === 'http://127.0.0.1:15010' ? '' : ` --control-plane ${u.controlPlane}`;
  io.print(`  Try a canary     meshtrace mesh apply -f ${CANARY_CONFIG_FILE}${cpFlag}   → reviews v1 90 % / v3 10 %`);
  io.print(`                   meshtrace mesh status${cpFlag}   ·   meshtrace mesh rollback ${meshVersion}${cpFlag}   (back to ${MESH_CONFIG_FILE})`);
  io.print('');
  io.print(`  ${pad('instance', 13)}${pad('version', 9)}${pad('sidecar inbound', 18)}${pad('admin', 8)}app`);
  for (const s of services) {
    io.print(`  ${pad(s.svc.id, 13)}${pad(s.svc.version, 9)}${pad(`${HOST}:${s.ports.inboundPort}`, 18)}${pad(String(s.ports.adminPort), 8)}${s.ports.appPort}`);
  }
  io.print('');
  io.print(`  Started in ${startedS.toFixed(1)} s. ${runSummary(c)}`);
}

/**
 * How long the load and the demo run, as the banner says it. The load stops with the demo, so a
 * 40 s demo never claims the default 600 s of load.
 */
export function runSummary(c: Pick<DemoConfig, 'rps' | 'duration' | 'loadDuration'>): string {
  const loadMs = c.duration > 0 && (c.loadDuration === 0 || c.loadDuration > c.duration) ? c.duration : c.loadDuration;
  const load = loadMs > 0 ? ` for ${loadMs / 1000} s` : '';
  const runs = c.duration > 0 ? `the demo ends after ${c.duration / 1000} s` : 'Ctrl-C stops everything';
  return `Load: ${c.rps} requests/s${load}; ${runs}.`;
}

/** Polls the query API until the first product-page trace is searchable, then prints its link. */
async function announceFirstTrace(queryUrl: string, io: DemoIo, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const r = await fetch(`${queryUrl}/api/traces?service=productpage&limit=1&lookback=1h`, { signal });
      const body = (await r.json()) as { data?: { traceID: string }[] };
      const id = body.data?.[0]?.traceID;
      if (id) {
        io.print(`  First trace in the UI ${process.uptime().toFixed(1)} s after the command started: ${queryUrl}/trace/${id}`);
        return;
      }
    } catch { /* not up yet, or stopping */ }
    await new Promise((r) => setTimeout(r, 250));
  }
}
