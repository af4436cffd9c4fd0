/**
 * `npm run fuzz [-- --budget N] [--target NAME[,NAME…]] [--seed S] [--no-save]`: runs every fuzz
 * target (test/fuzz/targets.ts) for a fixed number of generated inputs — by default 1,000,000 in
 * total, shared out by each target's weight (the structured round trips cost ~20× a header parse,
 * so they get fewer) — after replaying its corpus (test/fuzz/corpus/<target>/).
 *
 * Saves the first small input of each new outcome label as `seed-<hash>` (the next run mutates
 * around them), and a failing input, shrunk by fast-check, as `crash-<hash>`: that file is the
 * reproducer, replayed by the target's `*.fuzz.test.ts` in `npm test` from then on. Prints one
 * line per target (inputs, distinct outcomes, new corpus files, time) and exits 1 on a failure.
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { readCorpus, saveToCorpus } from './corpus.js';
import type { FuzzTarget } from './target.js';
import { allFuzzTargets } from './targets.js';

const DEFAULT_BUDGET = 1_000_000;
/** Most corpus files `seed-*` kept per target. */
const MAX_SEEDS = 24;

const { values } = parseArgs({
  options: {
    budget: { type: 'string', default: String(DEFAULT_BUDGET) },
    target: { type: 'string' },
    seed: { type: 'string' },
    'no-save': { type: 'boolean', default: false },
  },
});
const budget = Number(values.budget);
if (!Number.isInteger(budget) || budget < 1) {
  console.error(`--budget must be a positive integer, got '${values.budget}'`);
  process.exit(2);
}
const wanted = values.target?.split(',').map((s) => s.trim()).filter(Boolean);
const targets = wanted ? allFuzzTargets.filter((t) => wanted.includes(t.name)) : allFuzzTargets;
if (wanted && targets.length !== wanted.length) {
  console.error(`unknown target(s): ${wanted.filter((w) => !allFuzzTargets.some((t) => t.name === w)).join(', ')}; known: ${allFuzzTargets.map((t) => t.name).join(', ')}`);
  process.exit(2);
}
const save = !values['no-save'];
const seed = values.seed !== undefined ? Number(values.seed) : Date.now() ^ (process.pid << 8);

/** A target's share of the budget is inversely proportional to the cost of one of its inputs. */
const weight = (t: FuzzTarget) => 1 / (t.cost ?? 1);
const totalWeight = targets.reduce((s, t) => s + weight(t), 0);
let failed = false;
let total = 0;
const started = Date.now();
console.log(`fuzzing ${targets.length} target(s), ${budget.toLocaleString('en')} inputs in total, seed ${seed}`);

for (const target of targets) {
  const runs = Math.max(1, Math.round((budget * weight(target)) / totalWeight));
  const t0 = Date.now();
  const corpus = readCorpus(target);
  const seen = new Set<string>();
  let saved = 0;
  let seedFiles = corpus.filter((c) => /\/seed-[^/]*$/.test(c.file)).length;
  // The corpus first: every reproducer of a past crash must still pass.
  let corpusFailure: string | undefined;
  for (const { file, input } of corpus) {
    try { seen.add(target.check(input)); } catch (err) { corpusFailure = `${file}: ${(err as Error).message}`; break; }
  }
  if (corpusFailure) {
    failed = true;
    console.log(`${target.name.padEnd(26)} FAILED on its corpus: ${corpusFailure}`);
    continue;
  }
  const details = fc.check(
    fc.property(target.arbitrary(corpus.map((c) => c.input)), (input) => {
      const label = target.check(input);
      if (!seen.has(label)) {
        seen.add(label);
        if (save && seedFiles < MAX_SEEDS && saveToCorpus(target, input, 'seed')) { seedFiles++; saved++; }
      }
    }),
    { numRuns: runs, seed },
  );
  const ms = Date.now() - t0;
  total += details.numRuns;
  if (details.failed) {
    failed = true;
    const input = details.counterexample?.[0];
    const path = input !== undefined && save ? saveToCorpus(target, input, 'crash') : undefined;
    console.log(`${target.name.padEnd(26)} FAILED after ${details.numRuns} inputs (${ms} ms): ${String((details.errorInstance as Error | undefined)?.message ?? details.errorInstance).split('\n')[0]}`);
    console.log(`  counterexample: ${fc.stringify(details.counterexample)}`);
    console.log(`  reproducer: ${path ?? '(not saved)'}; replay: npm run fuzz -- --target ${target.name} --seed ${details.seed} --budget ${runs}`);
  } else {
    console.log(`${target.name.padEnd(26)} ${String(details.numRuns).padStart(9)} inputs  ${String(seen.size).padStart(4)} outcomes  ${String(saved).padStart(3)} new corpus  ${String(ms).padStart(7)} ms`);
  }
}
console.log(`total: ${total.toLocaleString('en')} inputs in ${((Date.now() - started) / 1000).toFixed(1)} s${failed ? ', FAILED' : ''}`);
process.exit(failed ? 1 : 0);
