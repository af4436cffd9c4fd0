/**
 * `/mesh`: the live mesh (Kiali's graph for meshtrace's control plane). Services with their
 * versions and instances from the registry, edges with request rate, error rate and p95 from the
 * traces (`api/ext/service-graph`), the configured split per route in percent next to the split
 * the traces show, retries and faults where they apply, mTLS edges, and sidecars that have not
 * applied the current config. Data: `api/ext/mesh/{topology,status}` (404 when the server runs no
 * control plane) and the trace APIs; refreshed every 5 s.
 */
import type * as Dagre from '@dagrejs/dagre';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, type MeshTopology, type ServiceGraph } from '../api.js';
import { serviceColor } from '../colors.js';
import { formatDuration } from '../format.js';
import { meshView, observedSplit, splitLabel, type MeshView } from '../mesh-topology.js';
import { navigate } from '../router.js';
import { lookbackMs } from '../search-query.js';

const LOOKBACKS: [string, string][] = [['5m', 'Last 5 minutes'], ['15m', 'Last 15 minutes'], ['1h', 'Last hour']];
const REFRESH_MS = 5_000;

type Load =
  | { state: 'loading' }
  | { state: 'off'; message: string }
  | { state: 'error'; message: string }
  | { state: 'done'; view: MeshView; split: Record<string, Record<string, number>>; controlPlaneUrl: string; dagre: typeof Dagre };

/** Per service with several versions: the share of recent traces each version served. */
async function observed(topo: MeshTopology, lb: string, signal: AbortSignal): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  await Promise.all(topo.services.filter((s) => s.versions.length > 1).map(async (s) => {
    const r = await api.search(`service=${encodeURIComponent(s.name)}&limit=200&lookback=${lb}`, signal);
    out[s.name] = observedSplit((r.data ?? []).map((t) => Object.values(t.processes)
      .filter((p) => p.serviceName === s.name)
      .map((p) => String(p.tags?.find((tag) => tag.key === 'service.version')?.value ?? 'unknown'))));
  }));
  return out;
}

async function loadMesh(lb: string, signal: AbortSignal) {
  const windowMs = lookbackMs(lb) || 900_000;
  const [topo, status, dagre] = await Promise.all([api.meshTopology(signal), api.meshStatus(signal), import('@dagrejs/dagre')]);
  const graph: ServiceGraph | undefined = await api.serviceGraph(Date.now(), windowMs, signal).catch(() => undefined);
  const split = await observed(topo, lb, signal).catch(() => ({}));
  return { view: meshView(topo, graph, windowMs), split, controlPlaneUrl: status.controlPlaneUrl, dagre };
}

interface Laid { width: number; height: number; nodes: { id: string; x: number; y: number; w: number; h: number; lines: string[] }[]; edges: { key: string; from: string; to: string; path: string; lx: number; ly: number; label: string[]; mtls: boolean; errors: boolean }[] }

function layout(dagre: typeof Dagre, v: MeshView): Laid {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 30, ranksep: 220, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  const names = new Set([...v.services.map((s) => s.name), ...v.edges.flatMap((e) => [e.from, e.to])]);
  const lines = new Map<string, string[]>();
  for (const n of names) {
    const s = v.services.find((x) => x.name === n);
    const l = [n, s ? s.versions.map((x) => `${x.version} ×${x.instances.length}`).join(' · ') : 'not registered'];
    lines.set(n, l);
    g.setNode(n, { width: Math.max(110, Math.max(...l.map((t) => t.length)) * 7.2 + 24), height: 44 });
  }
  const labels = new Map<string, string[]>();
  for (const e of v.edges) {
    const l = [`${e.ratePerS.toFixed(e.ratePerS < 10 ? 2 : 1)} req/s · ${e.errorPercent.toFixed(1)}% err${e.p95Us !== null ? ` · p95 ${formatDuration(e.p95Us)}` : ''}${e.mtls ? ' · mTLS' : ''}`];
    for (const r of e.routes) {
      const extra = [r.retries !== undefined ? `retries ${r.retries}` : '', r.fault?.abortPercent !== undefined ? `abort ${r.fault.abortPercent}%` : '', r.fault?.delayPercent !== undefined ? `delay ${r.fault.delayPercent}%` : ''].filter(Boolean).join(', ');
      l.push(`${r.name ?? r.host}${r.match ? ' (match)' : ''}: ${splitLabel(r)}${extra ? ` · ${extra}` : ''}`);
    }
    labels.set(`${e.from}\u0000${e.to}`, l);
    g.setEdge(e.from, e.to, { width: Math.max(...l.map((t) => t.length)) * 6.2 + 8, height: l.length * 14, labelpos: 'c' });
  }
  dagre.layout(g);
  const info = g.graph();
  return {
    width: info.width ?? 0, height: info.height ?? 0,
    nodes: g.nodes().map((id) => { const n = g.node(id); return { id, x: n.x, y: n.y, w: n.width, h: n.height, lines: lines.get(id) ?? [id] }; }),
    edges: v.edges.map((e) => {
      const ge = g.edge(e.from, e.to) as Dagre.GraphEdge & { x: number; y: number };
      const key = `${e.from}\u0000${e.to}`;
      return { key, from: e.from, to: e.to, path: ge.points.map((p, k) => `${k ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' '), lx: ge.x, ly: ge.y, label: labels.get(key) ?? [], mtls: e.mtls, errors: e.errorPercent > 0 };
    }),
  };
}

export function MeshPage({ query }: { query: string }) {
  const lookback = new URLSearchParams(query).get('lookback') ?? '5m';
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), REFRESH_MS);
    return () => clearInterval(t);
  }, []);
  useEffect(() => {
    const ac = new AbortController();
    loadMesh(lookback, ac.signal).then(
      (r) => setLoad({ state: 'done', ...r }),
      (e: Error) => {
        if (e.name === 'AbortError') return;
        if (e instanceof ApiError && e.status === 404) setLoad({ state: 'off', message: e.message });
        else setLoad({ state: 'error', message: e.message });
      },
    );
    return () => ac.abort();
  }, [lookback, tick]);

  const laid = useMemo(() => (load.state === 'done' ? layout(load.dagre, load.view) : null), [load]);

  return (
    <div class="graph-page mesh-page">
      <div class="toolbar">
        <label class="inline">
          Traffic over
          <select value={lookback} onChange={(e) => navigate(`mesh?lookback=${e.currentTarget.value}`, true)}>
            {LOOKBACKS.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
          </select>
        </label>
        <span class="spacer" />
        {load.state === 'done' && (
          <small class="muted mesh-summary">
            mesh config version <strong data-config-version={load.view.configVersion}>{load.view.configVersion}</strong> ·{' '}
            {load.view.services.reduce((n, s) => n + s.versions.reduce((m, v) => m + v.instances.length, 0), 0)} sidecars · control plane {load.controlPlaneUrl}
          </small>
        )}
      </div>
      {load.state === 'loading' && <div class="state">Loading the mesh…</div>}
      {load.state === 'off' && <div class="state">This server runs no mesh control plane ({load.message}). Start it with --control-plane-port, and sidecars with --control-plane.</div>}
      {load.state === 'error' && <div class="state error" role="alert">Could not load the mesh: {load.message}</div>}
      {load.state === 'done' && load.view.outOfSync.length > 0 && (
        <div class="warn-box out-of-sync" role="status">
          <strong>Out of sync with mesh config version {load.view.configVersion}:</strong>
          <ul>
            {load.view.outOfSync.map((s) => (
              <li key={s.instance} data-instance={s.instance}>
                {s.service} {s.version} <code>{s.instance}</code> runs version {s.configVersion}
                {s.configError && <> and rejected the current one: {s.configError.join('; ')}</>}
              </li>
            ))}
          </ul>
        </div>
      )}
      {load.state === 'done' && (
        <>
          {laid && laid.nodes.length > 0 && (
            <div class="graph-box mesh-graph">
              <svg class="graph" width="100%" height={Math.min(520, laid.height)} viewBox={`0 0 ${laid.width} ${laid.height}`} preserveAspectRatio="xMidYMid meet" role="img" aria-label="Mesh topology">
                <defs>
                  <marker id="mesh-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                    <path d="M0,0 L10,5 L0,10 z" class="arrow" />
                  </marker>
                </defs>
                {laid.edges.map((e) => (
                  <g key={e.key} class={`edge${e.errors ? ' has-errors' : ''}${e.mtls ? ' mtls' : ''}`} data-parent={e.from} data-child={e.to}>
                    <path d={e.path} marker-end="url(#mesh-arrow)" />
                  </g>
                ))}
                {laid.edges.map((e) => (
                  <g key={e.key} class="edge-labels" data-parent={e.from} data-child={e.to}>
                    {e.label.map((l, k) => (
                      <text key={k} x={e.lx} y={e.ly + (k - (e.label.length - 1) / 2) * 14 + 4} text-anchor="middle" class="edge-label">{l}</text>
                    ))}
                  </g>
                ))}
                {laid.nodes.map((n) => (
                  <g key={n.id} class="node kind-service" data-node={n.id} transform={`translate(${n.x - n.w / 2},${n.y - n.h / 2})`}>
                    <rect width={n.w} height={n.h} rx={6} style={{ stroke: serviceColor(n.id) }} />
                    <text x={n.w / 2} y={17} text-anchor="middle">{n.lines[0]}</text>
                    <text x={n.w / 2} y={33} text-anchor="middle" class="edge-label">{n.lines[1]}</text>
                  </g>
                ))}
              </svg>
            </div>
          )}
          <h3 class="mesh-h">Services</h3>
          <table class="stats mesh-services">
            <thead><tr><th>service</th><th>version</th><th>instances</th><th>traffic share (traces)</th><th>mTLS</th><th>config</th></tr></thead>
            <tbody>
              {load.view.services.flatMap((s) => s.versions.map((v) => (
                <tr key={`${s.name} ${v.version}`} data-service={s.name} data-version={v.version}>
                  <td>{s.name}</td>
                  <td>{v.version}</td>
                  <td>{v.instances.map((i) => <div key={i.instance}><code>{i.instance}</code> {i.address}{i.ready ? '' : ' (app not ready: no traffic)'}</div>)}</td>
                  <td class="share">{load.split[s.name]?.[v.version] !== undefined ? `${load.split[s.name][v.version]}%` : s.versions.length > 1 ? '0%' : '100%'}</td>
                  <td>{[...new Set(v.instances.map((i) => i.mtls))].join(', ')}</td>
                  <td>{v.instances.every((i) => i.synced) ? `v${load.view.configVersion} synced` : <span class="error">out of sync</span>}</td>
                </tr>
              )))}
            </tbody>
          </table>
          <h3 class="mesh-h">Routes</h3>
          {load.view.edges.every((e) => !e.routes.length) ? <div class="state">No routes: every call goes round-robin to all instances of the service it names.</div> : (
            <table class="stats mesh-routes">
              <thead><tr><th>from</th><th>host</th><th>route</th><th>split</th><th>retries</th><th>fault</th><th>timeout</th></tr></thead>
              <tbody>
                {load.view.edges.flatMap((e) => e.routes.map((r, k) => (
                  <tr key={`${e.from} ${e.to} ${k}`} data-route={r.name ?? r.host}>
                    <td>{e.from}</td><td>{r.host}</td><td>{r.name ?? '—'}{r.match ? ' (match)' : ''}</td>
                    <td class="split">{splitLabel(r)}</td>
                    <td>{r.retries ?? '—'}</td>
                    <td>{r.fault ? [r.fault.delayPercent !== undefined ? `delay ${r.fault.delayPercent}%` : '', r.fault.abortPercent !== undefined ? `abort ${r.fault.abortPercent}% (${r.fault.abortStatus})` : ''].filter(Boolean).join(', ') : '—'}</td>
                    <td>{r.timeoutMs !== undefined ? `${r.timeoutMs} ms` : '—'}</td>
                  </tr>
                )))}
              </tbody>
            </table>
          )}
        </>
      )}
    </div>
  );
}
