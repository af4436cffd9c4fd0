import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import type { RegistrationInput, Snapshot } from '../control-plane/api.js';

/**
 * The sidecar's side of the control plane (control-plane/api.ts), over HTTP only: register and
 * keep the lease by heartbeat (the whole record each time, so a restarted control plane learns
 * this sidecar back within a beat), long-poll `/v1/watch` resuming from the last (epoch, revision)
 * it applied, hand each new snapshot to `apply` (the sidecar's reload path) and report back the
 * config version applied or the problems it was rejected with (Istio's ACK/NACK). Unreachable
 * control plane: the sidecar keeps serving with the last snapshot it applied; both loops retry.
 * Requests go through node:http(s), not the global `fetch`: fetch loads Node's bundled undici,
 * several MiB of resident memory a sidecar otherwise does without (proxy/README.md "Resources").
 */
export interface ControlPlaneClientOptions {
  /** Base URL, e.g. http://127.0.0.1:15010. */
  url: string;
  /** The mesh token, sent on writes (registration, heartbeat, deregistration). */
  token?: string;
  /** Instance id, unique in the mesh. */
  instance: string;
  /** What is registered; `configVersion`/`configError` are filled in by the client. */
  registration: () => Omit<RegistrationInput, 'configVersion' | 'configError'>;
  /** Applies a snapshot (the caller layers its file and flags over `snapshot.config`); returns the problems when rejected. */
  apply(snapshot: Snapshot): { rejected: boolean; problems: string[] };
  logger: Logger;
  /** Heartbeat interval until the control plane says otherwise, ms. */
  heartbeatMs?: number;
  /** How long one watch request may be held, ms. */
  watchWaitMs?: number;
}

const headers = (token: string | undefined, json = false): Record<string, string> => ({
  ...(token ? { authorization: `Bearer ${token}` } : {}),
  ...(json ? { 'content-type': 'application/json' } : {}),
});

/** What `call` returns: the status and the whole body. */
interface Answer { ok: boolean; status: number; text: string }

/** One HTTP exchange with the control plane, its body read whole; rejects on a transport failure or when `signal` aborts. */
function call(url: string, o: { method?: string; headers?: Record<string, string>; body?: string; signal: AbortSignal }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...o.headers };
    if (o.body !== undefined) headers['content-length'] = Buffer.byteLength(o.body);
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { method: o.method ?? 'GET', headers, signal: o.signal });
    req.once('error', reject);
    req.once('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', reject);
      res.once('close', () => { if (!res.complete) reject(new Error('connection closed before the end of the answer')); });
      res.once('end', () => {
        const status = res.statusCode ?? 0;
        resolve({ ok: status >= 200 && status < 300, status, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(o.body);
  });
}

/** One snapshot for `service` right away (start-up), or undefined when the control plane does not answer in time. */
export async function fetchSnapshot(url: string, service: string, timeoutMs: number): Promise<Snapshot | undefined> {
  try {
    const r = await call(`${url}/v1/watch?service=${encodeURIComponent(service)}&waitMs=0`, { signal: AbortSignal.timeout(timeoutMs) });
    return r.ok ? JSON.parse(r.text) as Snapshot : undefined;
  } catch { return undefined; }
}

export class ControlPlaneClient {
  private last: Snapshot | undefined;
  private configVersion = 0;
  private configError: string[] | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly watchAbort = new AbortController();
  private beatTimer: NodeJS.Timeout | undefined;
  private heartbeatMs: number;
  private beatFailing = false;
  private beating = false;
  private beatAgain = false;
  private watchFailing = false;

  constructor(private readonly o: ControlPlaneClientOptions) {
    this.heartbeatMs = o.heartbeatMs ?? 1_000;
  }

  /** Sends a heartbeat now (the registration changed, e.g. the app became ready). */
  refresh(): void { void this.beat(); }

  /** Starts both loops; `initial` is a snapshot the sidecar already started with. */
  start(initial?: Snapshot): void {
    if (initial) this.applied(initial);
    void this.beat();
    void this.watch();
  }

  private applied(s: Snapshot): void {
    this.last = s;
    const r = this.o.apply(s);
    if (r.rejected) this.configError = r.problems;
    else { this.configVersion = s.configVersion; this.configError = undefined; }
  }

  /** One heartbeat now (at most one in flight: a beat asked for meanwhile runs right after it). */
  private async beat(): Promise<void> {
    if (this.closed) return;
    if (this.beating) { this.beatAgain = true; return; }
    this.beating = true;
    clearTimeout(this.beatTimer);
    const body = { ...this.o.registration(), configVersion: this.configVersion, ...(this.configError ? { configError: this.configError } : {}) };
    try {
      const r = await call(`${this.o.url}/v1/instances/${encodeURIComponent(this.o.instance)}`, {
        method: 'PUT', headers: headers(this.o.token, true), body: JSON.stringify(body), signal: AbortSignal.timeout(2_000),
      });
      if (!r.ok) throw new Error(`HTTP ${r.status}: ${r.text}`);
      const lease = JSON.parse(r.text) as { heartbeatMs?: number };
      if (typeof lease.heartbeatMs === 'number' && lease.heartbeatMs > 0) this.heartbeatMs = lease.heartbeatMs;
      if (this.beatFailing) this.o.logger.info({ controlPlane: this.o.url }, 'control plane reachable again: registered');
      this.beatFailing = false;
    } catch (err) {
      if (!this.beatFailing) this.o.logger.warn({ err: (err as Error).message, controlPlane: this.o.url }, 'cannot register with the control plane; serving with the last config and endpoints, retrying');
      this.beatFailing = true;
    }
    this.beating = false;
    if (this.beatAgain) { this.beatAgain = false; void this.beat(); return; }
    if (!this.closed) { this.beatTimer = setTimeout(() => void this.beat(), this.heartbeatMs); this.beatTimer.unref(); }
  }

  private async watch(): Promise<void> {
    const wait = this.o.watchWaitMs ?? 25_000;
    while (!this.closed) {
      const q = new URLSearchParams({ service: String(this.o.registration().service), instance: this.o.instance, waitMs: String(wait) });
      if (this.last) { q.set('epoch', this.last.epoch); q.set('revision', String(this.last.revision)); }
      try {
        const r = await call(`${this.o.url}/v1/watch?${q}`, { signal: AbortSignal.any([this.watchAbort.signal, AbortSignal.timeout(wait + 5_000)]) });
        if (!r.ok) throw new Error(`HTTP ${r.status}: ${r.text}`);
        const s = JSON.parse(r.text) as Snapshot;
        this.watchFailing = false;
        if (!this.last || s.epoch !== this.last.epoch || s.revision !== this.last.revision) {
          this.applied(s);
          void this.beat(); // report the ACK/NACK now rather than at the next beat
        }
      } catch (err) {
        if (this.closed) return;
        if (!this.watchFailing) this.o.logger.warn({ err: (err as Error).message, controlPlane: this.o.url }, 'control plane watch failed; keeping the last config, retrying');
        this.watchFailing = true;
        await new Promise((r) => setTimeout(r, 1_000).unref());
      }
    }
  }

  /** Stops both loops and deregisters at once (best effort, 1 s). Idempotent. */
  close(): Promise<void> {
    // Memoized: a second caller (inject's exit path after its SIGTERM path) waits for the same DELETE.
    return this.closing ??= (async () => {
      this.closed = true;
      clearTimeout(this.beatTimer);
      this.watchAbort.abort();
      try {
        await call(`${this.o.url}/v1/instances/${encodeURIComponent(this.o.instance)}`, { method: 'DELETE', headers: headers(this.o.token), signal: AbortSignal.timeout(1_000) });
      } catch { /* the lease expires on its own */ }
    })();
  }
}
