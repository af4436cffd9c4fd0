import type { FaultPolicy } from './schema.js';

/** What fault injection (Envoy's fault filter) does to one request. */
export interface FaultDecision {
  /** Hold the request this long before forwarding it (flag DI); 0 = no delay. */
  delayMs: number;
  /** Answer locally with this status after any delay (flag FI); 0 = forward. */
  abortStatus: number;
}

export const FAULT_ABORT_BODY = 'fault filter abort';

/**
 * Decides delay and abort independently, each with its own percentage (as Envoy does), from
 * numbers in [0, 1) the caller draws; undefined when neither applies, so most requests carry nothing.
 */
export function decideFault(f: FaultPolicy, random: () => number): FaultDecision | undefined {
  const delayMs = f.delay && f.delay.fixedDelayMs > 0 && random() * 100 < f.delay.percent ? f.delay.fixedDelayMs : 0;
  const abortStatus = f.abort && random() * 100 < f.abort.percent ? f.abort.httpStatus : 0;
  return delayMs || abortStatus ? { delayMs, abortStatus } : undefined;
}
