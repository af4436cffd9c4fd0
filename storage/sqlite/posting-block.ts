/**
 * A posting block: the entries of one search term written by one batch within one hour bucket,
 * packed into one blob (one b-tree row instead of one row per trace). Pure functions.
 *
 * Entries are sorted by start_off descending (newest first) and delta-encoded as unsigned LEB128
 * varints, 3 per entry:
 *   [start gap] [spread_us] [trace delta, zigzag]
 * start gap = previous entry's start_off − this one's (the first entry: its start_off itself);
 * start_off = µs since the bucket's start (< 3.6e9); spread_us = latest − earliest start of the
 * trace's spans carrying the term in that hour (< 1 h, mostly 0 or small); trace delta = this
 * trace number − the previous entry's (the first: − 0). The traces of one batch have close start
 * times and consecutive numbers, so a typical entry takes 4–7 bytes (a fixed layout took 14).
 */

export interface PostingEntry {
  startOff: number;
  spreadUs: number;
  trace: number;
}

/** Appends `v` (a non-negative safe integer) as an unsigned LEB128 varint; returns the new offset. */
export function writeVarint(buf: Buffer, o: number, v: number): number {
  while (v >= 0x80) {
    buf[o++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[o++] = v;
  return o;
}

const zigzag = (v: number): number => (v >= 0 ? v * 2 : -v * 2 - 1);
const unzigzag = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);

/** Packs entries (sorted here, newest first). */
export function encodeBlock(entries: PostingEntry[]): Buffer {
  entries.sort((a, b) => b.startOff - a.startOff || b.trace - a.trace);
  // ≤ 7 bytes per varint of a value < 2^48.
  const tmp = Buffer.allocUnsafe(entries.length * 21);
  let o = 0;
  let prevStart = 0;
  let prevTrace = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    o = writeVarint(tmp, o, i === 0 ? e.startOff : prevStart - e.startOff);
    o = writeVarint(tmp, o, e.spreadUs);
    o = writeVarint(tmp, o, zigzag(e.trace - prevTrace));
    prevStart = e.startOff;
    prevTrace = e.trace;
  }
  return Buffer.from(tmp.subarray(0, o));
}

/** Unpacks a block written by `encodeBlock`, newest first. */
export function decodeBlock(buf: Uint8Array): PostingEntry[] {
  const out: PostingEntry[] = [];
  let o = 0;
  let start = 0;
  let trace = 0;
  const len = buf.length;
  const next = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (o >= len) throw new Error(`posting block: truncated at byte ${o} of ${len}`);
      const b = buf[o++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
  };
  while (o < len) {
    const gap = next();
    start = out.length === 0 ? gap : start - gap;
    const spreadUs = next();
    trace += unzigzag(next());
    out.push({ startOff: start, spreadUs, trace });
  }
  return out;
}
