/**
 * `meshtrace storage migrate`: creates or upgrades the ClickHouse schema (what the all-in-one
 * server also does at start unless --clickhouse-no-migrate), for deployments where the schema
 * is managed separately from the servers. `--print` writes the DDL instead of running it, for
 * review (e.g. the cluster DDL before giving it to a DBA). With `--tenants` it migrates each
 * tenant's database (`<database>_<tenant>`, all-in-one/tenant-stores.ts) instead of the plain one.
 */
import { createClient } from '@clickhouse/client';
import { Command, Option } from 'commander';
import { allInOneOptions, ConfigError, parseAllInOneConfig, type RawAllInOneConfig } from '../all-in-one/config.js';

/** The all-in-one settings this verb takes (same flags and MESHTRACE_* variables). */
const NAMES = ['clickhouseUrl', 'clickhouseDatabase', 'clickhouseUser', 'clickhousePassword', 'clickhouseCluster', 'tenants'] as const;

export function registerStorage(program: Command): void {
  const storage = program.command('storage').description('Manage the trace store (ClickHouse schema).');
  const migrateCmd = storage
    .command('migrate')
    .description('Create or upgrade the ClickHouse schema (versioned migrations recorded in schema_migrations).')
    .addOption(new Option('--print', 'print the DDL of every migration instead of running it'));
  for (const name of NAMES) {
    const o = allInOneOptions[name];
    migrateCmd.addOption(new Option(`${o.flag} <${o.flag.slice(2).split('-').pop()}>`, `${o.help} (default: ${o.default || 'none'}) [env ${o.env}]`));
  }
  migrateCmd.action(async (opts: Record<string, string | boolean | undefined>) => {
    const given: RawAllInOneConfig = { storage: 'clickhouse' };
    for (const name of NAMES) if (typeof opts[name] === 'string') given[name] = opts[name];
    let config;
    try {
      config = parseAllInOneConfig(given, process.env);
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`meshtrace storage migrate: ${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
    const { Schema } = await import('../storage/clickhouse/schema.js');
    const { allStatements, migrate } = await import('../storage/clickhouse/migrations.js');
    const { tenantStoreConfig } = await import('../all-in-one/tenant-stores.js');
    const databases = config.tenants.length === 0 ? [config.clickhouseDatabase] : config.tenants.map((t) => tenantStoreConfig(config, t).clickhouseDatabase);
    const schemas = databases.map((database) => new Schema({ database, cluster: config.clickhouseCluster }));
    if (opts.print) {
      for (const schema of schemas) process.stdout.write(`${allStatements(schema).join(';\n\n')};\n`);
      return;
    }
    // An hour per statement: migration 2 copies every span of a version-1 database in one
    // INSERT … SELECT. Progress headers keep the connection busy meanwhile (idle timeouts of
    // proxies in between).
    const client = createClient({
      url: config.clickhouseUrl, username: config.clickhouseUser, password: config.clickhousePassword, application: 'meshtrace',
      request_timeout: 3_600_000,
      clickhouse_settings: { send_progress_in_http_headers: 1, http_headers_progress_interval_ms: '60000' },
    });
    try {
      for (const schema of schemas) {
        const applied = await migrate(client, schema);
        process.stdout.write(applied.length
          ? `applied migrations ${applied.join(', ')} to ${schema.database} at ${config.clickhouseUrl}\n`
          : `${schema.database} at ${config.clickhouseUrl} is up to date\n`);
      }
    } catch (err) {
      process.stderr.write(`meshtrace storage migrate: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    } finally {
      await client.close();
    }
  });
}
