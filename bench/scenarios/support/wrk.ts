/**
 * wrk (Debian's `wrk` package) as a closed-loop load generator: a C program in its own process,
 * so a saturated run measures the server rather than a Node load generator sharing its cores
 * (autocannon in the bench process needs about as much CPU per request as the server it loads).
 * Results come from a Lua `done` hook as one JSON line, not from wrk's human-readable report.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WrkResult {
  /** Requests completed (any status). */
  requests: number;
  /** Responses with a status ≥ 400 (wrk counts them as `status` errors). */
  non2xx: number;
  /** Connect, read, write errors and timeouts. */
  errors: number;
  /** Wall time of the run, seconds. */
  seconds: number;
}

export function wrkAvailable(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

const DONE_HOOK = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"status":%d,"errors":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout))
end
`;

/** Runs `wrk -t1 -c<connections> -d<seconds>s` against url; `dir` holds the Lua hook. */
export function runWrk(url: string, headers: Record<string, string> | undefined, o: { connections: number; seconds: number; dir: string }): Promise<WrkResult> {
  const script = join(o.dir, 'meshtrace-wrk-done.lua');
  writeFileSync(script, DONE_HOOK);
  const args = ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--timeout', '10s', '-s', script];
  // wrk writes `Host` from the URL unless a header spelled exactly `Host` is given; a lowercase
  // `host` would go out as a second Host header, and servers keep the first.
  for (const [k, v] of Object.entries(headers ?? {})) args.push('-H', `${k.toLowerCase() === 'host' ? 'Host' : k}: ${v}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"requests"'));
      if (code !== 0 || !line) { reject(new Error(`wrk failed (${code}): ${err || out}`)); return; }
      const r = JSON.parse(line) as { requests: number; duration_us: number; status: number; errors: number };
      resolve({ requests: r.requests, non2xx: r.status, errors: r.errors, seconds: r.duration_us / 1e6 });
    });
  });
}
