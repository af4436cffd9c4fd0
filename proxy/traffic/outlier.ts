import type { OutlierDetection } from './schema.js';

/**
 * Outlier detection bookkeeping for one upstream's endpoints (Envoy's consecutive-5xx detector).
 * Pure: the caller passes the time. Ejections end lazily — an endpoint counts as ejected while
 * `now < ejectedUntil` — so there is no sweep timer; Envoy un-ejects at its next interval tick,
 * i.e. up to `intervalMs` later than here.
 */
export interface EndpointHealth {
  consecutiveErrors: number;
  /** Epoch ms the current ejection ends; 0 = never ejected. */
  ejectedUntil: number;
  /** Ejection multiplier: grows per ejection, shrinks by one per `intervalMs` spent healthy. */
  timesEjected: number;
}

/** Envoy's default `max_ejection_time`: no ejection lasts longer (unless the base time itself does). */
export const MAX_EJECTION_MS = 300_000;

export const newEndpointHealth = (): EndpointHealth => ({ consecutiveErrors: 0, ejectedUntil: 0, timesEjected: 0 });

export const isEjected = (h: EndpointHealth | undefined, now: number): boolean => h !== undefined && now < h.ejectedUntil;

/**
 * Records one try's result for endpoint `h` of an upstream with `all` endpoints' health; returns
 * true when this result ejected it. An ejection is allowed while the ejected share stays within
 * `maxEjectionPercent` — and, as in Envoy, when no endpoint is ejected yet, so that small
 * upstreams (2 endpoints at the default 10 %) can still eject one.
 */
export function recordResult(
  od: OutlierDetection, h: EndpointHealth, all: Iterable<EndpointHealth>, endpointCount: number, failed: boolean, now: number,
): boolean {
  if (!failed) { h.consecutiveErrors = 0; return false; }
  if (isEjected(h, now)) return false; // a try that was in flight when it was ejected
  h.consecutiveErrors++;
  if (h.consecutiveErrors < od.consecutive5xxErrors) return false;
  let ejected = 0;
  for (const o of all) if (isEjected(o, now)) ejected++;
  if (ejected > 0 && (ejected + 1) * 100 > od.maxEjectionPercent * endpointCount) return false;
  // Healthy intervals since the last ejection ended each take one step off the multiplier.
  if (h.timesEjected > 0 && h.ejectedUntil > 0) {
    h.timesEjected = Math.max(0, h.timesEjected - Math.floor((now - h.ejectedUntil) / od.intervalMs));
  }
  h.timesEjected++;
  h.ejectedUntil = now + Math.min(od.baseEjectionTimeMs * h.timesEjected, Math.max(MAX_EJECTION_MS, od.baseEjectionTimeMs));
  h.consecutiveErrors = 0;
  return true;
}
