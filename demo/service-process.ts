/**
 * One bookshop instance as a child process: `meshtrace inject … -- node demo/services/<script>`,
 * i.e. the real sidecar verb with the app beside it. Start resolves once both the sidecar
 * (its JSON "sidecar ready" line on stderr) and the app ("bookshop service listening" on stdout)
 * are up; stop sends SIGTERM (inject forwards it to the app, which flushes its spans; then the
 * sidecar drains) and escalates to SIGKILL after a grace period.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DemoService } from './topology.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'bin', 'meshtrace.js');
export const SERVICES_DIR = join(ROOT, 'demo', 'services');

export interface SidecarPorts { inboundPort: number; outboundPort: number; adminPort: number; appPort: number }

export interface ServiceProcess {
  readonly svc: DemoService;
  readonly child: ChildProcess;
  readonly ports: SidecarPorts;
  /** The last lines the process printed (for error reports). */
  tail(): string;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  collector: string;
  /** The control plane's base URL: the sidecar registers there and gets endpoints and routes from it. */
  controlPlane: string;
  /** Sidecar inbound port; 0/undefined = a free port. */
  inboundPort?: number;
  /** The app's port (PORT); 0/undefined = inject picks one. */
  appPort?: number;
  env: NodeJS.ProcessEnv;
  /** Called with every output line (verbose mode). */
  onLine?: (line: string) => void;
  /** Longest wait for both ready lines, ms (default 60 000: six sidecars start at once on small machines). */
  startTimeoutMs?: number;
}

/** The inject command line for one instance (also what docker-compose.yml mirrors). */
export function injectArgs(svc: DemoService, o: Pick<StartOptions, 'collector' | 'controlPlane' | 'inboundPort' | 'appPort'>): string[] {
  return [
    'inject', '--service', svc.service, '--service-version', svc.version, '--collector', o.collector, '--no-access-log',
    '--control-plane', o.controlPlane, '--instance-id', svc.id,
    ...(o.inboundPort ? ['--inbound-port', String(o.inboundPort)] : []),
    ...(o.appPort ? ['--app-port', String(o.appPort)] : []),
    '--', process.execPath, join(SERVICES_DIR, svc.script),
  ];
}

export function startServiceProcess(svc: DemoService, o: StartOptions): Promise<ServiceProcess> {
  // A small young generation: the sidecar's RSS 98 → 87 MiB at no measured CPU cost (BENCHMARKS.md,
  // proxy section); six of them run in the demo.
  const child = spawn(process.execPath, ['--max-semi-space-size=2', CLI, ...injectArgs(svc, o)], {
    env: { ...o.env, ...svc.env, SERVICE_VERSION: svc.version, BOOKSHOP_EXIT_ON_STDIN_EOF: '1' },
    // stdin: a pipe nobody writes to; inject passes it on to the app, which exits when it closes,
    // i.e. when this process is gone however it died (no orphans even after SIGKILL).
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let ports: SidecarPorts | undefined;
  let listening = false;
  let onReady: () => void = () => {};
  const exited = new Promise<void>((r) => child.once('exit', () => r()));

  const take = (chunkText: string, carry: { rest: string }) => {
    const parts = (carry.rest + chunkText).split('\n');
    carry.rest = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (lines.length > 40) lines.shift();
      o.onLine?.(`[${svc.id}] ${line}`);
      if (!line.startsWith('{')) continue;
      try {
        const rec = JSON.parse(line) as Record<string, unknown>;
        if (rec.msg === 'meshtrace inject: sidecar ready') ports = rec as unknown as SidecarPorts;
        if (rec.msg === 'bookshop service listening') listening = true;
      } catch { /* not JSON after all */ }
      if (ports && listening) onReady();
    }
  };
  const outCarry = { rest: '' };
  const errCarry = { rest: '' };
  child.stdout!.setEncoding('utf8').on('data', (c: string) => take(c, outCarry));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => take(c, errCarry));

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 6_000) => (stopping ??= (async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
  })());
  const tail = () => lines.join('\n');

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(1_000);
      reject(new Error(`${svc.id} did not start within ${(o.startTimeoutMs ?? 60_000) / 1000} s; its output:\n${tail()}`));
    }, o.startTimeoutMs ?? 60_000);
    onReady = () => {
      clearTimeout(timer);
      onReady = () => {};
      resolve({ svc, child, ports: ports!, tail, stop });
    };
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${svc.id} exited (${signal ?? code}) before it was ready; its output:\n${tail()}`));
    });
  });
}
