/**
 * The virtualized waterfall. Only the rows inside the viewport (plus a small overscan) exist in
 * the DOM, each absolutely positioned at `position × ROW_HEIGHT`; the scroll height comes from one
 * spacer. Everything a row needs is an O(1) read from the model's typed arrays, so a scroll
 * frame costs the same for 100 spans and 100 000. Span data is rendered only as JSX text.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { serviceColor } from '../colors.js';
import { formatDuration } from '../format.js';
import type { CriticalPath } from '../critical-path.js';
import type { TraceModel, VisibleRows } from '../trace-model.js';
import { isDrawn, type MeshRow } from '../mesh.js';

export const ROW_HEIGHT = 24;
const OVERSCAN = 12;

export interface WaterfallProps {
  model: TraceModel;
  view: VisibleRows;
  collapsed: Uint8Array;
  /** Row of the selected span, −1 for none. */
  selected: number;
  /** Find-in-trace matches (1 = match) or null. */
  matches: Uint8Array | null;
  critical: CriticalPath | null;
  /** Zoomed time window as fractions of the trace [0, 1]. */
  range: [number, number];
  onSelect: (row: number) => void;
  onToggle: (row: number) => void;
  /** Incremented by the page to ask for the selected row to be scrolled into view. */
  scrollRequest: number;
  /** Per row: what a sidecar did to the span (ui/src/mesh.ts); null when nothing in the trace. */
  mesh?: (MeshRow | undefined)[] | null;
}

const MESH_GLYPH: Record<string, string> = { retry: '↻', fault: '⚡', overflow: '⛔', ejection: '⏏', 'no-healthy': '∅', timeout: '⏱', route: '→' };

/** Position of `row` in the visible rows (they are in ascending row order), or −1. */
export function positionOf(rows: Int32Array, row: number): number {
  let lo = 0;
  let hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid] === row) return mid;
    if (rows[mid] < row) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Set once per page load: the bench reads `performance.getEntriesByName(WATERFALL_MARK)`. */
export const WATERFALL_MARK = 'meshtrace:waterfall-rendered';
let marked = false;

export function Waterfall(p: WaterfallProps) {
  const { model: m, view } = p;
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const frame = useRef(0);

  useLayoutEffect(() => {
    const el = scroller.current!;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    setHeight(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  // Bring the selection into view when the page asks (jump to span, keyboard, find next).
  useEffect(() => {
    const el = scroller.current;
    if (!el || p.selected < 0) return;
    const pos = positionOf(view.rows, p.selected);
    if (pos < 0) return;
    const top = pos * ROW_HEIGHT;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_HEIGHT - el.clientHeight;
    setScrollTop(el.scrollTop);
  }, [p.scrollRequest]);

  const onScroll = () => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      if (scroller.current) setScrollTop(scroller.current.scrollTop);
    });
  };
  useEffect(() => {
    // Effects run after the browser painted the first rows: the moment a user sees the waterfall.
    if (!marked) { marked = true; performance.mark(WATERFALL_MARK); }
    return () => cancelAnimationFrame(frame.current);
  }, []);

  const onKeyDown = (e: KeyboardEvent) => {
    const n = view.rows.length;
    if (!n) return;
    const pos = p.selected >= 0 ? positionOf(view.rows, p.selected) : -1;
    const go = (to: number) => {
      e.preventDefault();
      p.onSelect(view.rows[Math.max(0, Math.min(n - 1, to))]);
    };
    const hasKids = (row: number) => m.subtreeEnd[row] > row + 1;
    switch (e.key) {
      case 'ArrowDown': case 'j': return go(pos + 1);
      case 'ArrowUp': case 'k': return go(pos < 0 ? 0 : pos - 1);
      case 'PageDown': return go(pos + Math.floor(height / ROW_HEIGHT));
      case 'PageUp': return go(pos - Math.floor(height / ROW_HEIGHT));
      case 'Home': return go(0);
      case 'End': return go(n - 1);
      case 'ArrowRight':
        if (p.selected >= 0 && hasKids(p.selected) && p.collapsed[p.selected]) { e.preventDefault(); p.onToggle(p.selected); }
        else if (pos >= 0) go(pos + 1);
        return;
      case 'ArrowLeft':
        if (p.selected < 0) return;
        e.preventDefault();
        if (hasKids(p.selected) && !p.collapsed[p.selected]) p.onToggle(p.selected);
        else if (m.parent[p.selected] >= 0) p.onSelect(m.parent[p.selected]);
        return;
      case 'Enter': case ' ':
        if (p.selected >= 0 && hasKids(p.selected)) { e.preventDefault(); p.onToggle(p.selected); }
        return;
    }
  };

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(view.rows.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
  const [r0, r1] = p.range;
  const viewStart = r0 * m.durationUs;
  const viewDur = Math.max(1e-9, (r1 - r0) * m.durationUs);
  const pct = (us: number) => ((us - viewStart) / viewDur) * 100;

  const items = [];
  for (let pos = first; pos < last; pos++) {
    const i = view.rows[pos];
    const s = m.spans[i];
    const svc = m.services[m.service[i]];
    const color = serviceColor(svc);
    const kids = m.subtreeEnd[i] > i + 1;
    const left = pct(m.start[i]);
    const width = Math.max((m.duration[i] / viewDur) * 100, 0.05);
    let side = labelSide(left, width);
    const cls = ['wf-row'];
    if (i === p.selected) cls.push('selected');
    if (p.matches?.[i]) cls.push('match');
    if (m.error[i]) cls.push('is-error');
    const mesh = p.mesh?.[i];
    const meshBadges = [];
    const meshMarks = [];
    let backoff = null;
    const delays = [];
    if (mesh) {
      if (mesh.tries !== undefined) {
        meshBadges.push(
          <span class="wf-mesh-badge wf-mesh-retry" data-mesh-badge="tries" title={`The sidecar retried this call: ${mesh.tries} tries, each a span below`}>
            {MESH_GLYPH.retry} {mesh.tries} tries
          </span>,
        );
      }
      if (mesh.attempt !== undefined) {
        meshBadges.push(
          <span class="wf-try" data-mesh="attempt" title={mesh.attempt > 1 ? `Try ${mesh.attempt} of this call: retry ${mesh.attempt - 1}, sent after a ${mesh.backoffMs ?? 0} ms back-off` : 'Try 1 of this call, which the sidecar retried'}>
            try {mesh.attempt}
          </span>,
        );
        if (mesh.backoffMs) {
          // The back-off gap before this try, drawn as a hatched segment ending where the try starts.
          const gapUs = mesh.backoffMs * 1000;
          backoff = (
            <div class="wf-backoff" data-mesh="backoff" title={`back-off ${mesh.backoffMs} ms before this try`}
              style={{ left: `${pct(m.start[i] - gapUs)}%`, width: `${Math.max((gapUs / viewDur) * 100, 0.05)}%` }} />
          );
        }
      }
      const seen = new Set<string>();
      for (const k of mesh.markers) {
        if (!isDrawn(k)) continue;
        if (k.kind === 'fault' && k.delayMs) {
          // The injected delay itself: a hatched stretch from the moment it started.
          delays.push(
            <div class="wf-delay" data-mesh="delay" title={k.detail}
              style={{ left: `${pct(k.timeUs - m.startUs)}%`, width: `${Math.max(((k.delayMs * 1000) / viewDur) * 100, 0.05)}%` }} />,
          );
        }
        meshMarks.push(
          <span class={`wf-mesh wf-mesh-${k.kind}`} data-mesh={k.kind} title={k.detail} style={{ left: `${pct(k.timeUs - m.startUs)}%` }}>
            {MESH_GLYPH[k.kind]}
          </span>,
        );
        if (seen.has(k.kind)) continue;
        seen.add(k.kind);
        meshBadges.push(<span class={`wf-mesh-badge wf-mesh-${k.kind}`} data-mesh-badge={k.kind} title={k.detail}>{MESH_GLYPH[k.kind]} {k.label}</span>);
      }
    }
    // A label before the bar would sit on the back-off gap drawn there.
    if (backoff && side === 'before') side = 'inside';
    const segs = p.critical?.segments.get(i);
    const critical = [];
    if (segs) {
      for (let k = 0; k < segs.length; k += 2) {
        critical.push(
          <div class="wf-crit" style={{ left: `${pct(segs[k])}%`, width: `${Math.max(((segs[k + 1] - segs[k]) / viewDur) * 100, 0.05)}%` }} />,
        );
      }
    }
    items.push(
      <div
        key={i}
        class={cls.join(' ')}
        style={{ transform: `translateY(${pos * ROW_HEIGHT}px)` }}
        role="treeitem"
        aria-level={view.depth[pos] + 1}
        aria-selected={i === p.selected}
        aria-expanded={kids ? !p.collapsed[i] : undefined}
        data-span-id={s.spanID}
        data-depth={view.depth[pos]}
        onClick={() => p.onSelect(i)}
      >
        <div class="wf-name" style={{ paddingLeft: `${Math.min(view.depth[pos], 40) * 12 + 4}px` }}>
          {kids ? (
            <button
              class="wf-toggle"
              tabIndex={-1}
              aria-label={p.collapsed[i] ? 'Expand' : 'Collapse'}
              onClick={(e) => { e.stopPropagation(); p.onToggle(i); }}
            >
              {p.collapsed[i] ? '▸' : '▾'}
            </button>
          ) : (
            <span class="wf-toggle-space" />
          )}
          <span class="wf-svc-stripe" style={{ background: color }} />
          {m.error[i] ? <span class="wf-err" title="Error">!</span> : null}
          {m.orphan[i] ? <span class="wf-orphan" title={`Parent span ${s.references[0]?.spanID ?? ''} never arrived`}>⚠</span> : null}
          <span class="wf-svc">{svc}</span>
          <span class="wf-op">{s.operationName}</span>
          {meshBadges}
          {kids && p.collapsed[i] ? <span class="wf-hidden-count">+{m.subtreeEnd[i] - i - 1}</span> : null}
        </div>
        <div class="wf-timeline">
          {backoff}
          <div class="wf-bar" style={{ left: `${left}%`, width: `${width}%`, background: color }} />
          {critical}
          {delays}
          {meshMarks}
          <span class={`wf-label ${side}${side === 'inside' && meshMarks.length > 0 ? ' beside-mark' : ''}`} style={side === 'after' ? { left: `${left + width}%` } : side === 'before' ? { right: `${100 - left}%` } : { left: `${Math.max(left, 0)}%` }}>
            {formatDuration(m.duration[i])}
          </span>
        </div>
      </div>,
    );
  }

  return (
    <div
      class="wf-scroll"
      ref={scroller}
      tabIndex={0}
      role="tree"
      aria-label="Trace waterfall"
      onScroll={onScroll}
      onKeyDown={onKeyDown}
    >
      <div class="wf-spacer" style={{ height: `${view.rows.length * ROW_HEIGHT}px` }}>
        {items}
      </div>
    </div>
  );
}

/**
 * Where a bar's duration label goes (percentages of the visible timeline): after the bar when there
 * is room, else before it, else inside the bar at its visible start. A label placed before a bar
 * that starts near the left edge is clipped by the timeline ("1.4ms" showed as ".4ms"), and the
 * root span's, placed before a bar at 0 %, was not shown at all.
 */
export function labelSide(leftPct: number, widthPct: number): 'after' | 'before' | 'inside' {
  if (leftPct + widthPct < 80) return 'after';
  if (leftPct > 20) return 'before';
  return 'inside';
}

