/**
 * Top self-time functions (and files) of a V8 .cpuprofile, as Markdown tables:
 *
 *   node --import tsx bench/scenarios/support/profile-top.ts <file.cpuprofile> [top=25]
 *
 * Self time of a node = its sample count × the mean sampling interval; nodes of the same function
 * (same name, file and line) are summed. Paths are shown relative to the repository.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

const shortUrl = (url: string) =>
  url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'npm:').replace(/^.*?\/work\/main\//, '').replace(/^node:/, 'node:');

/** Self time per function and per file, largest first. */
export function selfTimes(p: CpuProfile): { functions: SelfTime[]; files: SelfTime[]; totalMs: number } {
  const counts = new Map<number, number>();
  for (const id of p.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const msPerSample = (p.endTime - p.startTime) / 1000 / Math.max(1, p.samples.length);
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  for (const n of p.nodes) {
    const c = counts.get(n.id);
    if (!c) continue;
    const f = n.callFrame;
    const file = f.url ? shortUrl(f.url) : '(native/VM)';
    const key = `${f.functionName || '(anonymous)'} — ${file}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + c);
    const fileKey = file.startsWith('npm:') ? file.split('/').slice(0, file.startsWith('npm:@') ? 2 : 1).join('/') : file;
    files.set(fileKey, (files.get(fileKey) ?? 0) + c);
  }
  const total = p.samples.length;
  const toList = (m: Map<string, number>) =>
    [...m].map(([name, c]) => ({ name, ms: c * msPerSample, share: c / total })).sort((a, b) => b.ms - a.ms);
  return { functions: toList(fns), files: toList(files), totalMs: total * msPerSample };
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: profile-top.ts <file.cpuprofile> [top]\n');
    process.exitCode = 2;
    return;
  }
  const top = Number(topArg ?? 25);
  const { functions, files, totalMs } = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const table = (title: string, rows: SelfTime[]) =>
    [`| ${title} | self ms | share |`, '|---|---|---|', ...rows.slice(0, top).map((r) => `| ${r.name} | ${r.ms.toFixed(0)} | ${(r.share * 100).toFixed(1)} % |`)].join('\n');
  process.stdout.write(`Profile ${file}: ${totalMs.toFixed(0)} ms sampled\n\n${table('function', functions)}\n\n${table('file / package', files)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
