/** Details of one span: everything rendered as text. */
import type { KV, Process, Span } from '../jaeger-types.js';
import { serviceColor } from '../colors.js';
import { formatDuration, formatTime, valueText } from '../format.js';
import { href, onLinkClick } from '../router.js';
import type { TraceModel } from '../trace-model.js';
import { meshOfSpan } from '../mesh.js';

/** The full span behind a row, once known (compact traces fetch it when the row is selected). */
export type Detail = { state: 'loading' } | { state: 'error'; message: string } | { state: 'done'; span: Span; process: Process | undefined };

function KVTable({ items, label }: { items: KV[]; label: string }) {
  if (!items.length) return <p class="muted">No {label.toLowerCase()}.</p>;
  return (
    <table class="kv" aria-label={label}>
      <tbody>
        {items.map((t, k) => (
          <tr key={k}>
            <th scope="row">{t.key}</th>
            <td class={`kv-${t.type}`}>{valueText(t.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function SpanDetails({ model: m, row, detail, onJump, onClose }: {
  model: TraceModel;
  row: number;
  /** The full span (fetched for compact traces); null/loading shows what the model has. */
  detail: Detail | null;
  onJump: (row: number) => void;
  onClose: () => void;
}) {
  const loaded = detail?.state === 'done' ? detail : undefined;
  const s = loaded?.span ?? m.spans[row];
  const svc = m.services[m.service[row]];
  const proc = loaded ? loaded.process : m.processes[s.processID];
  const kind = s.tags.find((t) => t.key === 'span.kind')?.value;
  const mesh = meshOfSpan(s);
  return (
    <aside class="details" aria-label="Span details">
      <div class="details-head">
        <h2>
          <span class="svc-dot" style={{ background: serviceColor(svc) }} />
          {s.operationName}
        </h2>
        <button class="close" onClick={onClose} aria-label="Close details">×</button>
      </div>
      <dl class="facts">
        <dt>Service</dt><dd>{svc}</dd>
        <dt>Kind</dt><dd>{kind === undefined ? '–' : valueText(kind)}</dd>
        <dt>Duration</dt><dd>{formatDuration(s.duration)}</dd>
        <dt>Start</dt><dd>+{formatDuration(m.start[row])} <small>({formatTime(s.startTime)})</small></dd>
        <dt>Span ID</dt><dd class="mono">{s.spanID}</dd>
        {m.error[row] ? (<><dt>Status</dt><dd class="error-text">error</dd></>) : null}
      </dl>
      {detail?.state === 'loading' && <p class="muted" role="status">Loading span details…</p>}
      {detail?.state === 'error' && <p class="error-text" role="alert">Could not load span details: {detail.message}</p>}
      {m.orphan[row] ? (
        <p class="warn-box">This span’s parent ({s.references[0]?.spanID}) never arrived: the trace is incomplete.</p>
      ) : null}
      {s.warnings?.length ? (
        <section>
          <h3>Warnings</h3>
          <ul class="warnings">{s.warnings.map((w, k) => <li key={k}>{w}</li>)}</ul>
        </section>
      ) : null}
      {mesh ? (
        <section class="mesh-section" aria-label="Service mesh">
          <h3>Service mesh</h3>
          <ul class="mesh-list">
            {mesh.attempt !== undefined ? (
              <li data-mesh-detail="attempt">
                <span class="wf-try">try {mesh.attempt}</span>{' '}
                {mesh.attempt > 1
                  ? `Retry ${mesh.attempt - 1} of the call above, sent after a ${mesh.backoffMs ?? 0} ms back-off.`
                  : 'First try of the call above, which the sidecar retried.'}
              </li>
            ) : null}
            {mesh.markers.map((k, n) => (
              <li key={n} data-mesh-detail={k.kind}>
                <span class={`wf-mesh-badge wf-mesh-${k.kind}`}>{k.label}</span>{' '}
                <span class="mesh-when">+{formatDuration(k.timeUs - m.startUs)}</span> {k.detail}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <section>
        <h3>Attributes <small>({s.tags.length})</small></h3>
        <KVTable items={s.tags} label="Attributes" />
      </section>
      <section>
        <h3>Events <small>({s.logs.length})</small></h3>
        {s.logs.length === 0 && <p class="muted">No events.</p>}
        {s.logs.map((l, k) => (
          <div class="event" key={k}>
            <div class="event-time">+{formatDuration(l.timestamp - m.startUs)} <small>(+{formatDuration(l.timestamp - s.startTime)} in span)</small></div>
            <KVTable items={l.fields} label="Event fields" />
          </div>
        ))}
      </section>
      <section>
        <h3>Resource <small>({proc?.serviceName ?? s.processID})</small></h3>
        <KVTable items={proc?.tags ?? []} label="Resource" />
      </section>
      <section>
        <h3>References <small>({s.references.length})</small></h3>
        {s.references.length === 0 && <p class="muted">None: a root span.</p>}
        <ul class="refs">
          {s.references.map((r, k) => {
            const local = r.traceID === s.traceID ? m.rowOf.get(r.spanID) : undefined;
            return (
              <li key={k}>
                <span class="badge">{r.refType === 'CHILD_OF' ? 'child of' : 'follows from / link'}</span>{' '}
                {local !== undefined ? (
                  <button class="linklike" onClick={() => onJump(local)}>
                    {m.spans[local].operationName} <span class="mono">{r.spanID}</span>
                  </button>
                ) : r.traceID !== s.traceID ? (
                  <a href={href(`trace/${r.traceID}?span=${r.spanID}`)} onClick={(e) => onLinkClick(e as MouseEvent, `trace/${r.traceID}?span=${r.spanID}`)}>
                    span <span class="mono">{r.spanID}</span> in trace <span class="mono">{r.traceID}</span>
                  </a>
                ) : (
                  <span class="mono">{r.spanID} (not in this trace)</span>
                )}
              </li>
            );
          })}
        </ul>
      </section>
    </aside>
  );
}
