import { describe, expect, it } from 'vitest';
import type { MeshTopology, SidecarStatus } from '../../control-plane/api.js';
import { meshView, observedSplit, splitLabel } from './mesh-topology.js';

const sc = (service: string, version: string, instance: string, synced = true, mtls: SidecarStatus['mtls'] = 'DISABLE'): SidecarStatus =>
  ({ service, version, instance, address: '127.0.0.1:1', configVersion: synced ? 2 : 1, lastHeartbeat: '2026-01-01T00:00:00Z', mtls, ready: true, synced });
const topo: MeshTopology = {
  version: 2,
  services: [
    { name: 'productpage', versions: [{ version: 'v1', instances: [sc('productpage', 'v1', 'pp')] }], mtls: 'DISABLE' },
    { name: 'ratings', versions: [{ version: 'v1', instances: [sc('ratings', 'v1', 'ra', true, 'STRICT')] }], mtls: 'STRICT' },
    { name: 'reviews', versions: [{ version: 'v1', instances: [sc('reviews', 'v1', 'r1')] }, { version: 'v3', instances: [sc('reviews', 'v3', 'r3', false)] }], mtls: 'DISABLE' },
  ],
  routes: [{ from: 'productpage', host: 'reviews', name: 'canary', split: [{ service: 'reviews', version: 'v1', percent: 90 }, { service: 'reviews', version: 'v3', percent: 10 }], retries: 2, match: false }],
  mutualTls: [],
};

describe('meshView', () => {
  it('joins traffic per edge with routes, mTLS and sync state', () => {
    const v = meshView(topo, {
      nodes: [], tracesScanned: 10,
      edges: [
        { parent: 'productpage', child: 'reviews', callCount: 600, errorCount: 6, p50Us: 1000, p95Us: 5000 },
        { parent: 'reviews', child: 'ratings', callCount: 60, errorCount: 0, p50Us: 1000, p95Us: 2000 },
      ],
    }, 60_000);
    expect(v.edges[0]).toMatchObject({ from: 'productpage', to: 'reviews', ratePerS: 10, errorPercent: 1, p95Us: 5000, mtls: false });
    expect(v.edges[0].routes.map((r) => r.name)).toEqual(['canary']);
    expect(v.edges[1]).toMatchObject({ from: 'reviews', to: 'ratings', ratePerS: 1, mtls: true, routes: [] });
    expect(v.outOfSync.map((s) => s.instance)).toEqual(['r3']);
    expect(splitLabel(v.edges[0].routes[0])).toBe('reviews v1 90% · reviews v3 10%');
  });

  it('shows a route\'s edge before any traffic, and an ISTIO_MUTUAL policy as mTLS', () => {
    const v = meshView({ ...topo, mutualTls: [{ from: '*', to: 'reviews|v3' }] }, undefined, 60_000);
    expect(v.edges).toEqual([expect.objectContaining({ from: 'productpage', to: 'reviews', ratePerS: 0, mtls: true })]);
  });
});

describe('observedSplit', () => {
  it('gives each version\'s share of the traces it appeared in', () => {
    expect(observedSplit([['v1'], ['v1'], ['v1', 'v1'], ['v3']])).toEqual({ v1: 75, v3: 25 });
    expect(observedSplit([])).toEqual({});
  });
});
