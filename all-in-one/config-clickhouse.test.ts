/** The `--storage` and `--clickhouse-*` settings: defaults, environment, validation named by flag. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseAllInOneConfig } from './config.js';

const problems = (given: Parameters<typeof parseAllInOneConfig>[0], env: NodeJS.ProcessEnv = {}): string[] => {
  try {
    parseAllInOneConfig(given, env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

describe('all-in-one config: storage selection', () => {
  it('defaults to sqlite, and the ClickHouse settings to a local server with migrations on', () => {
    const c = parseAllInOneConfig({});
    expect(c).toMatchObject({ storage: 'sqlite', clickhouseUrl: 'http://127.0.0.1:8123', clickhouseDatabase: 'meshtrace', clickhouseUser: 'default', clickhousePassword: '', clickhouseNoMigrate: false, clickhouseCluster: undefined, clickhouseAsyncInsert: false });
  });

  it('takes every ClickHouse setting from MESHTRACE_* variables, flags winning', () => {
    const c = parseAllInOneConfig({ clickhouseDatabase: 'from_flag' }, {
      MESHTRACE_STORAGE: 'clickhouse', MESHTRACE_CLICKHOUSE_URL: 'https://ch.internal:8443', MESHTRACE_CLICKHOUSE_DATABASE: 'from_env',
      MESHTRACE_CLICKHOUSE_USER: 'writer', MESHTRACE_CLICKHOUSE_PASSWORD: 's3cret', MESHTRACE_CLICKHOUSE_NO_MIGRATE: '1', MESHTRACE_CLICKHOUSE_CLUSTER: 'traces',
      MESHTRACE_CLICKHOUSE_ASYNC_INSERT: 'true',
    });
    expect(c).toMatchObject({ storage: 'clickhouse', clickhouseUrl: 'https://ch.internal:8443', clickhouseDatabase: 'from_flag', clickhouseUser: 'writer', clickhousePassword: 's3cret', clickhouseNoMigrate: true, clickhouseCluster: 'traces', clickhouseAsyncInsert: true });
  });

  it('names each bad setting by its flag and variable', () => {
    expect(problems({ storage: 'mysql' })).toEqual([expect.stringMatching(/^--storage \(MESHTRACE_STORAGE\): /)]);
    expect(problems({ storage: 'clickhouse', clickhouseUrl: 'ch:8123', clickhouseDatabase: 'a-b', clickhouseNoMigrate: 'yes', clickhouseAsyncInsert: 'maybe' })).toEqual([
      expect.stringMatching(/^--clickhouse-url \(MESHTRACE_CLICKHOUSE_URL\): must be http\(s\):\/\/host:port/),
      expect.stringMatching(/^--clickhouse-database \(MESHTRACE_CLICKHOUSE_DATABASE\): must be an identifier/),
      expect.stringMatching(/^--clickhouse-no-migrate \(MESHTRACE_CLICKHOUSE_NO_MIGRATE\): /),
      expect.stringMatching(/^--clickhouse-async-insert \(MESHTRACE_CLICKHOUSE_ASYNC_INSERT\): /),
    ]);
  });

  it('refuses the size cap with ClickHouse (it has TTL and --retention), not with SQLite', () => {
    expect(problems({ storage: 'clickhouse', maxSize: '10GiB' })).toEqual([expect.stringMatching(/^--max-size \(MESHTRACE_MAX_SIZE\): is not supported with --storage clickhouse/)]);
    expect(problems({ storage: 'sqlite', maxSize: '10GiB' })).toEqual([]);
  });
});
