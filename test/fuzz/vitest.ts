/**
 * Runs fuzz targets as vitest tests at a small budget (`npm test`): every corpus input first
 * (test/fuzz/corpus/<target>/, the regressions and interesting inputs `npm run fuzz` kept), then
 * `MESHTRACE_FUZZ_RUNS` (default 200) generated inputs per target, fewer for the costly ones (at
 * least a quarter), so the whole set stays a few seconds of `npm test`.
 */
import fc from 'fast-check';
import { it } from 'vitest';
import { readCorpus } from './corpus.js';
import type { FuzzTarget } from './target.js';

export const TEST_RUNS = Number(process.env.MESHTRACE_FUZZ_RUNS ?? 200);

export function fuzzTargetTests(targets: readonly FuzzTarget[]): void {
  for (const target of targets) {
    const runs = Math.max(Math.ceil(TEST_RUNS / 4), Math.round((TEST_RUNS * 5) / Math.max(5, target.cost ?? 1)));
    it(`${target.name}: its corpus and ${runs} generated inputs keep the invariants`, () => {
      const seeds = readCorpus(target);
      for (const { file, input } of seeds) {
        try {
          target.check(input);
        } catch (err) {
          throw new Error(`corpus input ${file} of ${target.name}: ${(err as Error).message}`, { cause: err });
        }
      }
      fc.assert(fc.property(target.arbitrary(seeds.map((s) => s.input)), (input) => { target.check(input); }), { numRuns: runs });
    });
  }
}
