/**
 * The fuzz corpus: `test/fuzz/corpus/<target>/<name>` files, one input each in the target's text
 * form. `crash-*` files are reproducers of fixed bugs (regressions); the rest are inputs the runner
 * found interesting (the first of each new outcome). Kept small: inputs over MAX_CORPUS_INPUT_BYTES
 * are not saved, except crashes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FuzzTarget, loadInput, saveInput } from './target.js';

export const CORPUS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'corpus');
export const MAX_CORPUS_INPUT_BYTES = 2048;

export function readCorpus<T>(target: FuzzTarget<T>): { file: string; input: T }[] {
  const dir = join(CORPUS_DIR, target.name);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().map((f) => ({ file: join(dir, f), input: loadInput(target, readFileSync(join(dir, f), 'utf8')) }));
}

/** Saves `input` under `prefix-<hash>`; returns the path, or undefined when too big to keep (non-crash). */
export function saveToCorpus<T>(target: FuzzTarget<T>, input: T, prefix: 'crash' | 'seed'): string | undefined {
  const text = saveInput(target, input);
  if (prefix !== 'crash' && Buffer.byteLength(text) > MAX_CORPUS_INPUT_BYTES) return undefined;
  const dir = join(CORPUS_DIR, target.name);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${prefix}-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`);
  writeFileSync(path, text);
  return path;
}
