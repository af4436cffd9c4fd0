import type { HttpFilter } from './types.js';

/** Envoy's header telling the app who called it over mTLS. */
export const XFCC = 'x-forwarded-client-cert';

/**
 * Inbound, when mTLS is on (PERMISSIVE or STRICT): the app learns its caller's verified identity
 * from `x-forwarded-client-cert: By=<this workload's SPIFFE id>;URI=<the caller's>` (Envoy's
 * format, without its Hash/Subject/DNS elements). Whatever a caller sent in that header is
 * removed first (Envoy's SANITIZE_SET), so a plaintext caller in PERMISSIVE mode cannot pose as an
 * mTLS peer. With mTLS DISABLE the filter is not in the chain and the header passes untouched.
 */
export function clientCertFilter(self: string): HttpFilter {
  return {
    name: 'client-cert',
    onRequest(ex) {
      delete ex.headers[XFCC];
      if (ex.peerIdentity) ex.headers[XFCC] = `By=${self};URI=${ex.peerIdentity.principal}`;
      return undefined;
    },
  };
}
