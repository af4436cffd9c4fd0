/**
 * Ports for the demo's sidecars and services, chosen so that nothing else can take them between
 * being chosen and being bound.
 *
 * Why not port 0 or "a free port now": the demo must know a sidecar's port before it listens (its
 * callers' sidecars are configured with it), and a port found free and released is exactly what
 * the kernel hands the next `listen(0)` — six sidecars and six services starting at once did
 * collide that way. So the demo reserves ports BELOW the kernel's ephemeral range: `listen(0)`
 * never picks those, and holding every candidate open until all are found makes them distinct.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** Lowest port the kernel hands out for `listen(0)`: Linux's ip_local_port_range, else 32768 (IANA's range starts higher). */
export function ephemeralLow(rangeFile = '/proc/sys/net/ipv4/ip_local_port_range'): number {
  try {
    const low = Number(readFileSync(rangeFile, 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 1024 && low <= 65535) return low;
  } catch { /* not Linux */ }
  return 32768;
}

function tryListen(port: number, host: string): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen({ port, host, exclusive: true }, () => resolve(s));
  });
}

/**
 * `count` distinct ports, each free on `host` when returned, from [floor, ephemeralLow), starting
 * at a random offset so concurrent demos rarely probe the same ports. Throws if too few are free.
 */
export async function reservePorts(count: number, host = '127.0.0.1', floor = 20_000, random: () => number = Math.random): Promise<number[]> {
  const ceiling = ephemeralLow();
  const span = ceiling - floor;
  if (span < count) throw new Error(`no room for ${count} ports between ${floor} and the ephemeral range (${ceiling})`);
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    const start = Math.floor(random() * span);
    for (let i = 0; i < span && ports.length < count; i++) {
      const port = floor + ((start + i) % span);
      const s = await tryListen(port, host);
      if (s) { held.push(s); ports.push(port); }
    }
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
  if (ports.length < count) throw new Error(`only ${ports.length} of ${count} ports free between ${floor} and ${ceiling}`);
  return ports;
}
