import type { HttpFilter } from './types.js';

/**
 * Peer metadata exchange (Istio's x-envoy-peer-metadata, reduced to two headers): the client-side
 * sidecar names its workload on the request, the server-side sidecar names its own on the
 * response, so both can fill `source_workload` / `destination_workload`. The headers are removed
 * before they reach the app or leave the mesh.
 */
export const PEER_WORKLOAD = 'x-meshtrace-peer-workload';
export const PEER_VERSION = 'x-meshtrace-peer-version';

export function peerMetadataFilter(self: { service: string; version: string }): HttpFilter {
  return {
    name: 'peer-metadata',
    onRequest(ex) {
      const w = ex.headers[PEER_WORKLOAD];
      const v = ex.headers[PEER_VERSION];
      delete ex.headers[PEER_WORKLOAD];
      delete ex.headers[PEER_VERSION];
      if (ex.listener === 'inbound') {
        if (typeof w === 'string' && w) ex.peer.workload = w;
        if (typeof v === 'string' && v) ex.peer.version = v;
      } else if (ex.upstream && ex.upstream.cluster !== 'PassthroughCluster') {
        // Only to named upstreams (inside the mesh): a workload name is nothing to tell the world.
        ex.headers[PEER_WORKLOAD] = self.service;
        ex.headers[PEER_VERSION] = self.version;
      }
      return undefined;
    },
    onResponse(ex, headers) {
      if (ex.listener === 'inbound') {
        // Only answer a peer that announced itself: a caller outside the mesh learns nothing.
        if (ex.peer.workload !== 'unknown') {
          headers[PEER_WORKLOAD] = self.service;
          headers[PEER_VERSION] = self.version;
        }
      } else {
        const w = headers[PEER_WORKLOAD];
        const v = headers[PEER_VERSION];
        if (typeof w === 'string' && w) ex.peer.workload = w;
        if (typeof v === 'string' && v) ex.peer.version = v;
        delete headers[PEER_WORKLOAD];
        delete headers[PEER_VERSION];
      }
    },
  };
}
