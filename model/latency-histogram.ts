/**
 * Span latencies aggregated into a log-scale histogram: what the store keeps per operation and
 * time bucket so that RED metrics (Jaeger's Monitor tab) never need to read spans.
 *
 * Bins: 8 per doubling of the duration in µs, so a bin is at most 9 % wide and a quantile read
 * from it (linear interpolation inside the bin, as Prometheus' histogram_quantile does) is within
 * 9 % of the exact value, at any scale from 1 µs to days. Sparse: only bins with counts exist.
 */

export const BINS_PER_DOUBLING = 8;

/** bin → number of spans whose duration falls in it. */
export type LatencyHistogram = Map<number, number>;

/** The bin of a duration (µs, ≥ 0). Bin 0 holds 0 µs; bin b > 0 holds [lower(b), upper(b)). */
export function latencyBin(durationUs: number): number {
  if (durationUs < 1) return 0;
  return 1 + Math.floor(Math.log2(durationUs) * BINS_PER_DOUBLING);
}

/** Lower edge of a bin, µs. */
export function binLowerUs(bin: number): number {
  return bin <= 0 ? 0 : 2 ** ((bin - 1) / BINS_PER_DOUBLING);
}

/** Upper edge of a bin, µs. */
export function binUpperUs(bin: number): number {
  return bin <= 0 ? 1 : 2 ** (bin / BINS_PER_DOUBLING);
}

/** Adds `from` into `into` (mutates `into`). */
export function mergeHistogram(into: LatencyHistogram, from: LatencyHistogram): void {
  for (const [bin, n] of from) into.set(bin, (into.get(bin) ?? 0) + n);
}

/**
 * The q-quantile (0 < q ≤ 1) in µs: the bin holding rank q × total, interpolated linearly
 * between its edges. NaN for an empty histogram (as histogram_quantile over no samples).
 */
export function histogramQuantile(h: LatencyHistogram, q: number): number {
  let total = 0;
  for (const n of h.values()) total += n;
  if (total === 0) return NaN;
  const bins = [...h.keys()].sort((a, b) => a - b);
  const rank = q * total;
  let seen = 0;
  for (const bin of bins) {
    const n = h.get(bin)!;
    if (seen + n >= rank) {
      const lower = binLowerUs(bin);
      const upper = binUpperUs(bin);
      return lower + (upper - lower) * ((rank - seen) / n);
    }
    seen += n;
  }
  return binUpperUs(bins[bins.length - 1]);
}
