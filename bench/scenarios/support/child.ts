/**
 * Parent side of `server-child.ts`: forks it (through tsx, like the bench itself) and turns its
 * IPC replies into promises.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');

export class ServerChild {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();

  private constructor(private readonly proc: ChildProcess) {
    proc.on('message', (m: { id: number; ok: boolean; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve(m as unknown as Record<string, unknown>);
      else w.reject(new Error(`bench server child: ${m.error}`));
    });
    proc.on('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`bench server child exited (${code ?? signal})`));
      this.waiting.clear();
    });
  }

  /** Forks the child; `execArgv` is added to node's flags (e.g. `--max-old-space-size`). */
  static start(execArgv: string[] = []): ServerChild {
    const proc = fork(resolve(here, 'server-child.ts'), [], {
      cwd: repoRoot,
      execArgv: ['--import', 'tsx', ...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new ServerChild(proc);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  request<T extends Record<string, unknown>>(msg: { cmd: string } & Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((res, rej) => {
      this.waiting.set(id, { resolve: res as (v: Record<string, unknown>) => void, reject: rej });
      this.proc.send({ id, ...msg });
    });
  }

  usage(): Promise<{ cpuUs: number; rss: number; heapUsed: number }> {
    return this.request({ cmd: 'usage' });
  }

  /** Stops whatever runs in the child and ends the process. */
  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    try {
      await this.request({ cmd: 'stop' });
    } catch {
      // Already broken: killing it below is all that is left to do.
    }
    this.proc.disconnect();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
