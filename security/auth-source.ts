/**
 * The `--auth-file` in force: loaded at start (an invalid file stops the server, naming the
 * field), then re-read when it changes (fs.watch on its directory + polling, as the sidecar's
 * config file). A change that does not validate is logged with every problem and the last good
 * file stays in force: a typo while editing must not lock everyone out, nor let everyone in.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { watchConfigFile, type ConfigWatcher, type ConfigWatchOptions } from '../proxy/config-watch.js';
import { AuthFileError, parseAuthFile, type AuthFile } from './auth-file.js';
import { Authenticator } from './authenticator.js';

export function loadAuthFile(path: string): AuthFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new AuthFileError(path, [`cannot read it (${e.code ?? e.message})`]);
  }
  return parseAuthFile(text, path);
}

export class AuthFileSource {
  readonly authenticator: Authenticator;
  private readonly watcher: ConfigWatcher;

  /** Throws AuthFileError when the file cannot be read or is invalid. */
  constructor(readonly path: string, logger: Logger, o: { registry?: Registry; watch?: ConfigWatchOptions } = {}) {
    const file = loadAuthFile(path);
    this.authenticator = new Authenticator(file, { registry: o.registry });
    logger.info({ path, tokens: file.tokens.length, users: file.users.length }, 'auth file loaded: receivers need the ingest role, the query API and UI the read role');
    this.watcher = watchConfigFile(path, () => {
      try {
        const next = loadAuthFile(path);
        this.authenticator.setFile(next);
        logger.info({ path, tokens: next.tokens.length, users: next.users.length }, 'auth file reloaded');
      } catch (err) {
        logger.error({ path, problems: (err as AuthFileError).problems ?? [(err as Error).message] }, 'auth file changed but is invalid; the last good one stays in force');
      }
    }, { ...o.watch, onWatchError: (err) => logger.warn({ err: err.message, path }, 'cannot watch the auth file; polling it') });
  }

  close(): void {
    this.watcher.close();
  }
}
