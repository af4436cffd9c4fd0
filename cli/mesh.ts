/**
 * `meshtrace mesh apply|get|history|rollback|status`: the control plane's config and sidecars,
 * over its HTTP API (control-plane/api.ts). Exit codes: 0 ok, 1 control plane unreachable or
 * failed, 2 invalid input (the config's problems are printed, every bad field by its path).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { ConfigHistoryEntry, ConfigVersion, ErrorBody, MeshStatus } from '../control-plane/api.js';
import { meshToken } from './control-plane.js';

interface Common { controlPlane: string; token?: string; tokenFile?: string }

class CliError extends Error {
  constructor(message: string, readonly exitCode: number) { super(message); }
}

async function call<T>(o: Common, method: string, path: string, body?: unknown): Promise<T> {
  const token = meshToken({ meshToken: o.token, meshTokenFile: o.tokenFile });
  let r: Response;
  try {
    r = await fetch(`${o.controlPlane.replace(/\/$/, '')}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new CliError(`cannot reach the control plane at ${o.controlPlane}: ${(err as Error).message}`, 1);
  }
  const text = await r.text();
  const json = text ? JSON.parse(text) as unknown : undefined;
  if (!r.ok) {
    const e = json as ErrorBody | undefined;
    const lines = [e?.error ?? `HTTP ${r.status}`, ...(e?.problems ?? []).map((p) => `  ${p}`)];
    throw new CliError(lines.join('\n'), r.status === 400 || r.status === 404 ? 2 : 1);
  }
  return json as T;
}

/** A mesh config file, JSON or YAML (by extension; `-` reads stdin as either). */
export function readMeshFile(file: string): Record<string, unknown> {
  let text: string;
  try { text = readFileSync(file === '-' ? 0 : file, 'utf8'); } catch (err) { throw new CliError(`-f: cannot read ${file}: ${(err as Error).message}`, 2); }
  let v: unknown;
  try { v = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text); } catch (err) { throw new CliError(`-f: ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML/JSON'}: ${(err as Error).message}`, 2); }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CliError(`-f: ${file}: the top level must be an object`, 2);
  return v as Record<string, unknown>;
}

const pad = (rows: string[][]): string => {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i] + 2))).join('').trimEnd()).join('\n');
};

export function formatStatus(s: MeshStatus, now = Date.now()): string {
  const rows = [['SERVICE', 'VERSION', 'INSTANCE', 'ADDRESS', 'READY', 'CONFIG', 'SYNC', 'HEARTBEAT', 'MTLS']];
  for (const x of s.sidecars) {
    const ago = `${Math.max(0, Math.round((now - Date.parse(x.lastHeartbeat)) / 100) / 10)}s ago`;
    const sync = x.configError ? 'REJECTED' : x.synced ? 'SYNCED' : 'STALE';
    rows.push([x.service, x.version, x.instance, x.address, x.ready ? 'yes' : 'no', `${x.configVersion}/${s.version}`, sync, ago, x.mtls]);
  }
  const errors = s.sidecars.filter((x) => x.configError).map((x) => `${x.instance} rejected version ${s.version}:\n${x.configError!.map((p) => `  ${p}`).join('\n')}`);
  return [`mesh config version ${s.version}; ${s.sidecars.length} sidecar(s)`, pad(rows), ...errors].join('\n');
}

export function registerMesh(program: Command): void {
  const mesh = program
    .command('mesh')
    .description('Manage the mesh config on the control plane and see every sidecar\'s state (like istioctl).');
  const common = (c: Command) => c
    .option('--control-plane <url>', 'control plane base URL', 'http://127.0.0.1:15010')
    .option('--token <token>', 'mesh token for changes [env MESHTRACE_MESH_TOKEN]')
    .option('--token-file <file>', 'read the mesh token from this file');
  const run = <A extends unknown[]>(fn: (...a: A) => Promise<void>) => async (...a: A) => {
    try { await fn(...a); } catch (err) {
      process.stderr.write(`meshtrace mesh: ${(err as Error).message}\n`);
      process.exit(err instanceof CliError ? err.exitCode : 1);
    }
  };
  const out = (s: string) => process.stdout.write(`${s}\n`);

  common(mesh.command('apply')
    .description('Validate a mesh config (JSON or YAML, demo/mesh.json\'s schema) and store it as the next version; every sidecar applies it.')
    .requiredOption('-f, --file <file>', 'the mesh config file (- = stdin)'))
    .action(run(async (o: Common & { file: string }) => {
      const r = await call<{ version: number }>(o, 'POST', '/v1/config', { config: readMeshFile(o.file) });
      out(`mesh config version ${r.version} stored; sidecars apply it as they receive it (meshtrace mesh status shows who has)`);
    }));
  common(mesh.command('get').description('Print the current mesh config (JSON on stdout; its version on stderr).'))
    .action(run(async (o: Common) => {
      const r = await call<ConfigVersion>(o, 'GET', '/v1/config');
      process.stderr.write(`# mesh config version ${r.version}${r.createdAt ? ` (${r.createdAt})` : ' (none applied)'}\n`);
      out(JSON.stringify(r.config, null, 2));
    }));
  common(mesh.command('history').description('List the stored config versions, newest first.'))
    .action(run(async (o: Common) => {
      const r = await call<{ versions: ConfigHistoryEntry[] }>(o, 'GET', '/v1/config/history');
      out(r.versions.length ? pad([['VERSION', 'CREATED', 'SOURCE'], ...r.versions.map((v) => [String(v.version), v.createdAt, v.source])]) : 'no mesh config applied yet');
    }));
  common(mesh.command('rollback').description('Store version N\'s config again as a new version (history is kept).').argument('<version>', 'the version to go back to'))
    .action(run(async (n: string, o: Common) => {
      const version = Number(n);
      if (!Number.isInteger(version) || version < 1) throw new CliError(`<version>: expected a version number ≥ 1, got '${n}'`, 2);
      const r = await call<{ version: number }>(o, 'POST', '/v1/config/rollback', { version });
      out(`mesh config version ${r.version} stored (the config of version ${version})`);
    }));
  common(mesh.command('status').description('Every registered sidecar: service, version, instance, address, config version applied, last heartbeat, mTLS mode (like istioctl proxy-status).')
    .option('--json', 'print { version, sidecars: [...] } as JSON'))
    .action(run(async (o: Common & { json?: boolean }) => {
      const s = await call<MeshStatus>(o, 'GET', '/v1/status');
      out(o.json ? JSON.stringify(s, null, 2) : formatStatus(s));
    }));
}
