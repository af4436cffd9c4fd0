/**
 * Where a trace page gets its trace: the compact form (meshtrace extension, ~1/10 of Jaeger
 * JSON) when the server has it, else the Jaeger `/api/traces/:id`.
 */
import { api, isMissingRoute } from './api.js';
import { compactToTrace } from './compact.js';
import type { Trace } from './jaeger-types.js';

/** `compact`: spans carry only kind and error tags; details and tag search go to the server. */
export async function loadTrace(id: string, signal?: AbortSignal): Promise<{ trace: Trace; compact: boolean }> {
  try {
    return { trace: compactToTrace(await api.traceCompact(id, signal)), compact: true };
  } catch (e) {
    if (!isMissingRoute(e)) throw e;
  }
  return { trace: await api.trace(id, signal), compact: false };
}
