import type { Exchange, HttpFilter, LocalReply, OutHeaders } from './types.js';

/** Runs a listener's filters in Envoy's order: requests forward, responses and completion in reverse. */
export class FilterChain {
  private readonly reversed: HttpFilter[];

  constructor(readonly filters: readonly HttpFilter[], private readonly onFilterError: (filter: string, err: unknown) => void = () => {}) {
    this.reversed = [...filters].reverse();
  }

  request(ex: Exchange): LocalReply | undefined {
    for (const f of this.filters) {
      const r = f.onRequest?.(ex);
      if (r) return r;
    }
    return undefined;
  }

  response(ex: Exchange, headers: OutHeaders): void {
    for (const f of this.reversed) f.onResponse?.(ex, headers);
  }

  /** Never throws: a failing logger or exporter must not affect the connection. */
  complete(ex: Exchange): void {
    for (const f of this.reversed) {
      if (!f.onComplete) continue;
      try { f.onComplete(ex); } catch (err) { this.onFilterError(f.name, err); }
    }
  }
}
