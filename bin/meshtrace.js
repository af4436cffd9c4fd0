#!/usr/bin/env node
// The CLI runs the TypeScript sources through tsx (esbuild), so a fresh clone needs no
// compile step and stack traces point at the .ts files. See docs/ARCHITECTURE.md.
// Exception: the sidecar verbs (`proxy`, `inject`) run from dist/sidecar.mjs, built from
// proxy/main.ts by `npm run build:proxy` (part of `prepare`), while that bundle is newer than every
// source it was built from: a sidecar runs beside each service, and the tsx loader alone is
// ~35 MiB of its memory. A missing or stale bundle falls back to the sources, so an edit never runs
// old code. MESHTRACE_SIDECAR_BUNDLE=0 forces the sources; =1 requires the bundle (benchmarks).
import { readFileSync, statSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

const verb = process.argv[2];
const sidecarVerb = verb === 'proxy' || verb === 'inject';
if (sidecarVerb) sidecarHeap();
const mode = process.env.MESHTRACE_SIDECAR_BUNDLE;
const stale = sidecarVerb && mode !== '0' ? sidecarBundleProblem() : undefined;
if (sidecarVerb && mode === '1' && stale) {
  process.stderr.write(`meshtrace: MESHTRACE_SIDECAR_BUNDLE=1 but ${stale}: run npm run build:proxy\n`);
  process.exit(1);
}
if (sidecarVerb && mode !== '0' && !stale) {
  const { sidecarMain } = await import('../dist/sidecar.mjs');
  await sidecarMain(process.argv.slice(2));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  // Starting a thread (tsx's loader hooks run in one) puts V8's flags back to the command line's.
  if (sidecarVerb) sidecarHeap();
  const { main } = await import('../cli/main.ts');
  await main(process.argv.slice(2));
}

/**
 * V8's heap sizing for a sidecar, set before anything is loaded (proxy/README.md "Resources" has
 * the figures):
 * - Young generation: it stays at its initial 2 × 1 MiB semi-spaces while the modules load, and
 *   at most 2 × 4 MiB once serving (proxy/young-generation.ts), instead of growing to 2 × 16 MiB
 *   under load, the largest part of a sidecar's private memory at 1k rps. `--max-semi-space-size`
 *   is read only when the heap is made, so it cannot be set from here, but the growth factor is
 *   read at each growth decision: set to 1, it has the same effect, with no second process. Left
 *   alone when the node command line or NODE_OPTIONS sizes the young generation itself.
 * - Old generation: after each full GC the next one is due when the heap has grown by 20 % (or by
 *   V8's minimum step, a few MiB) instead of by V8's dynamic factor, up to ×4 on a small heap
 *   (`--heap-growing-percent=20`, also read at each decision): at 1k rps ~5 MiB less resident,
 *   CPU unchanged within noise.
 *   Left alone when the command line or NODE_OPTIONS gives `--heap-growing-percent`,
 *   `--max-old-space-size` or `--optimize-for-size`.
 * Both are left alone with MESHTRACE_SIDECAR_HEAP=default. Node puts V8's flags back to the
 * command line's when it starts a thread, so this runs again after anything that starts one (the
 * tsx loader).
 */
function sidecarHeap() {
  if (process.env.MESHTRACE_SIDECAR_HEAP === 'default') return;
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (!given.some((a) => /^--(max|min)[-_]semi[-_]space[-_]size|^--semi[-_]space[-_]growth[-_]factor/.test(a))) {
    setFlagsFromString('--semi-space-growth-factor=1');
    // Once serving, the sidecar lets it grow up to 2 × 4 MiB (proxy/young-generation.ts).
    globalThis[Symbol.for('meshtrace.sidecar.youngGenerationCapMiB')] = 4;
  }
  if (!given.some((a) => /^--heap[-_]growing[-_]percent|^--max[-_]old[-_]space[-_]size|^--(no-)?optimize[-_]for[-_]size/.test(a))) {
    setFlagsFromString('--heap-growing-percent=20');
  }
}

/** Why dist/sidecar.mjs cannot be used (missing, or older than one of the inputs esbuild's metafile lists), or undefined. */
function sidecarBundleProblem() {
  const root = new URL('../', import.meta.url);
  let built, meta;
  try {
    built = statSync(new URL('dist/sidecar.mjs', root)).mtimeMs;
    meta = JSON.parse(readFileSync(new URL('dist/sidecar.meta.json', root), 'utf8'));
  } catch {
    return 'dist/sidecar.mjs is missing';
  }
  for (const input of Object.keys(meta.inputs)) {
    let changed;
    try { changed = statSync(new URL(input, root)).mtimeMs; } catch { return `${input} is gone`; }
    if (changed > built) return `dist/sidecar.mjs is older than ${input}`;
  }
  return undefined;
}
