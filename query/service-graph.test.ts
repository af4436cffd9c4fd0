import { describe, expect, it } from 'vitest';
import { SpanKind, StatusCode, type Attribute, type Span, type Trace } from '../model/span.js';
import { buildServiceGraph, virtualPeer } from './service-graph.js';

let next = 1;
function span(o: { service: string; parent?: Span; kind: Span['kind']; durationUs?: number; error?: boolean; attrs?: Record<string, string> }): Span {
  const attributes: Attribute[] = Object.entries(o.attrs ?? {}).map(([key, value]) => ({ key, type: 'string', value }));
  return {
    traceId: 'a'.repeat(32), spanId: (next++).toString(16).padStart(16, '0'), parentSpanId: o.parent?.spanId ?? '',
    traceState: '', flags: 1, name: 'op', kind: o.kind, startTimeUs: 1_000_000, durationUs: o.durationUs ?? 100,
    attributes, events: [], links: [],
    status: { code: o.error ? StatusCode.ERROR : StatusCode.UNSET, message: '' },
    resource: { serviceName: o.service, attributes: [] }, scope: { name: '', version: '' },
  };
}

function checkout(clientUs: number, error = false): Trace {
  const root = span({ service: 'frontend', kind: SpanKind.SERVER });
  const call = span({ service: 'frontend', parent: root, kind: SpanKind.CLIENT, durationUs: clientUs });
  const srv = span({ service: 'payments', parent: call, kind: SpanKind.SERVER, durationUs: clientUs - 10, error });
  const db = span({ service: 'payments', parent: srv, kind: SpanKind.CLIENT, durationUs: 7, attrs: { 'db.system': 'postgresql', 'db.name': 'pay' } });
  const ext = span({ service: 'payments', parent: srv, kind: SpanKind.CLIENT, durationUs: 9, attrs: { 'server.address': 'api.stripe.example' } });
  return { traceId: root.traceId, spans: [root, call, srv, db, ext] };
}

describe('buildServiceGraph', () => {
  it('adds latency percentiles, keeps store counts and finds uninstrumented peers', () => {
    const traces = [checkout(100), checkout(200), checkout(300, true), checkout(400)];
    const g = buildServiceGraph([{ parent: 'frontend', child: 'payments', callCount: 40, errorCount: 3 }], traces);
    expect(g.tracesScanned).toBe(4);
    expect(g.nodes).toEqual([
      { id: 'frontend', kind: 'service' },
      { id: 'payments', kind: 'service' },
      { id: 'postgresql/pay', kind: 'database' },
      { id: 'api.stripe.example', kind: 'external' },
    ]);
    const fp = g.edges.find((e) => e.parent === 'frontend')!;
    // Counts from the dependency store; latency from the caller's CLIENT spans.
    expect(fp).toEqual({ parent: 'frontend', child: 'payments', callCount: 40, errorCount: 3, p50Us: 200, p95Us: 400 });
    const db = g.edges.find((e) => e.child === 'postgresql/pay')!;
    expect(db).toMatchObject({ parent: 'payments', callCount: 4, errorCount: 0, p50Us: 7 });
  });

  it('does not invent a virtual node for a client span that a server span answers', () => {
    const t = checkout(100);
    t.spans[1].attributes.push({ key: 'server.address', type: 'string', value: 'payments.internal' });
    const g = buildServiceGraph([], [t]);
    expect(g.nodes.map((n) => n.id)).not.toContain('payments.internal');
    expect(g.edges.find((e) => e.parent === 'frontend')).toMatchObject({ callCount: 1, errorCount: 0, p50Us: 100 });
  });

  it('names virtual peers by db.system first, then peer.service / server.address', () => {
    const s = span({ service: 'x', kind: SpanKind.CLIENT, attrs: { 'db.system': 'redis', 'server.address': 'cache-1' } });
    expect(virtualPeer(s)).toEqual({ id: 'redis', kind: 'database' });
    expect(virtualPeer(span({ service: 'x', kind: SpanKind.CLIENT, attrs: { 'peer.service': 'billing' } }))).toEqual({ id: 'billing', kind: 'external' });
    expect(virtualPeer(span({ service: 'x', kind: SpanKind.CLIENT }))).toBeUndefined();
  });

  it('counts what sidecars did per edge (retried, fault, ejections), and treats tries as the calls under a logical span', () => {
    const proxy = { component: 'proxy', 'peer.service': 'ratings' };
    const call = (o: { retried?: boolean; fault?: string; ejectingTry?: boolean }): Trace => {
      const root = span({ service: 'reviews', kind: SpanKind.SERVER });
      const logical = span({ service: 'reviews', parent: root, kind: SpanKind.CLIENT, durationUs: 300, attrs: { ...proxy, ...(o.retried ? { 'meshtrace.retried': 'true' } : {}), ...(o.fault ? { 'meshtrace.fault': o.fault } : {}) } });
      const tries = (o.retried ? [1, 2] : [1]).map((n) => span({ service: 'reviews', parent: logical, kind: SpanKind.CLIENT, durationUs: 100, attrs: { ...proxy, ...(o.ejectingTry && n === 1 ? { 'meshtrace.ejection': 'true' } : {}) } }));
      for (const t of tries) t.attributes.push({ key: 'meshtrace.attempt', type: 'int64', value: 1 });
      if (o.ejectingTry) tries[0].events.push({ timeUs: 1_000_050, name: 'meshtrace.ejection', attributes: [] });
      const servers = tries.map((t) => span({ service: 'ratings', parent: t, kind: SpanKind.SERVER, durationUs: 90 }));
      return { traceId: root.traceId, spans: [root, logical, ...tries, ...servers] };
    };
    const g = buildServiceGraph([{ parent: 'reviews', child: 'ratings', callCount: 5 }], [call({ retried: true, ejectingTry: true }), call({}), call({ fault: 'delay' }), call({})]);
    // The logical span over its tries is not an uninstrumented peer of its own.
    expect(g.nodes).toEqual([{ id: 'ratings', kind: 'service' }, { id: 'reviews', kind: 'service' }]);
    const e = g.edges.find((x) => x.parent === 'reviews' && x.child === 'ratings')!;
    expect(e.mesh).toEqual({ calls: 4, retried: 1, faults: 1, ejections: 1 });
    // Latency per try, as the caller's sidecar saw each.
    expect(e.p50Us).toBe(100);
  });
});
