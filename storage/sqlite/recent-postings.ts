/**
 * Recent postings: the index entries of the last few write batches, one row per batch, before
 * they are merged into `postings` / `postings_single`. Pure functions, no I/O.
 *
 * Why: every batch adds entries for hundreds of terms, and a term-keyed b-tree places them all
 * over the current hour's region of the index. Written per batch, each commit re-wrote most of
 * that region's pages to the WAL (measured: ~5 KB written per span stored, for ~150 B kept).
 * One append-only row per batch dirties a few pages; merging every `MERGE_ROWS` batches touches
 * each index page once for many batches and collapses a term's entries of those batches into
 * one block (fewer, larger rows).
 *
 * Row blob = fixed 24-byte records sorted by (term, bucket descending, start descending):
 *   [term u48][bucket u32][start_off u32][spread_us u32][trace u48], little-endian.
 * Fixed size so a search finds a term's records by binary search without decoding the row.
 */
import type { PostingEntry } from './posting-block.js';

export const RECORD_BYTES = 24;

/** A posting entry with its term and hour bucket. */
export interface RecentEntry extends PostingEntry {
  term: number;
  bucket: number;
}

/** Packs one batch's postings (hour → term → entries), sorted for binary search. */
export function encodeRecent(postings: Map<number, Map<number, PostingEntry[]>>): { blob: Buffer; n: number; maxBucket: number } {
  let n = 0;
  let distinct = 0;
  for (const byTerm of postings.values()) {
    distinct += byTerm.size;
    for (const entries of byTerm.values()) n += entries.length;
  }
  const hours = [...postings.keys()].sort((a, b) => b - a);
  // Terms are < 2^47: a Float64Array sorts them numerically without a comparator.
  const terms = new Float64Array(distinct);
  let t = 0;
  for (const byTerm of postings.values()) for (const term of byTerm.keys()) terms[t++] = term;
  terms.sort();
  const blob = Buffer.allocUnsafe(n * RECORD_BYTES);
  let o = 0;
  for (let i = 0; i < terms.length; i++) {
    const term = terms[i];
    if (i > 0 && term === terms[i - 1]) continue; // the same term in two hours
    for (const bucket of hours) {
      const entries = postings.get(bucket)!.get(term);
      if (!entries) continue;
      if (entries.length > 1) entries.sort(newestFirst);
      for (const e of entries) {
        blob.writeUIntLE(term, o, 6);
        blob.writeUInt32LE(bucket, o + 6);
        blob.writeUInt32LE(e.startOff, o + 10);
        blob.writeUInt32LE(e.spreadUs, o + 14);
        blob.writeUIntLE(e.trace, o + 18, 6);
        o += RECORD_BYTES;
      }
    }
  }
  return { blob, n, maxBucket: hours.length ? hours[0] : -1 };
}

const newestFirst = (a: PostingEntry, b: PostingEntry) => b.startOff - a.startOff || b.trace - a.trace;

function readRecord(blob: Uint8Array, i: number): RecentEntry {
  const b = Buffer.isBuffer(blob) ? blob : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const o = i * RECORD_BYTES;
  return { term: b.readUIntLE(o, 6), bucket: b.readUInt32LE(o + 6), startOff: b.readUInt32LE(o + 10), spreadUs: b.readUInt32LE(o + 14), trace: b.readUIntLE(o + 18, 6) };
}

/** Every record of a row, in blob order. */
export function decodeRecent(blob: Uint8Array): RecentEntry[] {
  if (blob.length % RECORD_BYTES !== 0) throw new Error(`recent postings: length ${blob.length} is not a multiple of ${RECORD_BYTES}`);
  const out: RecentEntry[] = new Array(blob.length / RECORD_BYTES);
  for (let i = 0; i < out.length; i++) out[i] = readRecord(blob, i);
  return out;
}

/** The records of `term` in a row (bucket descending, newest first), found by binary search. */
export function recentOfTerm(blob: Uint8Array, term: number): RecentEntry[] {
  if (blob.length % RECORD_BYTES !== 0) throw new Error(`recent postings: length ${blob.length} is not a multiple of ${RECORD_BYTES}`);
  const b = Buffer.isBuffer(blob) ? blob : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  let lo = 0;
  let hi = blob.length / RECORD_BYTES;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (b.readUIntLE(mid * RECORD_BYTES, 6) < term) lo = mid + 1; else hi = mid;
  }
  const out: RecentEntry[] = [];
  const n = blob.length / RECORD_BYTES;
  for (let i = lo; i < n && b.readUIntLE(i * RECORD_BYTES, 6) === term; i++) out.push(readRecord(b, i));
  return out;
}
