/**
 * Turns the compact trace form (meshtrace extension) into the Jaeger shape the trace model reads,
 * with just what the waterfall needs: ids, parent, times, service, operation, kind and the error
 * mark. Tags, logs and processes of a span are fetched when its details open.
 */
import type { CompactTrace, KV, Span, Trace } from './jaeger-types.js';

const KINDS = ['', 'internal', 'server', 'client', 'producer', 'consumer'];
const ERROR_TAG: KV = { key: 'error', type: 'bool', value: true };

export function compactToTrace(c: CompactTrace): Trace {
  const s = c.spans;
  const n = s.spanID.length;
  const spans = new Array<Span>(n);
  const kindTags: KV[][] = KINDS.map((k) => (k ? [{ key: 'span.kind', type: 'string', value: k }] : []));
  const kindErrorTags: KV[][] = kindTags.map((t) => [...t, ERROR_TAG]);
  for (let i = 0; i < n; i++) {
    const parent = s.parentSpanID[i];
    const kind = s.kind[i] >= 0 && s.kind[i] < KINDS.length ? s.kind[i] : 0;
    spans[i] = {
      traceID: c.traceID,
      spanID: s.spanID[i],
      operationName: c.operations[s.operation[i]],
      references: parent ? [{ refType: 'CHILD_OF', traceID: c.traceID, spanID: parent }] : [],
      startTime: s.startTime[i],
      duration: s.duration[i],
      // Shared arrays: only read, and replaced by the real span when its details load.
      tags: s.flags[i] & 1 ? kindErrorTags[kind] : kindTags[kind],
      logs: [],
      processID: `s${s.service[i]}`,
      warnings: null,
    };
  }
  // Spans a sidecar acted on carry their try number, back-off and meshtrace.* events, so the
  // waterfall can mark them before any details are fetched.
  for (const mm of c.mesh ?? []) {
    const sp = spans[mm.span];
    if (!sp) continue;
    const extra: KV[] = [];
    if (mm.attempt !== undefined) extra.push({ key: 'meshtrace.attempt', type: 'int64', value: mm.attempt });
    if (mm.backoffMs !== undefined) extra.push({ key: 'meshtrace.retry.backoff_ms', type: 'int64', value: mm.backoffMs });
    if (mm.tries !== undefined) extra.push({ key: 'meshtrace.retried', type: 'bool', value: true }, { key: 'meshtrace.retry.attempts', type: 'int64', value: mm.tries });
    if (extra.length) sp.tags = [...sp.tags, ...extra];
    sp.logs = mm.events.map((e) => ({
      timestamp: e.time,
      fields: [
        { key: 'event', type: 'string', value: e.name },
        ...Object.entries(e.attributes).map(([key, value]): KV => ({ key, type: typeof value === 'boolean' ? 'bool' : typeof value === 'number' ? 'int64' : 'string', value })),
      ],
    }));
  }
  const processes: Trace['processes'] = {};
  c.services.forEach((name, k) => (processes[`s${k}`] = { serviceName: name, tags: [] }));
  return { traceID: c.traceID, spans, processes, warnings: c.warnings };
}
