/**
 * The standard adjuster sequence (Jaeger's StandardAdjusters, adapted to the OTel-shaped model:
 * `telemetry.sdk.*` already lives on the resource, so no tag-moving step is needed).
 * Order matters and is pinned by a test: unique ids first, dedupe before structure checks,
 * clock skew before sorting.
 */
import type { Trace } from '../../model/span.js';
import type { Adjuster } from './adjuster.js';
import { correctClockSkew } from './clock-skew.js';
import { dedupeIdenticalSpans } from './dedupe-spans.js';
import { dropInvalidLinks } from './links.js';
import { flagMissingParents } from './missing-parents.js';
import { sortSpans } from './sort.js';
import { spanIdUniquifier } from './span-id-uniquifier.js';

export type { Adjuster } from './adjuster.js';

export interface AdjusterOptions {
  /** Largest clock-skew correction applied, µs; 0 disables clock-skew adjustment. */
  maxClockSkewAdjustUs: number;
}

export function standardAdjusters(o: AdjusterOptions): Adjuster[] {
  return [spanIdUniquifier(), dedupeIdenticalSpans(), dropInvalidLinks(), flagMissingParents(), correctClockSkew(o.maxClockSkewAdjustUs), sortSpans()];
}

export function applyAdjusters(trace: Trace, adjusters: readonly Adjuster[]): Trace {
  for (const adjust of adjusters) adjust(trace);
  return trace;
}
