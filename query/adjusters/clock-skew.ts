/**
 * Clock skew between hosts: a child span reported by a different host than its parent, whose
 * interval does not fit inside the parent's, is shifted (with its whole subtree) so that it sits
 * centred in the parent — Jaeger's ClockSkew adjuster. Spans on the same host are never moved:
 * their clock is the parent's clock. A shift larger than `maxAdjustUs` is not applied (a warning
 * says so); `maxAdjustUs` 0 disables the adjuster, Jaeger's default.
 * Host identity: resource `host.id`, `host.name`, else `service.instance.id`; unknown hosts are
 * treated as different from each other only when both are known.
 * Assumes unique span ids (run after spanIdUniquifier) and is safe with missing parents.
 */
import { findAttribute, type Span, type Trace } from '../../model/span.js';
import { addWarning, type Adjuster } from './adjuster.js';

function hostOf(s: Span): string | undefined {
  for (const key of ['host.id', 'host.name', 'service.instance.id']) {
    const a = findAttribute(s.resource.attributes, key);
    if (a) return `${key}=${String(a.value)}`;
  }
  return undefined;
}

export function correctClockSkew(maxAdjustUs: number): Adjuster {
  return (trace: Trace) => {
    if (maxAdjustUs <= 0) return;
    const byId = new Map(trace.spans.map((s) => [s.spanId, s]));
    const children = new Map<string, Span[]>();
    const roots: Span[] = [];
    for (const s of trace.spans) {
      if (s.parentSpanId && byId.has(s.parentSpanId) && s.parentSpanId !== s.spanId) {
        const list = children.get(s.parentSpanId);
        if (list) list.push(s);
        else children.set(s.parentSpanId, [s]);
      } else roots.push(s);
    }
    // Iterative DFS carrying the shift already applied to the parent (children inherit it).
    const stack: { span: Span; inherited: number }[] = roots.map((span) => ({ span, inherited: 0 }));
    const visited = new Set<string>();
    while (stack.length > 0) {
      const { span, inherited } = stack.pop()!;
      if (visited.has(span.spanId)) continue;
      visited.add(span.spanId);
      if (inherited !== 0) shift(span, inherited);
      let applied = inherited;
      const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
      if (parent && parent !== span) {
        const ph = hostOf(parent);
        const ch = hostOf(span);
        const differentHosts = ph !== undefined && ch !== undefined && ph !== ch;
        const fits = span.startTimeUs >= parent.startTimeUs && span.startTimeUs + span.durationUs <= parent.startTimeUs + parent.durationUs;
        if (differentHosts && !fits && span.durationUs <= parent.durationUs) {
          const target = parent.startTimeUs + Math.floor((parent.durationUs - span.durationUs) / 2);
          const delta = target - span.startTimeUs;
          if (Math.abs(delta) <= maxAdjustUs) {
            shift(span, delta);
            applied += delta;
            addWarning(span, `This span's timestamps were adjusted by ${formatUs(delta)}`);
          } else {
            addWarning(span, `clock skew of ${formatUs(delta)} exceeds the maximum adjustment of ${formatUs(maxAdjustUs)}; not adjusted`);
          }
        }
      }
      for (const c of children.get(span.spanId) ?? []) stack.push({ span: c, inherited: applied });
    }
  };
}

function shift(span: Span, deltaUs: number): void {
  span.startTimeUs += deltaUs;
  for (const e of span.events) e.timeUs += deltaUs;
}

function formatUs(us: number): string {
  const abs = Math.abs(us);
  if (abs >= 1_000_000) return `${(us / 1_000_000).toFixed(3)}s`;
  if (abs >= 1_000) return `${(us / 1_000).toFixed(3)}ms`;
  return `${us}µs`;
}
