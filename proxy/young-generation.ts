import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * A ceiling on V8's young generation for a sidecar process, set at run time.
 *
 * V8 grows the young generation from 2 × 1 MiB semi-spaces to 2 × 16 MiB under load: most of a
 * busy sidecar's private memory. Capping it at 2 × 1 MiB (what `bin/meshtrace.js` does before
 * anything loads) saves that memory but costs ~20 % more CPU per request when saturated (many
 * more scavenges), measured with the proxy bench; 2 × 4 MiB kept most of the saving for a few MiB.
 * `--max-semi-space-size` is read only when the heap is made, so it cannot be set from inside the
 * process, but `--semi-space-growth-factor` is read at each growth decision: `bin/meshtrace.js`
 * starts the process at factor 1 (no growth), and this lets it grow (factor 2) while the young
 * generation is below the ceiling and requests arrive faster than `growAboveRps`, and stops it
 * (factor 1) otherwise, checking every 256 requests (a counter increment per request; nothing runs
 * while the sidecar is idle). The rate matters because the cost does: at 1k rps a sidecar
 * allocates ~17 MB/s, a couple of dozen scavenges a second, well under 1 % of a core, so there the
 * 2 × 1 MiB young generation is free and growing it would only cost ~6 MiB resident; at
 * saturation it is hundreds of scavenges a second. V8 shrinks the young generation again by itself
 * when allocation slows down.
 *
 * Armed only where `bin/meshtrace.js` capped the heap for a `proxy`/`inject` process (it sets the
 * global below); a sidecar started in another process (tests, `startSidecar`) leaves V8 alone.
 */
export const YOUNG_GENERATION_CAP = Symbol.for('meshtrace.sidecar.youngGenerationCapMiB');

const CHECK_EVERY = 256;
/** Default request rate above which the young generation may grow (MESHTRACE_SIDECAR_YOUNG_GROW_RPS). */
export const DEFAULT_GROW_ABOVE_RPS = 2000;
let ceilingBytes = 0;
/** At most this many ms for CHECK_EVERY requests means "faster than the growth rate". */
let fastWindowMs = 0;
let lastCheck = 0;
let requests = 0;
let growing = false;

/** Arms the ceiling if bin/meshtrace.js asked for one; returns the semi-space ceiling in MiB, or 0. */
export function armYoungGenerationCap(): number {
  const mib = (globalThis as Record<symbol, unknown>)[YOUNG_GENERATION_CAP];
  if (typeof mib !== 'number' || !(mib > 0)) return 0;
  // Both semi-spaces count in new_space's size.
  ceilingBytes = 2 * mib * 2 ** 20;
  const rps = Number(process.env['MESHTRACE_SIDECAR_YOUNG_GROW_RPS'] ?? DEFAULT_GROW_ABOVE_RPS);
  fastWindowMs = (CHECK_EVERY / (rps > 0 ? rps : DEFAULT_GROW_ABOVE_RPS)) * 1000;
  lastCheck = performance.now();
  return mib;
}

/** Called once per completed request. */
export function noteRequest(): void {
  if (ceilingBytes === 0 || (++requests & (CHECK_EVERY - 1)) !== 0) return;
  check();
}

function check(): void {
  const now = performance.now();
  const busy = now - lastCheck <= fastWindowMs;
  lastCheck = now;
  let grow = false;
  if (busy) {
    const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    grow = space !== undefined && space.space_size < ceilingBytes;
  }
  if (grow === growing) return;
  growing = grow;
  setFlagsFromString(`--semi-space-growth-factor=${grow ? 2 : 1}`);
}
