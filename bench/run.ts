/**
 * The bench runner: runs the selected scenarios (all by default), prints each table as Markdown and
 * appends it to BENCHMARKS.md with the date, the machine and the exact command.
 */
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { REPETITIONS, type BenchTable, type Scenario } from './scenario.js';
import { scenarios } from './scenarios/index.js';

export function renderTable(t: BenchTable): string {
  const lines = [`#### ${t.title}`, '', `| ${t.columns.join(' | ')} |`, `|${t.columns.map(() => '---').join('|')}|`];
  for (const row of t.rows) lines.push(`| ${row.map((c) => (typeof c === 'number' ? formatNumber(c) : c)).join(' | ')} |`);
  if (t.notes?.length) lines.push('', ...t.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(3);
}

export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
}

const FLAGS = ['--quick', '--force'];
/**
 * A recorded run starts only on a quiet machine: the 1-minute load average at most this (the
 * machine has 2 cores; a test suite or another bench running pushes it well above).
 */
export const MAX_LOAD_AVERAGE = 1.5;

export function benchUsage(available: Scenario[] = scenarios): string {
  const width = Math.max(...available.map((s) => s.name.length));
  return [
    'Usage: npm run bench [-- [scenario …] [--quick]]',
    '',
    'Runs the selected scenarios (all by default), each against a baseline measured in the same run,',
    'prints the tables and appends them to BENCHMARKS.md with the date, machine and command.',
    `Each measurement is repeated ${REPETITIONS} times. It refuses to start while the 1-minute load average`,
    `is above ${MAX_LOAD_AVERAGE} (something else is running): wait, or pass --force.`,
    '',
    'Options:',
    '  --quick     tiny sizes, one repetition: checks the bench runs, measures nothing',
    `  --force     record even when the load average is above ${MAX_LOAD_AVERAGE} (the figures say so)`,
    '  -h, --help  this text',
    '',
    'Scenarios:',
    ...available.map((s) => `  ${s.name.padEnd(width)}  ${s.description.split(/(?<=\.)\s/)[0]}`),
    '',
  ].join('\n');
}

export async function runBench(argv: string[], opts: { output?: string; all?: Scenario[]; loadAverage?: () => number } = {}): Promise<number> {
  const available = opts.all ?? scenarios;
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(benchUsage(available));
    return 0;
  }
  const badFlags = argv.filter((a) => a.startsWith('-') && !FLAGS.includes(a));
  if (badFlags.length > 0) {
    process.stderr.write(`unknown option(s): ${badFlags.join(', ')}\n\n${benchUsage(available)}`);
    return 2;
  }
  const quick = argv.includes('--quick');
  const force = argv.includes('--force');
  const names = argv.filter((a) => !a.startsWith('-'));
  const load = (opts.loadAverage ?? (() => loadavg()[0]))();
  if (!quick && !force && load > MAX_LOAD_AVERAGE) {
    process.stderr.write(`the 1-minute load average is ${load.toFixed(2)} (> ${MAX_LOAD_AVERAGE}): something else is running, and its noise would be recorded as meshtrace's. Wait for a quiet machine, or pass --force.\n`);
    return 3;
  }
  const loadNote = !quick && load > MAX_LOAD_AVERAGE ? ` Forced: load average ${load.toFixed(2)} at start (above ${MAX_LOAD_AVERAGE}: noisy figures).` : ` Load average at start: ${load.toFixed(2)}.`;
  const unknown = names.filter((n) => !available.some((s) => s.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}; available: ${available.map((s) => s.name).join(', ')}\n`);
    return 2;
  }
  const selected = names.length > 0 ? available.filter((s) => names.includes(s.name)) : available;
  const output = opts.output ?? 'BENCHMARKS.md';
  // The environment variables that change what a scenario measures are part of the command.
  const envPrefix = Object.entries(process.env).filter(([k]) => k.startsWith('MESHTRACE_BENCH_')).map(([k, v]) => `${k}=${v} `).join('');
  const command = `${envPrefix}npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  if (!existsSync(output)) writeFileSync(output, '# Benchmarks\n\nAppended by `npm run bench`; every figure is a ratio against a baseline measured in the same run.\n');
  let failed = 0;
  for (const s of selected) {
    const tmpDir = mkdtempSync(join(tmpdir(), `meshtrace-bench-${s.name}-`));
    const header = `\n### ${s.name} — ${new Date().toISOString()}\n\n${s.description}\n\nMachine: ${machineLine()}. Command: \`${command}\`${quick ? ' (quick: tiny sizes, one repetition — not a measurement)' : ''}.${quick ? '' : loadNote}\n\n`;
    process.stdout.write(header);
    try {
      const tables = await s.run({ quick, reps: quick ? 1 : REPETITIONS, tmpDir });
      const text = tables.map(renderTable).join('\n');
      process.stdout.write(text);
      appendFileSync(output, header + text);
    } catch (err) {
      failed++;
      const msg = `scenario ${s.name} failed: ${(err as Error).stack ?? String(err)}\n`;
      process.stderr.write(msg);
      appendFileSync(output, `${header}FAILED: ${(err as Error).message}\n`);
    } finally {
      rmSync(tmpDir, { recursive: true, force: true });
    }
  }
  return failed > 0 ? 1 : 0;
}
