/**
 * A posting block: the entries of one search term written by one batch within one hour bucket,
 * packed into one blob (one b-tree row instead of one row per trace). Pure functions.
 *
 * Entry = [start_off u32 LE][spread_us u32 LE][trace number u48 LE], 14 bytes, sorted by
 * start_off descending (newest first). start_off = µs since the bucket's start (< 3.6e9, fits
 * u32); spread_us = latest − earliest start of the trace's spans carrying the term in that hour
 * (< 1 h); the trace number is `traces.id` (< 2^48).
 */
export const ENTRY_BYTES = 14;

export interface PostingEntry {
  startOff: number;
  spreadUs: number;
  trace: number;
}

/** Packs entries (sorted here, newest first). */
export function encodeBlock(entries: PostingEntry[]): Buffer {
  entries.sort((a, b) => b.startOff - a.startOff);
  const buf = Buffer.allocUnsafe(entries.length * ENTRY_BYTES);
  let o = 0;
  for (const e of entries) {
    buf.writeUInt32LE(e.startOff, o);
    buf.writeUInt32LE(e.spreadUs, o + 4);
    buf.writeUIntLE(e.trace, o + 8, 6);
    o += ENTRY_BYTES;
  }
  return buf;
}

export function decodeBlock(buf: Buffer): PostingEntry[] {
  if (buf.length % ENTRY_BYTES !== 0) throw new Error(`posting block: length ${buf.length} is not a multiple of ${ENTRY_BYTES}`);
  const out: PostingEntry[] = new Array(buf.length / ENTRY_BYTES);
  for (let i = 0, o = 0; o < buf.length; i++, o += ENTRY_BYTES) {
    out[i] = { startOff: buf.readUInt32LE(o), spreadUs: buf.readUInt32LE(o + 4), trace: buf.readUIntLE(o + 8, 6) };
  }
  return out;
}
