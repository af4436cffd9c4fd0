/** Search results as duration over start time (Jaeger's scatter plot). Point area grows with span count. */
import type { TraceSummary } from '../trace-summary.js';
import { formatDuration, formatTime } from '../format.js';

const W = 1000;
const H = 180;
const PAD = { l: 76, r: 28, t: 16, b: 24 };

export function Scatter({ traces, onOpen }: { traces: TraceSummary[]; onOpen: (id: string) => void }) {
  if (!traces.length) return null;
  let t0 = Infinity, t1 = -Infinity, dMax = 0, nMax = 1;
  for (const t of traces) {
    t0 = Math.min(t0, t.startUs);
    t1 = Math.max(t1, t.startUs);
    dMax = Math.max(dMax, t.durationUs);
    nMax = Math.max(nMax, t.spanCount);
  }
  const span = Math.max(1, t1 - t0);
  const x = (us: number) => PAD.l + (t1 === t0 ? 0.5 : (us - t0) / span) * (W - PAD.l - PAD.r);
  const y = (us: number) => H - PAD.b - (dMax ? us / dMax : 0) * (H - PAD.t - PAD.b);
  const r = (n: number) => 3 + 7 * Math.sqrt(n / nMax);
  const ticks = [0, 0.5, 1];
  return (
    <svg class="scatter" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Trace durations over time">
      {ticks.map((f) => (
        <g key={f}>
          <line x1={PAD.l} x2={W - PAD.r} y1={y(dMax * f)} y2={y(dMax * f)} class="grid" />
          <text x={PAD.l - 6} y={y(dMax * f) + 4} text-anchor="end" class="axis">{formatDuration(dMax * f)}</text>
        </g>
      ))}
      <text x={PAD.l} y={H - 6} class="axis">{formatTime(t0).slice(11, 19)}</text>
      <text x={W - PAD.r} y={H - 6} text-anchor="end" class="axis">{formatTime(t1).slice(11, 19)}</text>
      {traces.map((t) => (
        <circle
          key={t.traceID}
          cx={x(t.startUs)}
          cy={y(t.durationUs)}
          r={r(t.spanCount)}
          class={t.errorCount ? 'dot error' : 'dot'}
          onClick={() => onOpen(t.traceID)}
        >
          <title>{`${t.rootService}: ${t.rootOperation} · ${formatDuration(t.durationUs)} · ${t.spanCount} spans${t.errorCount ? ` · ${t.errorCount} errors` : ''}`}</title>
        </circle>
      ))}
    </svg>
  );
}
