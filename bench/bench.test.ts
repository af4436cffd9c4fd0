/**
 * Smoke test of the bench suite: every registered scenario runs through the real runner in quick
 * mode (tiny sizes, one repetition) into a temporary BENCHMARKS file, so bench code cannot rot.
 * It checks that each scenario succeeded and printed non-empty tables — never timings.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runBench } from './run.js';
import { scenarios } from './scenarios/index.js';

const dir = mkdtempSync(join(tmpdir(), 'meshtrace-bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The Markdown section the runner appended for `name`: from its `### name — ` header to the next. */
function sectionOf(text: string, name: string): string {
  const start = text.indexOf(`\n### ${name} — `);
  if (start === -1) return '';
  const next = text.indexOf('\n### ', start + 1);
  return text.slice(start, next === -1 ? undefined : next);
}

/** Data rows of every Markdown table in `section` (lines starting with `|`, minus header and rule). */
function tableRowCounts(section: string): number[] {
  const counts: number[] = [];
  for (const block of section.split('\n#### ').slice(1)) {
    const lines = block.split('\n').filter((l) => l.startsWith('|'));
    counts.push(Math.max(0, lines.length - 2));
  }
  return counts;
}

describe('bench smoke (quick mode)', () => {
  it('registers uniquely named scenarios', () => {
    const names = scenarios.map((s) => s.name);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
  });

  for (const s of scenarios) {
    it(`${s.name}: runs and prints tables with rows`, { timeout: 240_000 }, async () => {
      const output = join(dir, `BENCHMARKS-${s.name}.md`);
      // The runner narrates to stdout; keep the test log readable.
      const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      let code: number;
      try {
        code = await runBench([s.name, '--quick'], { output });
      } finally {
        write.mockRestore();
      }
      const section = sectionOf(readFileSync(output, 'utf8'), s.name);
      expect(section, 'scenario failed (see stderr)').not.toContain('FAILED:');
      expect(code).toBe(0);
      const counts = tableRowCounts(section);
      expect(counts.length).toBeGreaterThan(0);
      for (const c of counts) expect(c).toBeGreaterThan(0);
    });
  }
});

describe('npm run bench -- --help', () => {
  it('prints usage and runs nothing; an unknown option is refused', async () => {
    const output = join(dir, 'help.md');
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
    const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await runBench(['--help'], { output })).toBe(0);
      expect(await runBench(['-h'], { output })).toBe(0);
      expect(await runBench(['--quik'], { output })).toBe(2);
    } finally {
      spy.mockRestore();
      errSpy.mockRestore();
    }
    expect(written.join('')).toContain('Usage: npm run bench');
    for (const s of scenarios) expect(written.join('')).toContain(`  ${s.name}`);
    // Nothing ran, so nothing was appended (the runner creates the file only to append a run).
    expect(() => readFileSync(output)).toThrow();
  });
});

describe('npm run bench on a busy machine', () => {
  const fake = { name: 'fake', description: 'A scenario that records its options.', run: async (o: { reps: number; quick: boolean }) => [{ title: `reps ${o.reps}`, columns: ['a'], rows: [[1]] }] };

  it('refuses to record while the load average is above the bound, unless forced', async () => {
    const output = join(dir, 'busy.md');
    const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const outSpy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await runBench(['fake'], { output, all: [fake], loadAverage: () => 2.4 })).toBe(3);
      expect(() => readFileSync(output)).toThrow();
      expect(await runBench(['fake', '--force'], { output, all: [fake], loadAverage: () => 2.4 })).toBe(0);
      expect(await runBench(['fake'], { output, all: [fake], loadAverage: () => 0.3 })).toBe(0);
      // Quick runs measure nothing, so they are never refused (the smoke test runs under load).
      expect(await runBench(['fake', '--quick'], { output, all: [fake], loadAverage: () => 9 })).toBe(0);
    } finally {
      errSpy.mockRestore();
      outSpy.mockRestore();
    }
    const text = readFileSync(output, 'utf8');
    expect(text).toContain('Forced: load average 2.40 at start');
    expect(text).toContain('Load average at start: 0.30.');
    expect(text).toContain('#### reps 5');
    expect(text).toContain('#### reps 1');
  });
});

