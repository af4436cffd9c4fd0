import { readFileSync, unwatchFile, watch, watchFile, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Watches a config file for content changes, robust to the ways files get replaced:
 * - an editor's or `kubectl`'s write-to-temp + rename, and Kubernetes ConfigMap volumes (the file
 *   is a symlink into `..data/`, swapped by renaming a new `..data` symlink): the *directory* is
 *   watched (fs.watch), since a watch on the file itself follows the old inode;
 * - file systems where fs.watch reports nothing (some network and container mounts): the path is
 *   also polled with fs.watchFile (stat follows symlinks) every `pollMs`.
 * Events are debounced by `debounceMs`; then the file is read and `onChange` runs only when its
 * bytes differ from the last seen (so unrelated files in the directory and touch-only events
 * cause no reload). A missing file is not a change (a rename in progress); the next event retries.
 */
export interface ConfigWatchOptions {
  /** Quiet period after the last event before the file is read, ms. */
  debounceMs?: number;
  /** fs.watchFile polling interval, ms; 0 = no polling. */
  pollMs?: number;
  /** fs.watch could not watch the directory; polling continues. */
  onWatchError?(err: Error): void;
}

export interface ConfigWatcher { close(): void }

export function watchConfigFile(path: string, onChange: () => void, o: ConfigWatchOptions = {}): ConfigWatcher {
  const debounceMs = o.debounceMs ?? 100;
  const pollMs = o.pollMs ?? 1_000;
  const read = (): string | undefined => { try { return readFileSync(path, 'utf8'); } catch { return undefined; } };
  let last = read();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const check = () => {
    timer = undefined;
    if (closed) return;
    const now = read();
    if (now === undefined || now === last) return;
    last = now;
    onChange();
  };
  const poke = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(check, debounceMs);
    timer.unref();
  };

  let dirWatcher: FSWatcher | undefined;
  try {
    // Any entry counts (ConfigMaps swap `..data`, not the file's own name): the content comparison decides.
    dirWatcher = watch(dirname(path), { persistent: false }, poke);
    dirWatcher.on('error', (err) => o.onWatchError?.(err));
  } catch (err) {
    o.onWatchError?.(err as Error);
  }
  if (pollMs > 0) watchFile(path, { interval: pollMs, persistent: false }, poke);

  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      dirWatcher?.close();
      if (pollMs > 0) unwatchFile(path, poke);
    },
  };
}
