import { randomFillSync } from 'node:crypto';

/**
 * Random trace and span ids. A pooled buffer keeps this off the per-request syscall path:
 * randomFillSync refills 4 KiB at a time (≈170 span ids per refill).
 */
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

function randomHex(bytes: number): string {
  for (;;) {
    if (offset + bytes > POOL_SIZE) {
      randomFillSync(pool);
      offset = 0;
    }
    const hex = pool.toString('hex', offset, offset + bytes);
    offset += bytes;
    // An all-zero id is invalid in every format; vanishingly rare, but retry rather than emit it.
    if (!/^0+$/.test(hex)) return hex;
  }
}

/** 32 lowercase hex chars, never all zero. */
export const newTraceId = (): string => randomHex(16);
/** 16 lowercase hex chars, never all zero. */
export const newSpanId = (): string => randomHex(8);
