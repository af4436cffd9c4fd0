/**
 * CPU time per thread of this process, from /proc (Linux only; empty elsewhere): tells the
 * ingest worker's share apart from the main thread's and from V8's helper threads (garbage
 * collection), which `process.cpuUsage()` lumps together.
 */
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100;

/** Thread id → CPU µs (user + system) so far. */
export function cpuByThread(): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const t of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command name.
      out.set(Number(t), ((Number(f[11]) + Number(f[12])) * 1_000_000) / CLK_TCK);
    } catch {
      // The thread ended between readdir and read.
    }
  }
  return out;
}

export interface ThreadCpuSplit {
  /** The main thread (receivers, query API). */
  mainUs: number;
  /** The ingest worker thread (decode + SQLite writes); 0 when decoding in-thread. */
  ingestUs: number;
  /** Every other thread: V8 platform workers (GC, compilation), libuv pool. */
  otherUs: number;
}

/**
 * CPU used between two `cpuByThread` samples of one process, split into main / ingest worker /
 * the rest. The main thread's id is the process id.
 */
export function splitThreadCpu(before: Map<number, number>, after: Map<number, number>, pid: number, ingestTid: number | undefined): ThreadCpuSplit {
  const split = { mainUs: 0, ingestUs: 0, otherUs: 0 };
  for (const [tid, us] of after) {
    const d = us - (before.get(tid) ?? 0);
    if (tid === pid) split.mainUs += d;
    else if (tid === ingestTid) split.ingestUs += d;
    else split.otherUs += d;
  }
  return split;
}
