/**
 * `/dependencies`: the service graph laid out by dagre (left to right, callers before callees).
 * Data: the meshtrace extension `api/ext/service-graph` (edges with error rate and p50/p95,
 * virtual nodes for uninstrumented databases and hosts); against a plain Jaeger API it falls
 * back to `/api/dependencies` (call counts only).
 */
import type * as Dagre from '@dagrejs/dagre';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError, type PropagationProblem, type ServiceGraph } from '../api.js';
import { serviceColor } from '../colors.js';
import { formatDuration } from '../format.js';
import { navigate } from '../router.js';
import { lookbackMs } from '../search-query.js';

const LOOKBACKS: [string, string][] = [
  ['15m', 'Last 15 minutes'], ['1h', 'Last hour'], ['6h', 'Last 6 hours'], ['24h', 'Last 24 hours'], ['2d', 'Last 2 days'], ['7d', 'Last 7 days'],
];

type Load = { state: 'loading' } | { state: 'error'; message: string } | { state: 'done'; graph: ServiceGraph; extended: boolean; dagre: typeof Dagre };

async function loadGraph(endMs: number, lbMs: number, signal: AbortSignal): Promise<{ graph: ServiceGraph; extended: boolean }> {
  try {
    return { graph: await api.serviceGraph(endMs, lbMs, signal), extended: true };
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  }
  const links = await api.dependencies(endMs, lbMs, signal);
  const ids = new Set<string>();
  for (const l of links) { ids.add(l.parent); ids.add(l.child); }
  return {
    extended: false,
    graph: {
      nodes: [...ids].map((id) => ({ id, kind: 'service' as const })),
      edges: links.map((l) => ({ ...l, errorCount: 0, p50Us: null, p95Us: null })),
      tracesScanned: 0,
    },
  };
}

interface Laid {
  width: number;
  height: number;
  nodes: { id: string; kind: string; x: number; y: number; w: number; h: number }[];
  edges: { key: string; parent: string; child: string; path: string; lx: number; ly: number; label: string[]; errorRate: number }[];
}

const NODE_H = 36;

/** Approximate width of an edge label at 11px: enough for the background box. */
function labelWidth(lines: string[]): number {
  return Math.max(...lines.map((l) => l.length)) * 6.2 + 8;
}

/** What sidecars did on an edge (sampled traces): retry and fault rates, ejections; '' when nothing. */
export function meshLabel(m: ServiceGraph['edges'][number]['mesh']): string {
  if (!m || !m.calls) return m?.ejections ? `⏏ ${m.ejections} ejected` : '';
  const pctOf = (n: number) => `${((n / m.calls) * 100).toFixed(n / m.calls < 0.1 ? 1 : 0)}%`;
  const parts: string[] = [];
  if (m.retried) parts.push(`↻ ${pctOf(m.retried)} retried`);
  if (m.faults) parts.push(`⚡ ${pctOf(m.faults)} fault`);
  if (m.ejections) parts.push(`⏏ ${m.ejections} ejected`);
  return parts.join(' · ');
}

function layout(dagre: typeof Dagre, g: ServiceGraph): Laid {
  const graph = new dagre.graphlib.Graph({ multigraph: false });
  graph.setGraph({ rankdir: 'LR', nodesep: 28, ranksep: 150, edgesep: 16, marginx: 20, marginy: 20 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const n of g.nodes) graph.setNode(n.id, { width: Math.max(90, n.id.length * 7.5 + 34), height: NODE_H });
  const labels = new Map<string, string[]>();
  for (const e of g.edges) {
    const rate = e.callCount ? e.errorCount / e.callCount : 0;
    const label = [`${e.callCount} call${e.callCount === 1 ? '' : 's'}${rate ? ` · ${(rate * 100).toFixed(rate < 0.1 ? 1 : 0)}% err` : ''}`];
    if (e.p50Us !== null) label.push(`p50 ${formatDuration(e.p50Us)} · p95 ${formatDuration(e.p95Us ?? e.p50Us)}`);
    const mesh = meshLabel(e.mesh);
    if (mesh) label.push(mesh);
    labels.set(`${e.parent}\u0000${e.child}`, label);
    graph.setEdge(e.parent, e.child, { width: Math.max(150, labelWidth(label)), height: label.length * 14, labelpos: 'c' });
  }
  dagre.layout(graph);
  const info = graph.graph();
  const kinds = new Map(g.nodes.map((n) => [n.id, n.kind]));
  return {
    width: info.width ?? 0,
    height: info.height ?? 0,
    nodes: graph.nodes().map((id) => {
      const n = graph.node(id);
      return { id, kind: kinds.get(id) ?? 'service', x: n.x, y: n.y, w: n.width, h: n.height };
    }),
    edges: g.edges.map((e) => {
      const ge = graph.edge(e.parent, e.child) as Dagre.GraphEdge & { x: number; y: number };
      const pts = ge.points;
      const path = pts.map((p, k) => `${k ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
      return {
        key: `${e.parent}\u0000${e.child}`, parent: e.parent, child: e.child, path,
        lx: ge.x, ly: ge.y, label: labels.get(`${e.parent}\u0000${e.child}`) ?? [],
        errorRate: e.callCount ? e.errorCount / e.callCount : 0,
      };
    }),
  };
}

export function DependenciesPage({ query }: { query: string }) {
  const params = new URLSearchParams(query);
  const lookback = params.get('lookback') ?? '24h';
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [find, setFind] = useState('');
  // Fit the whole graph into the window by default; "actual size" scrolls a big graph instead.
  const [fit, setFit] = useState(true);
  const box = useRef<HTMLDivElement>(null);
  const [broken, setBroken] = useState<PropagationProblem[]>([]);

  useEffect(() => {
    const ac = new AbortController();
    setLoad({ state: 'loading' });
    // dagre is loaded with the page that needs it, in parallel with the data, to keep other pages' bundle small.
    Promise.all([loadGraph(Date.now(), lookbackMs(lookback) || 86_400_000, ac.signal), import('@dagrejs/dagre')]).then(
      ([r, dagre]) => setLoad({ state: 'done', ...r, dagre }),
      (e: Error) => { if (e.name !== 'AbortError') setLoad({ state: 'error', message: e.message }); },
    );
    // Optional: a server without the extension (plain Jaeger) simply shows no doctor findings.
    api.propagation(Date.now(), lookbackMs(lookback) || 86_400_000, ac.signal).then(setBroken, () => setBroken([]));
    return () => ac.abort();
  }, [lookback]);

  const laid = useMemo(() => (load.state === 'done' ? layout(load.dagre, load.graph) : null), [load]);
  const needle = find.trim().toLowerCase();
  const focus = laid && needle ? laid.nodes.find((n) => n.id.toLowerCase().includes(needle)) : undefined;

  // Scroll the found service into the middle of the view.
  useEffect(() => {
    const el = box.current;
    if (!el || !focus || !laid || fit) return;
    el.scrollTo({ left: focus.x - el.clientWidth / 2, top: focus.y - el.clientHeight / 2, behavior: 'smooth' });
  }, [focus?.id]);

  const neighbours = new Set<string>();
  if (focus && laid) {
    for (const e of laid.edges) {
      if (e.parent === focus.id) neighbours.add(e.child);
      if (e.child === focus.id) neighbours.add(e.parent);
    }
  }
  const dim = (id: string) => !!focus && id !== focus.id && !neighbours.has(id);

  return (
    <div class="graph-page">
      <div class="toolbar">
        <label class="inline">
          Lookback
          <select value={lookback} onChange={(e) => navigate(`dependencies?lookback=${e.currentTarget.value}`, true)}>
            {LOOKBACKS.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
          </select>
        </label>
        <input type="search" placeholder="Find a service…" aria-label="Find a service" value={find} onInput={(e) => setFind(e.currentTarget.value)} />
        {needle && !focus && <span class="muted">No service matches “{find}”.</span>}
        <label class="inline"><input type="checkbox" checked={fit} onChange={(e) => setFit(e.currentTarget.checked)} /> fit to window</label>
        <span class="spacer" />
        {load.state === 'done' && (
          <small class="muted">
            {load.graph.nodes.length} nodes, {load.graph.edges.length} edges
            {load.extended ? ` · latency from ${load.graph.tracesScanned} traces · click a service to search its traces` : ' · call counts only (server has no meshtrace extensions)'}
          </small>
        )}
      </div>
      {broken.length > 0 && (
        <div class="warn-box propagation-doctor" role="status">
          <strong>Broken traces: these services drop the trace context</strong> — their sidecars saw outbound calls that did not carry
          the context of the request being served, so the calls start new traces and the graph misses those edges.
          <ul>
            {broken.map((p) => (
              <li key={p.service} data-service={p.service}>
                <strong>{p.service}</strong>: {p.brokenCalls} call{p.brokenCalls === 1 ? '' : 's'} in {p.traces} trace{p.traces === 1 ? '' : 's'}
                {p.reasons.length > 0 && <> ({p.reasons.join('; ')})</>}
                {p.exampleTraceIDs[0] && <> · <a href={`trace/${p.exampleTraceIDs[0]}`} onClick={(e) => { e.preventDefault(); navigate(`trace/${p.exampleTraceIDs[0]}`); }}>example</a></>}
                {p.fix && <div class="fix">Fix: {p.fix}</div>}
              </li>
            ))}
          </ul>
        </div>
      )}
      {load.state === 'loading' && <div class="state">Loading service graph…</div>}
      {load.state === 'error' && <div class="state error" role="alert">Could not load the service graph: {load.message}</div>}
      {laid && laid.nodes.length === 0 && <div class="state">No calls between services in this time range yet.</div>}
      {laid && laid.nodes.length > 0 && (
        <div class="graph-box" ref={box}>
          <svg
            class="graph"
            width={fit ? '100%' : laid.width}
            height={fit ? '100%' : laid.height}
            viewBox={`0 0 ${laid.width} ${laid.height}`}
            preserveAspectRatio="xMidYMid meet"
            role="img"
            aria-label="Service graph"
          >
            <defs>
              <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                <path d="M0,0 L10,5 L0,10 z" class="arrow" />
              </marker>
            </defs>
            {laid.edges.map((e) => (
              <g key={e.key} class={`edge${e.errorRate > 0 ? ' has-errors' : ''}${dim(e.parent) || dim(e.child) ? ' dim' : ''}`} data-parent={e.parent} data-child={e.child}>
                <path d={e.path} marker-end="url(#arrow)" />
              </g>
            ))}
            {/* Labels after every edge line, so no line crosses a label. */}
            {laid.edges.map((e) => (
              <g key={e.key} class={`edge-labels${dim(e.parent) || dim(e.child) ? ' dim' : ''}`} data-parent={e.parent} data-child={e.child}>
                {/* dagre centres the label on the edge: an opaque box keeps the line out of the text. */}
                <rect
                  class="edge-label-bg"
                  x={e.lx - labelWidth(e.label) / 2}
                  y={e.ly - (e.label.length * 14) / 2 - 1}
                  width={labelWidth(e.label)}
                  height={e.label.length * 14 + 2}
                  rx={3}
                />
                {e.label.map((l, k) => (
                  <text key={k} x={e.lx} y={e.ly + (k - (e.label.length - 1) / 2) * 14 + 4} text-anchor="middle" class="edge-label">{l}</text>
                ))}
              </g>
            ))}
            {laid.nodes.map((n) => (
              <g
                key={n.id}
                class={`node kind-${n.kind}${focus?.id === n.id ? ' focus' : ''}${dim(n.id) ? ' dim' : ''}`}
                data-node={n.id}
                transform={`translate(${n.x - n.w / 2},${n.y - n.h / 2})`}
                onClick={() => n.kind === 'service' && navigate(`search?service=${encodeURIComponent(n.id)}&lookback=1h&limit=20`)}
              >
                <title>{n.kind === 'service' ? `${n.id}: click to search its traces` : `${n.id} (${n.kind}, not instrumented)`}</title>
                <rect width={n.w} height={n.h} rx={n.kind === 'database' ? 14 : 6} style={{ stroke: n.kind === 'service' ? serviceColor(n.id) : undefined }} />
                <text x={n.w / 2} y={n.h / 2 + 4} text-anchor="middle">{n.id}</text>
              </g>
            ))}
          </svg>
        </div>
      )}
    </div>
  );
}
