/**
 * `/search`: a TraceQL query field above the Jaeger-style form (either runs the search; its state
 * lives in the URL, `q=` for TraceQL), a scatter plot and the result list. TraceQL results list
 * the spans the query matched and open the trace with them highlighted (`?matched=`).
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { serviceColor } from '../colors.js';
import { formatDuration, formatTime, relativeAge } from '../format.js';
import { href, navigate, onLinkClick } from '../router.js';
import {
  LOOKBACKS, MESH_FILTERS, meshFilterOf, searchFromURL, searchToApi, searchToURL, traceqlToApi, validateSearch, withMeshFilter, type SearchState,
} from '../search-query.js';
import type { Trace } from '../jaeger-types.js';
import { TraceQLField } from '../components/TraceQLField.js';
import { sortSummaries, summarizeTrace, type SortKey, type TraceSummary } from '../trace-summary.js';
import { Scatter } from '../components/Scatter.js';

type Results =
  | { state: 'idle' }
  | { state: 'loading' }
  | { state: 'error'; message: string }
  | { state: 'done'; traces: TraceSummary[]; warnings: string[]; matched: Map<string, MatchedSpan[]> };

/** A span a TraceQL query matched, as listed under its trace. */
interface MatchedSpan { spanID: string; service: string; operation: string }

/** traceID → the spans the query matched (TraceQL results only). */
function matchedSpans(traces: Trace[]): Map<string, MatchedSpan[]> {
  const out = new Map<string, MatchedSpan[]>();
  for (const t of traces) {
    if (!t.matchedSpanIDs) continue;
    const ids = new Set(t.matchedSpanIDs);
    out.set(t.traceID, t.spans.filter((s) => ids.has(s.spanID)).map((s) => ({
      spanID: s.spanID, service: t.processes[s.processID]?.serviceName ?? '', operation: s.operationName,
    })));
  }
  return out;
}

/** Most matched span ids carried in a trace link (the URL must stay short). */
const MAX_MATCHED_IN_URL = 100;
const traceLink = (id: string, matched: MatchedSpan[] | undefined) =>
  matched?.length ? `trace/${id}?matched=${matched.slice(0, MAX_MATCHED_IN_URL).map((m) => m.spanID).join(',')}` : `trace/${id}`;

function toLocalInput(us: number): string {
  if (!us) return '';
  const d = new Date(us / 1000 - new Date().getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export function SearchPage({ query }: { query: string }) {
  const fromUrl = useMemo(() => searchFromURL(query), [query]);
  const [form, setForm] = useState<SearchState>(fromUrl);
  const [services, setServices] = useState<string[] | null>(null);
  const [servicesError, setServicesError] = useState('');
  const [operations, setOperations] = useState<string[]>([]);
  const [formError, setFormError] = useState('');
  const [results, setResults] = useState<Results>({ state: 'idle' });
  const [sort, setSort] = useState<SortKey>('recent');
  const [picked, setPicked] = useState<string[]>([]);

  useEffect(() => setForm(fromUrl), [fromUrl]);

  // Services; while there are none yet, look again every 5 s so first traces show up by themselves.
  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () =>
      api.services(ac.signal).then(
        (list) => {
          setServices(list);
          setServicesError('');
          if (list.length === 0) timer = setTimeout(load, 5000);
        },
        (e: Error) => {
          if (e.name !== 'AbortError') { setServices([]); setServicesError(e.message); }
        },
      );
    void load();
    return () => { ac.abort(); clearTimeout(timer); };
  }, []);

  useEffect(() => {
    if (!form.service) { setOperations([]); return; }
    const ac = new AbortController();
    api.operations(form.service, ac.signal).then((ops) => setOperations([...ops].sort()), () => setOperations([]));
    return () => ac.abort();
  }, [form.service]);

  // Run the search whenever the URL carries one (on load, submit, back/forward).
  useEffect(() => {
    const traceql = fromUrl.q.trim() !== '';
    if (!fromUrl.service && !traceql) { setResults({ state: 'idle' }); return; }
    const err = traceql ? (fromUrl.limit > 0 ? '' : 'Limit: must be a positive number') : validateSearch(fromUrl);
    if (err) { setResults({ state: 'error', message: err }); return; }
    const ac = new AbortController();
    setResults({ state: 'loading' });
    const request = traceql ? api.traceql(traceqlToApi(fromUrl, Date.now()), ac.signal) : api.search(searchToApi(fromUrl, Date.now()), ac.signal);
    request.then(
      (env) => setResults({
        state: 'done',
        traces: (env.data ?? []).map(summarizeTrace),
        warnings: (env.errors ?? []).map((e) => e.msg),
        matched: matchedSpans(env.data ?? []),
      }),
      (e: Error) => { if (e.name !== 'AbortError') setResults({ state: 'error', message: e.message }); },
    );
    setPicked([]);
    return () => ac.abort();
  }, [fromUrl]);

  const set = <K extends keyof SearchState>(k: K, v: SearchState[K]) => setForm((f) => ({ ...f, [k]: v }));

  const submit = (e: Event) => {
    e.preventDefault();
    const err = validateSearch(form) || (form.service ? '' : 'Service: choose a service');
    setFormError(err);
    if (!err) navigate(`search?${searchToURL({ ...form, q: '' })}`);
  };
  // The TraceQL query runs with the form's lookback and limit; syntax errors come from the server with line:column.
  const runTraceQL = () => {
    if (!form.q.trim()) { setFormError('TraceQL: type a query such as { status = error }'); return; }
    setFormError('');
    navigate(`search?${searchToURL(form)}`);
  };

  const sorted = results.state === 'done' ? sortSummaries(results.traces, sort) : [];
  const maxDuration = sorted.reduce((m, t) => Math.max(m, t.durationUs), 0);
  const togglePick = (id: string) =>
    setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id].slice(-2)));

  return (
    <div class="search-page">
      <form class="traceql-form" aria-label="TraceQL search" onSubmit={(e) => { e.preventDefault(); runTraceQL(); }}>
        <label class="wide">
          TraceQL <small>{'{ span.http.status_code >= 500 } >> { .db.system = "redis" } | count() > 1'} (docs/search.md)</small>
          <TraceQLField value={form.q} onInput={(v) => set('q', v)} onSubmit={runTraceQL} />
        </label>
        <button type="submit" class="primary">Run query</button>
      </form>
      <form class="search-form" onSubmit={submit} aria-label="Search traces">
        <label>
          Service
          <select name="service" value={form.service} onChange={(e) => setForm((f) => ({ ...f, service: e.currentTarget.value, operation: '' }))}>
            <option value="">{services === null ? 'Loading…' : services.length ? 'Choose a service' : 'No services yet'}</option>
            {(services ?? []).map((s) => <option key={s} value={s}>{s}</option>)}
            {form.service && services && !services.includes(form.service) && <option value={form.service}>{form.service}</option>}
          </select>
        </label>
        <label>
          Operation
          <select name="operation" value={form.operation} onChange={(e) => set('operation', e.currentTarget.value)}>
            <option value="">All</option>
            {operations.map((o) => <option key={o} value={o}>{o}</option>)}
            {form.operation && !operations.includes(form.operation) && <option value={form.operation}>{form.operation}</option>}
          </select>
        </label>
        <label class="wide">
          Tags <small>logfmt: http.status_code=500 error=true</small>
          <input name="tags" value={form.tags} onInput={(e) => set('tags', e.currentTarget.value)} placeholder='key=value key2="a value"' spellcheck={false} />
        </label>
        <label>
          Mesh acted
          <select name="mesh" value={meshFilterOf(form.tags)} onChange={(e) => set('tags', withMeshFilter(form.tags, e.currentTarget.value))}>
            <option value="">Any call</option>
            {MESH_FILTERS.map(([tag, label]) => <option key={tag} value={tag}>{label}</option>)}
          </select>
        </label>
        <label>
          Lookback
          <select name="lookback" value={form.lookback} onChange={(e) => set('lookback', e.currentTarget.value)}>
            {LOOKBACKS.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
          </select>
        </label>
        {form.lookback === 'custom' && (
          <>
            <label>
              From
              <input type="datetime-local" name="start" value={toLocalInput(form.startUs)} onInput={(e) => set('startUs', (new Date(e.currentTarget.value).getTime() || 0) * 1000)} />
            </label>
            <label>
              To
              <input type="datetime-local" name="end" value={toLocalInput(form.endUs)} onInput={(e) => set('endUs', (new Date(e.currentTarget.value).getTime() || 0) * 1000)} />
            </label>
          </>
        )}
        <label>
          Min duration
          <input name="minDuration" value={form.minDuration} onInput={(e) => set('minDuration', e.currentTarget.value.trim())} placeholder="e.g. 1.2s, 100ms" />
        </label>
        <label>
          Max duration
          <input name="maxDuration" value={form.maxDuration} onInput={(e) => set('maxDuration', e.currentTarget.value.trim())} placeholder="e.g. 1.2s, 100ms" />
        </label>
        <label>
          Limit
          <input name="limit" type="number" min={1} max={1500} value={form.limit} onInput={(e) => set('limit', Number(e.currentTarget.value))} />
        </label>
        <button type="submit" class="primary">Find traces</button>
        {formError && <p class="form-error" role="alert">{formError}</p>}
        {servicesError && <p class="form-error" role="alert">{servicesError}</p>}
      </form>

      <section class="results" aria-live="polite">
        {results.state === 'idle' && services?.length === 0 && !servicesError && (
          <div class="state">
            No traces have arrived yet. Point an OpenTelemetry SDK’s OTLP exporter at this server’s collector
            (OTLP/HTTP, port 4318 by default: <span class="mono">OTEL_EXPORTER_OTLP_ENDPOINT=http://&lt;host&gt;:4318</span>),
            Services appear here by themselves.
          </div>
        )}
        {results.state === 'idle' && (services === null || services.length > 0) && <div class="state">Type a TraceQL query, or choose a service and press “Find traces”.</div>}
        {results.state === 'loading' && <div class="state">Searching…</div>}
        {results.state === 'error' && <div class="state error" role="alert">{results.message}</div>}
        {results.state === 'done' && (
          <>
            <Scatter traces={sorted} onOpen={(id) => navigate(`trace/${id}`)} />
            <div class="results-bar">
              <strong>{sorted.length} trace{sorted.length === 1 ? '' : 's'}</strong>
              {results.warnings.map((w) => <span class="warn">{w}</span>)}
              <span class="spacer" />
              {picked.length === 2 && (
                <a class="button" href={href(`compare/${picked[0]}...${picked[1]}`)} onClick={(e) => onLinkClick(e as MouseEvent, `compare/${picked[0]}...${picked[1]}`)}>
                  Compare 2 traces
                </a>
              )}
              {picked.length < 2 && <small>Tick two traces to compare them</small>}
              <label class="inline">
                Sort
                <select value={sort} onChange={(e) => setSort(e.currentTarget.value as SortKey)} aria-label="Sort results">
                  <option value="recent">Most recent</option>
                  <option value="longest">Longest first</option>
                  <option value="shortest">Shortest first</option>
                  <option value="spans">Most spans</option>
                </select>
              </label>
            </div>
            {sorted.length === 0 && <div class="state">No traces found. Widen the lookback or remove filters.</div>}
            <ol class="result-list">
              {sorted.map((t) => (
                <li key={t.traceID} class="result" data-trace-id={t.traceID}>
                  <div class="result-head">
                    <input type="checkbox" aria-label={`Select ${t.traceID} for comparison`} checked={picked.includes(t.traceID)} onChange={() => togglePick(t.traceID)} />
                    <a class="result-title" href={href(traceLink(t.traceID, results.matched.get(t.traceID)))} onClick={(e) => onLinkClick(e as MouseEvent, traceLink(t.traceID, results.matched.get(t.traceID)))}>
                      <span class="svc-dot" style={{ background: serviceColor(t.rootService) }} />
                      {t.rootService}: {t.rootOperation}
                      <span class="trace-id">{t.traceID.slice(0, 7)}</span>
                    </a>
                    <span class="spacer" />
                    <span class="duration">{formatDuration(t.durationUs)}</span>
                  </div>
                  <div class="result-bar" style={{ width: `${maxDuration ? Math.max(0.5, (100 * t.durationUs) / maxDuration) : 0}%` }} />
                  <div class="result-body">
                    <span>{t.spanCount} span{t.spanCount === 1 ? '' : 's'}</span>
                    {t.errorCount > 0 && <span class="badge error">{t.errorCount} error{t.errorCount === 1 ? '' : 's'}</span>}
                    {!t.hasRoot && <span class="badge warn" title="No span of this trace is a root: the root span never arrived">missing root</span>}
                    <span class="services">
                      {t.services.map(([s, n]) => (
                        <span class="svc-tag" key={s} style={{ borderColor: serviceColor(s) }}>{s} ({n})</span>
                      ))}
                    </span>
                    <span class="spacer" />
                    <span class="time" title={formatTime(t.startUs)}>{formatTime(t.startUs).slice(0, 19)} · {relativeAge(t.startUs)}</span>
                  </div>
                  {results.matched.get(t.traceID)?.length ? (
                    <div class="matched-spans" aria-label="Matched spans">
                      <span>{results.matched.get(t.traceID)!.length} matched:</span>
                      {results.matched.get(t.traceID)!.slice(0, 5).map((m) => (
                        <span class="match-chip" key={m.spanID} data-span-id={m.spanID} style={{ borderColor: serviceColor(m.service) }}>{m.service}: {m.operation}</span>
                      ))}
                      {results.matched.get(t.traceID)!.length > 5 && <span>…</span>}
                    </div>
                  ) : null}
                </li>
              ))}
            </ol>
          </>
        )}
      </section>
    </div>
  );
}
