/** Every fuzz target, by module (each module's `*.fuzz.test.ts` runs its own in `npm test`). */
import { otlpFuzzTargets } from '../../collector/otlp/otlp.fuzz.js';
import { zipkinFuzzTargets } from '../../collector/zipkin/zipkin.fuzz.js';
import { proxyConfigFuzzTargets } from '../../proxy/config.fuzz.js';
import { propagationFuzzTargets } from '../../proxy/propagation/propagation.fuzz.js';
import { queryParamFuzzTargets } from '../../query/query-params.fuzz.js';
import type { FuzzTarget } from './target.js';

export const allFuzzTargets: FuzzTarget[] = [
  ...otlpFuzzTargets,
  ...zipkinFuzzTargets,
  ...propagationFuzzTargets,
  ...queryParamFuzzTargets,
  ...proxyConfigFuzzTargets,
];
