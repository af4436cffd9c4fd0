/**
 * `/trace/:id`: header, minimap + ruler, virtualized waterfall with span details, and the
 * statistics view. View state that matters for sharing lives in the URL: `span` (selected span
 * id), `uiFind` (find text, as in Jaeger UI) and `view=stats`.
 *
 * Data: the compact trace (meshtrace extension, ~1/10 of Jaeger JSON) for the waterfall, then one
 * span at a time for details and a server-side find for tag values; against a plain Jaeger API
 * it falls back to `/api/traces/:id` and does everything locally.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { loadTrace } from '../trace-source.js';
import { serviceColor } from '../colors.js';
import { criticalPath } from '../critical-path.js';
import { formatDuration, formatTime } from '../format.js';
import type { Trace } from '../jaeger-types.js';
import { href } from '../router.js';
import {
  buildTraceModel, collapseToDepth, collapseWithinService, findInTrace, foldMatching, visibleRows,
} from '../trace-model.js';
import { traceStats } from '../trace-stats.js';
import { meshRows } from '../mesh.js';
import { Minimap } from '../components/Minimap.js';
import { SpanDetails, type Detail } from '../components/SpanDetails.js';
import { Waterfall } from '../components/Waterfall.js';

type Load =
  | { state: 'loading' }
  | { state: 'error'; message: string; notFound: boolean }
  /** `compact`: spans carry no tags/logs yet; details and find go to the server. */
  | { state: 'done'; trace: Trace; compact: boolean };


/** Keeps `key=value` in the page URL without adding a history entry. */
function setUrlParam(key: string, value: string) {
  const u = new URL(location.href);
  if (value) u.searchParams.set(key, value);
  else u.searchParams.delete(key);
  history.replaceState(null, '', u);
}

export function TracePage({ id, query }: { id: string; query: string }) {
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  useEffect(() => {
    const ac = new AbortController();
    setLoad({ state: 'loading' });
    loadTrace(id, ac.signal).then(
      (r) => setLoad({ state: 'done', ...r }),
      (e: Error) => {
        if (e.name === 'AbortError') return;
        setLoad({ state: 'error', message: e.message, notFound: e instanceof ApiError && e.status === 404 });
      },
    );
    return () => ac.abort();
  }, [id]);

  if (load.state === 'loading') return <div class="state">Loading trace {id}…</div>;
  if (load.state === 'error') {
    return (
      <div class="state error" role="alert">
        {load.notFound ? `Trace ${id} was not found. It may have expired or not arrived yet.` : `Could not load trace ${id}: ${load.message}`}{' '}
        <a href={href('search')}>Back to search</a>
      </div>
    );
  }
  return <TraceView trace={load.trace} compact={load.compact} query={query} />;
}

const HIDE_SHORT = [
  [0, 'Show all spans'],
  [0.001, 'Hide spans < 0.1% of trace'],
  [0.01, 'Hide spans < 1% of trace'],
  [0.05, 'Hide spans < 5% of trace'],
] as const;

function TraceView({ trace, compact, query }: { trace: Trace; compact: boolean; query: string }) {
  const m = useMemo(() => buildTraceModel(trace), [trace]);
  const mesh = useMemo(() => meshRows(m.spans), [m]);
  const params = useMemo(() => new URLSearchParams(query), []);
  const [tab, setTab] = useState<'timeline' | 'stats'>(params.get('view') === 'stats' ? 'stats' : 'timeline');
  const [selected, setSelected] = useState(() => m.rowOf.get(params.get('span') ?? '') ?? -1);
  // Big traces open folded to their cross-service calls so the first screen is readable; a span
  // named in the address stays visible.
  const [collapsed, setCollapsed] = useState<Uint8Array>(() => {
    const c = m.n > 5000 ? collapseWithinService(m) : new Uint8Array(m.n);
    for (let p = selected >= 0 ? m.parent[selected] : -1; p >= 0; p = m.parent[p]) c[p] = 0;
    // …and so do the spans a TraceQL search matched.
    for (const id of (params.get('matched') ?? '').split(',')) {
      for (let p = m.parent[m.rowOf.get(id) ?? -1] ?? -1; p >= 0; p = m.parent[p]) c[p] = 0;
    }
    return c;
  });
  const [scrollRequest, setScrollRequest] = useState(1);
  const [find, setFind] = useState(params.get('uiFind') ?? '');
  const [onlyMatches, setOnlyMatches] = useState(false);
  const [hideShort, setHideShort] = useState(0);
  const [serviceLevel, setServiceLevel] = useState(false);
  const [showCritical, setShowCritical] = useState(true);
  const [range, setRange] = useState<[number, number]>([0, 1]);
  /** Width of the name column, % of the waterfall (drag the header divider). */
  const [nameWidth, setNameWidth] = useState(() => (innerWidth < 900 ? 45 : 34));

  // Compact traces have no tags locally: names/ids match at once, tag values when the server answers.
  const [serverMatches, setServerMatches] = useState<{ q: string; ids: string[] } | null>(null);
  useEffect(() => {
    const q = find.trim();
    if (!compact || !q) return;
    const ac = new AbortController();
    const timer = setTimeout(() => {
      api.findInTrace(trace.traceID, q, ac.signal).then((ids) => setServerMatches({ q, ids }), () => undefined);
    }, 200);
    return () => { clearTimeout(timer); ac.abort(); };
  }, [find, compact]);
  // Spans a TraceQL search matched (`?matched=id,…` from the search page): highlighted until a find replaces them.
  const queryMatched = useMemo(() => {
    const ids = (params.get('matched') ?? '').split(',').filter(Boolean);
    if (!ids.length) return null;
    const rows = new Uint8Array(m.n);
    for (const id of ids) {
      const r = m.rowOf.get(id);
      if (r !== undefined) rows[r] = 1;
    }
    return rows;
  }, [m]);
  const matches = useMemo(() => {
    if (!find.trim()) return queryMatched;
    const local = findInTrace(m, find);
    if (serverMatches && serverMatches.q === find.trim()) {
      for (const id of serverMatches.ids) {
        const r = m.rowOf.get(id);
        if (r !== undefined) local[r] = 1;
      }
    }
    return local;
  }, [m, find, serverMatches, queryMatched]);
  const matchCount = useMemo(() => (matches ? matches.reduce((a, b) => a + b, 0) : 0), [matches]);
  const view = useMemo(
    () => visibleRows(m, {
      collapsed,
      hideShorterThanUs: hideShort * m.durationUs,
      serviceLevel,
      only: onlyMatches && matches ? matches : null,
    }),
    [m, collapsed, hideShort, serviceLevel, onlyMatches, matches],
  );
  const operationsByCount = useMemo(() => {
    const counts = new Int32Array(m.operations.length);
    for (let i = 0; i < m.n; i++) counts[m.operation[i]]++;
    return m.operations.map((name, k) => [name, k] as const).sort((a, b) => counts[b[1]] - counts[a[1]]).slice(0, 200);
  }, [m]);
  // Computed after the first paint: the waterfall should not wait for it.
  const [critical, setCritical] = useState<ReturnType<typeof criticalPath> | null>(null);
  useEffect(() => {
    if (!showCritical) { setCritical(null); return; }
    const t = setTimeout(() => setCritical(criticalPath(m)), 0);
    return () => clearTimeout(t);
  }, [m, showCritical]);
  const stats = useMemo(() => (tab === 'stats' ? traceStats(m) : []), [m, tab]);

  // Span details: local for Jaeger JSON; fetched (and kept) per span for compact traces.
  const detailCache = useMemo(() => new Map<string, Detail>(), [trace]);
  const [detail, setDetail] = useState<Detail | null>(null);
  useEffect(() => {
    if (selected < 0) { setDetail(null); return; }
    const s = m.spans[selected];
    if (!compact) { setDetail({ state: 'done', span: s, process: m.processes[s.processID] }); return; }
    const cached = detailCache.get(s.spanID);
    if (cached) { setDetail(cached); return; }
    setDetail({ state: 'loading' });
    const ac = new AbortController();
    api.span(trace.traceID, s.spanID, ac.signal).then(
      (t) => {
        const d: Detail = { state: 'done', span: t.spans[0], process: t.processes[t.spans[0].processID] };
        detailCache.set(s.spanID, d);
        setDetail(d);
      },
      (e: Error) => { if (e.name !== 'AbortError') setDetail({ state: 'error', message: e.message }); },
    );
    return () => ac.abort();
  }, [selected, m]);

  useEffect(() => setUrlParam('span', selected >= 0 ? m.spans[selected].spanID : ''), [selected]);
  useEffect(() => setUrlParam('uiFind', find), [find]);
  useEffect(() => setUrlParam('view', tab === 'stats' ? 'stats' : ''), [tab]);

  /** Selects a row, unfolding its ancestors so it is visible, and scrolls to it. */
  const reveal = (row: number) => {
    let p = m.parent[row];
    let changed: Uint8Array | null = null;
    while (p >= 0) {
      if (collapsed[p]) { changed ??= collapsed.slice(); changed[p] = 0; }
      p = m.parent[p];
    }
    if (changed) setCollapsed(changed);
    setSelected(row);
    setScrollRequest((x) => x + 1);
  };
  const toggle = (row: number) => {
    const c = collapsed.slice();
    c[row] = c[row] ? 0 : 1;
    setCollapsed(c);
  };
  const nextMatch = (dir: 1 | -1) => {
    if (!matches || !matchCount) return;
    for (let k = 1; k <= m.n; k++) {
      const i = (((selected < 0 ? (dir > 0 ? -1 : 0) : selected) + dir * k) % m.n + m.n) % m.n;
      if (matches[i]) return reveal(i);
    }
  };
  const [downloadError, setDownloadError] = useState('');
  const download = async () => {
    setDownloadError('');
    // A compact trace lacks tags and logs: download the full Jaeger JSON from the server.
    let full = trace;
    if (compact) {
      try {
        full = await api.trace(trace.traceID);
      } catch (e) {
        setDownloadError(`Could not download the trace: ${(e as Error).message}`);
        return;
      }
    }
    const blob = new Blob([JSON.stringify({ data: [full] }, null, 2)], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `trace-${full.traceID}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  };

  const rootRow = m.n && m.parent[0] < 0 ? 0 : -1;
  const root = rootRow >= 0 ? m.spans[rootRow] : undefined;
  const incomplete = m.rootCount === 0 || m.orphanCount > 0;
  const ticks = [0, 0.25, 0.5, 0.75, 1];

  return (
    <div class="trace-page">
      <header class="trace-head">
        <h1>
          {root && <span class="svc-dot" style={{ background: serviceColor(m.services[m.service[0]]) }} />}
          {root ? `${m.services[m.service[0]]}: ${root.operationName}` : 'Empty trace'}
          <span class="trace-id mono">{m.traceID}</span>
        </h1>
        <dl class="facts inline">
          <dt>Start</dt><dd>{formatTime(m.startUs)}</dd>
          <dt>Duration</dt><dd>{formatDuration(m.durationUs)}</dd>
          <dt>Services</dt><dd>{m.services.length}</dd>
          <dt>Depth</dt><dd>{m.maxDepth + 1}</dd>
          <dt>Total spans</dt><dd data-testid="span-count">{m.n}</dd>
          <dt>Errors</dt><dd class={m.errorCount ? 'error-text' : ''}>{m.errorCount}</dd>
        </dl>
        <div class="legend">
          {m.services.map((s, k) => (
            <span class="svc-tag" key={s} style={{ borderColor: serviceColor(s) }}>{s} ({m.serviceSpanCount[k]})</span>
          ))}
        </div>
        {incomplete && (
          <p class="warn-box" role="status">
            Incomplete trace:{' '}
            {m.rootCount === 0 ? 'the root span is missing' : ''}
            {m.rootCount === 0 && m.orphanCount ? '; ' : ''}
            {m.orphanCount ? `${m.orphanCount} span${m.orphanCount === 1 ? '' : 's'} whose parent never arrived (marked ⚠, shown at top level)` : ''}.
          </p>
        )}
        {m.warnings.length > 0 && (
          <details class="warnings">
            <summary>{m.warnings.length} warning{m.warnings.length === 1 ? '' : 's'} from the server’s adjusters</summary>
            <ul>{m.warnings.slice(0, 200).map((w, k) => <li key={k}>{w}</li>)}</ul>
          </details>
        )}
      </header>

      <div class="toolbar" role="toolbar" aria-label="Trace view">
        <div class="tabs">
          <button class={tab === 'timeline' ? 'active' : ''} onClick={() => setTab('timeline')}>Timeline</button>
          <button class={tab === 'stats' ? 'active' : ''} onClick={() => setTab('stats')}>Statistics</button>
          <button onClick={() => void download()}>Download JSON</button>
          {downloadError && <span class="error-text" role="alert">{downloadError}</span>}
        </div>
        {tab === 'timeline' && (
          <>
            <form class="find" onSubmit={(e) => { e.preventDefault(); nextMatch(1); }}>
              <input
                type="search"
                placeholder="Find in trace…"
                aria-label="Find in trace"
                value={find}
                onInput={(e) => setFind(e.currentTarget.value)}
              />
              {matches && <span class="find-count">{matchCount} match{matchCount === 1 ? '' : 'es'}</span>}
              <button type="button" onClick={() => nextMatch(-1)} disabled={!matchCount} aria-label="Previous match">↑</button>
              <button type="submit" disabled={!matchCount} aria-label="Next match">↓</button>
              <label class="inline"><input type="checkbox" checked={onlyMatches} onChange={(e) => setOnlyMatches(e.currentTarget.checked)} /> only matches</label>
            </form>
            <div class="view-opts">
              <button onClick={() => setCollapsed(new Uint8Array(m.n))}>Expand all</button>
              <button onClick={() => setCollapsed(collapseToDepth(m, 1))}>Collapse all</button>
              <button onClick={() => setCollapsed(collapseWithinService(m))} title="Fold every subtree that stays inside one service">Fold within services</button>
              <select
                aria-label="Fold all spans of a service or operation"
                value=""
                onChange={(e) => {
                  const [kind, idx] = e.currentTarget.value.split(':');
                  if (kind === 'service' || kind === 'operation') setCollapsed(foldMatching(m, collapsed, kind, Number(idx)));
                  e.currentTarget.value = '';
                }}
              >
                <option value="">Fold all…</option>
                <optgroup label="Service (where it is entered)">
                  {m.services.map((name, k) => <option key={`s${k}`} value={`service:${k}`}>{name}</option>)}
                </optgroup>
                <optgroup label="Operation">
                  {operationsByCount.map(([name, k]) => <option key={`o${k}`} value={`operation:${k}`}>{name}</option>)}
                </optgroup>
              </select>
              <label class="inline"><input type="checkbox" checked={serviceLevel} onChange={(e) => setServiceLevel(e.currentTarget.checked)} /> service calls only</label>
              <label class="inline"><input type="checkbox" checked={showCritical} onChange={(e) => setShowCritical(e.currentTarget.checked)} /> critical path</label>
              <select aria-label="Hide short spans" value={String(hideShort)} onChange={(e) => setHideShort(Number(e.currentTarget.value))}>
                {HIDE_SHORT.map(([v, l]) => <option key={v} value={String(v)}>{l}</option>)}
              </select>
              {(range[0] > 0 || range[1] < 1) && <button onClick={() => setRange([0, 1])}>Reset zoom</button>}
            </div>
          </>
        )}
      </div>

      {tab === 'stats' && <StatsTable rows={stats} />}
      {tab === 'timeline' && (
        <div class={selected >= 0 ? 'trace-body with-details' : 'trace-body'}>
          <div class="timeline-pane" style={{ '--name-w': `${nameWidth}%` }}>
            <Minimap model={m} view={view} range={range} onRange={setRange} />
            <div class="wf-header">
              <div class="wf-name">
                Service &amp; operation <small>({view.rows.length} of {m.n} rows shown)</small>
                <span
                  class="wf-resizer"
                  role="separator"
                  aria-orientation="vertical"
                  aria-label="Resize the name column"
                  onPointerDown={(e) => {
                    const handle = e.currentTarget as HTMLElement;
                    handle.setPointerCapture(e.pointerId);
                    const pane = handle.closest('.timeline-pane') as HTMLElement;
                    const move = (ev: PointerEvent) => {
                      const r = pane.getBoundingClientRect();
                      setNameWidth(Math.min(75, Math.max(12, ((ev.clientX - r.left) / r.width) * 100)));
                    };
                    const up = () => { handle.removeEventListener('pointermove', move); handle.removeEventListener('pointerup', up); };
                    handle.addEventListener('pointermove', move);
                    handle.addEventListener('pointerup', up);
                  }}
                />
              </div>
              <div class="wf-timeline ruler">
                {ticks.map((t) => (
                  <span key={t} style={{ left: `${t * 100}%` }} class={t === 1 ? 'last' : t === 0 ? 'first' : ''}>
                    {formatDuration((range[0] + (range[1] - range[0]) * t) * m.durationUs)}
                  </span>
                ))}
              </div>
            </div>
            {view.rows.length === 0 ? (
              <div class="state">No spans to show with these filters.</div>
            ) : (
              <Waterfall
                model={m}
                view={view}
                collapsed={collapsed}
                selected={selected}
                matches={matches}
                critical={critical}
                range={range}
                onSelect={(r) => { setSelected(r); setScrollRequest((x) => x + 1); }}
                onToggle={toggle}
                scrollRequest={scrollRequest}
                mesh={mesh}
              />
            )}
          </div>
          {selected >= 0 && (
            <SpanDetails model={m} row={selected} detail={detail} onJump={reveal} onClose={() => setSelected(-1)} />
          )}
        </div>
      )}
    </div>
  );
}

function StatsTable({ rows }: { rows: ReturnType<typeof traceStats> }) {
  return (
    <table class="stats" aria-label="Trace statistics">
      <thead>
        <tr>
          <th>Service</th><th>Operation</th><th class="num">Count</th><th class="num">Errors</th>
          <th class="num">Total</th><th class="num">Avg</th><th class="num">Min</th><th class="num">Max</th>
          <th class="num">Self total</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={`${r.service}\u0000${r.operation}`}>
            <td><span class="svc-dot" style={{ background: serviceColor(r.service) }} />{r.service}</td>
            <td>{r.operation}</td>
            <td class="num">{r.count}</td>
            <td class={r.errors ? 'num error-text' : 'num'}>{r.errors}</td>
            <td class="num">{formatDuration(r.totalUs)}</td>
            <td class="num">{formatDuration(r.totalUs / r.count)}</td>
            <td class="num">{formatDuration(r.minUs)}</td>
            <td class="num">{formatDuration(r.maxUs)}</td>
            <td class="num">{formatDuration(r.selfUs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

