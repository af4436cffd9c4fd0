import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from './config.js';

/**
 * A token kept in a file: read at start (a missing, unreadable or empty file is a ConfigError
 * naming `field`), then re-read whenever the file's identity, size or times change (one `stat`
 * per `get()`; callers are the admin's mutating requests and span exports, a few per second at
 * most). Surrounding whitespace is trimmed (`echo token > file` leaves a newline). A file that
 * later disappears, cannot be read or is empty keeps the last good token, so a rotation that
 * briefly removes the file does not lock anyone out; `onError` hears about it once per change.
 */
export class SecretFile {
  private value: string;
  private signature: string;

  constructor(readonly path: string, private readonly field: string, private readonly onError?: (problem: string) => void) {
    const r = this.read();
    if (typeof r !== 'string') throw new ConfigError([`${field}: ${r.problem}`]);
    this.value = r;
    this.signature = this.stat() ?? '';
  }

  /** The current token. */
  get(): string {
    const sig = this.stat();
    if (sig === undefined) {
      if (this.signature !== 'missing') this.onError?.(`${this.field}: ${this.path} is gone; keeping the previous token`);
      this.signature = 'missing';
    } else if (sig !== this.signature) {
      this.signature = sig;
      const r = this.read();
      if (typeof r === 'string') this.value = r;
      else this.onError?.(`${this.field}: ${r.problem}; keeping the previous token`);
    }
    return this.value;
  }

  private stat(): string | undefined {
    try {
      const s = statSync(this.path);
      return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch { return undefined; }
  }

  private read(): string | { problem: string } {
    let text: string;
    try { text = readFileSync(this.path, 'utf8'); } catch (e) {
      return { problem: `cannot read ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
    }
    const token = text.trim();
    if (!token) return { problem: `${this.path} is empty` };
    if (/[\s]/.test(token)) return { problem: `${this.path} holds more than one word; expected just the token` };
    return token;
  }
}
