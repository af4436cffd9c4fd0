/** In-process V8 CPU profiling of one bench phase (`MESHTRACE_BENCH_PROFILE`). */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/** Runs `fn` under the V8 sampling profiler (200 µs interval) and writes the .cpuprofile to `path`. */
export async function withCpuProfile<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    const result = await fn();
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(path, JSON.stringify(profile));
    return result;
  } finally {
    session.disconnect();
  }
}
