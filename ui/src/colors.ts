/**
 * Service colours: a fixed palette indexed by a hash of the service name, so a service has the
 * same colour on every page and in every trace (Jaeger assigns by order of appearance, which
 * changes between traces). The palette is mid-lightness so it reads on light and dark themes.
 */
const PALETTE = [
  '#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f',
  '#8cd17d', '#a0cbe8', '#ffbe7d', '#d4a6c8', '#86bcb6', '#f1ce63', '#d37295', '#bab0ac',
  '#499894', '#79706e', '#b6992d', '#fabfd2',
];

const cache = new Map<string, string>();

export function serviceColor(service: string): string {
  let c = cache.get(service);
  if (c) return c;
  // FNV-1a, 32 bit.
  let h = 0x811c9dc5;
  for (let i = 0; i < service.length; i++) {
    h ^= service.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  c = PALETTE[h % PALETTE.length];
  cache.set(service, c);
  return c;
}
