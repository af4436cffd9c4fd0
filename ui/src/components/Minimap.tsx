/**
 * Overview of the whole trace (one line per visible row, scaled to fit) with the zoomed window;
 * drag across it to zoom the waterfall into a time range, double-click to reset. Drawn on a
 * canvas once per change of rows, not per frame.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { serviceColor } from '../colors.js';
import type { TraceModel, VisibleRows } from '../trace-model.js';

const H = 48;

export function Minimap({ model: m, view, range, onRange }: {
  model: TraceModel;
  view: VisibleRows;
  range: [number, number];
  onRange: (r: [number, number]) => void;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [drag, setDrag] = useState<[number, number] | null>(null);

  useEffect(() => {
    const c = canvas.current!;
    const w = (c.width = Math.max(1, c.clientWidth * devicePixelRatio));
    const h = (c.height = H * devicePixelRatio);
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, w, h);
    const n = view.rows.length;
    const dur = m.durationUs || 1;
    const rowH = Math.max(h / Math.max(n, 1), 1);
    // Draw at most one rectangle per pixel row to keep 100k spans cheap.
    const step = Math.max(1, Math.floor(n / h));
    for (let pos = 0; pos < n; pos += step) {
      const i = view.rows[pos];
      ctx.fillStyle = m.error[i] ? '#d62728' : serviceColor(m.services[m.service[i]]);
      ctx.fillRect((m.start[i] / dur) * w, (pos / n) * h, Math.max(1, (m.duration[i] / dur) * w), rowH);
    }
  }, [m, view]);

  const frac = (e: PointerEvent) => {
    const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
    return Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
  };
  const shown = drag ? [Math.min(drag[0], drag[1]), Math.max(drag[0], drag[1])] : range;
  return (
    <div class="minimap-wrap">
      <div
        class="minimap"
        onPointerDown={(e) => { (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId); const f = frac(e); setDrag([f, f]); }}
        onPointerMove={(e) => drag && setDrag([drag[0], frac(e)])}
        onPointerUp={() => {
          if (drag) {
            const a = Math.min(drag[0], drag[1]);
            const b = Math.max(drag[0], drag[1]);
            if (b - a > 0.002) onRange([a, b]);
          }
          setDrag(null);
        }}
        onDblClick={() => onRange([0, 1])}
        title="Drag to zoom into a time range; double-click to reset"
      >
        <canvas ref={canvas} style={{ height: `${H}px` }} />
        <div class="mm-shade" style={{ left: 0, width: `${shown[0] * 100}%` }} />
        <div class="mm-shade" style={{ left: `${shown[1] * 100}%`, right: 0 }} />
        <div class="mm-window" style={{ left: `${shown[0] * 100}%`, width: `${(shown[1] - shown[0]) * 100}%` }} />
      </div>
    </div>
  );
}
