/**
 * `/compare/:a...:b`: two traces aligned by call path (structure) with counts and durations on
 * each side (time). Rows only in A are "missing in B", rows only in B are "new in B"; for rows in
 * both, the slower side is highlighted.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { serviceColor } from '../colors.js';
import { compareTraces } from '../compare.js';
import { formatDuration } from '../format.js';
import type { Trace } from '../jaeger-types.js';
import { href, onLinkClick } from '../router.js';
import { buildTraceModel } from '../trace-model.js';
import { loadTrace } from '../trace-source.js';

type Load = { state: 'loading' } | { state: 'error'; message: string } | { state: 'done'; a: Trace; b: Trace };

export function ComparePage({ a, b }: { a: string; b: string }) {
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [onlyDiff, setOnlyDiff] = useState(false);
  useEffect(() => {
    if (!a || !b) { setLoad({ state: 'error', message: 'The address must name two traces: /compare/<traceA>...<traceB>' }); return; }
    const ac = new AbortController();
    // Structure and durations are all the comparison needs: the compact form is enough.
    Promise.all([loadTrace(a, ac.signal), loadTrace(b, ac.signal)]).then(
      ([ta, tb]) => setLoad({ state: 'done', a: ta.trace, b: tb.trace }),
      (e: Error) => { if (e.name !== 'AbortError') setLoad({ state: 'error', message: e.message }); },
    );
    return () => ac.abort();
  }, [a, b]);

  const models = useMemo(() => (load.state === 'done' ? [buildTraceModel(load.a), buildTraceModel(load.b)] as const : null), [load]);
  const rows = useMemo(() => (models ? compareTraces(models[0], models[1]) : []), [models]);

  if (load.state === 'loading') return <div class="state">Loading traces…</div>;
  if (load.state === 'error') return <div class="state error" role="alert">{load.message} <a href={href('search')}>Back to search</a></div>;
  const [ma, mb] = models!;
  const shown = onlyDiff ? rows.filter((r) => r.countA !== r.countB || Math.abs(r.totalA - r.totalB) > 0.1 * Math.max(r.totalA, r.totalB)) : rows;
  const side = (id: string, m: typeof ma, label: string) => (
    <div class="cmp-side">
      <strong>{label}</strong>{' '}
      <a class="mono" href={href(`trace/${id}`)} onClick={(e) => onLinkClick(e as MouseEvent, `trace/${id}`)}>{id}</a>
      <div>{m.n} spans · {formatDuration(m.durationUs)} · {m.errorCount} errors</div>
    </div>
  );
  return (
    <div class="compare-page">
      <div class="cmp-head">
        {side(a, ma, 'A')}
        {side(b, mb, 'B')}
        <label class="inline"><input type="checkbox" checked={onlyDiff} onChange={(e) => setOnlyDiff(e.currentTarget.checked)} /> only differences</label>
      </div>
      <p class="muted legend-line">
        <span class="badge only-a">only in A</span> <span class="badge only-b">only in B</span>{' '}
        <span class="slower-sample">slower side</span> · rows are call paths (service: operation under the same parents)
      </p>
      <table class="compare" aria-label="Trace comparison">
        <thead>
          <tr>
            <th>Call path</th>
            <th class="num">Count A</th><th class="num">Count B</th>
            <th class="num">Total A</th><th class="num">Total B</th><th class="num">Δ time</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r, k) => {
            const status = r.countA && !r.countB ? 'only-a' : !r.countA && r.countB ? 'only-b' : 'both';
            const slower = status === 'both' ? (r.totalA > r.totalB * 1.1 ? 'a' : r.totalB > r.totalA * 1.1 ? 'b' : '') : '';
            return (
              <tr key={k} class={status}>
                <td style={{ paddingLeft: `${Math.min(r.depth, 30) * 14 + 6}px` }}>
                  <span class="svc-dot" style={{ background: serviceColor(r.service) }} />
                  {r.service}: {r.operation}
                  {status === 'only-a' && <span class="badge only-a">only in A</span>}
                  {status === 'only-b' && <span class="badge only-b">only in B</span>}
                </td>
                <td class="num">{r.countA || '–'}</td>
                <td class={`num${r.countA !== r.countB && status === 'both' ? ' changed' : ''}`}>{r.countB || '–'}</td>
                <td class={`num${slower === 'a' ? ' slower' : ''}`}>{r.countA ? formatDuration(r.totalA) : '–'}</td>
                <td class={`num${slower === 'b' ? ' slower' : ''}`}>{r.countB ? formatDuration(r.totalB) : '–'}</td>
                <td class="num">{status === 'both' ? `${r.totalB >= r.totalA ? '+' : ''}${formatDuration(r.totalB - r.totalA)}` : ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
