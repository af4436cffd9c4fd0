/**
 * `meshtrace all-in-one`: collector + store + query API + UI in one process (what `npm start` runs).
 * Every flag has a MESHTRACE_* environment variable; flags win.
 */
import { Command, Option } from 'commander';
import { allInOneOptions, type AllInOneOptionName, ConfigError, type RawAllInOneConfig } from '../all-in-one/config.js';

export function registerAllInOne(program: Command): void {
  const cmd = program
    .command('all-in-one')
    .description('Run the collector (OTLP/HTTP, OTLP/gRPC, Zipkin), the SQLite trace store, the Jaeger-compatible query API and the UI in one process.');
  for (const [name, o] of Object.entries(allInOneOptions)) {
    const flagName = o.flag.slice(2);
    // The default is shown in the help text but not set here: parseAllInOneConfig applies defaults
    // under the environment, and a commander default would override MESHTRACE_* variables.
    const shown = o.default === '' ? 'none' : o.default;
    cmd.addOption(new Option(`${o.flag} <${flagName.split('-').pop()}>`, `${o.help} (default: ${shown}) [env ${o.env}]`));
    void name;
  }
  cmd.action(async (opts: Record<string, string | undefined>) => {
    const given: RawAllInOneConfig = {};
    for (const name of Object.keys(allInOneOptions) as AllInOneOptionName[]) {
      if (opts[name] !== undefined) given[name] = opts[name];
    }
    // Loaded on use: other verbs (a sidecar started by `inject`) should not pay for the server's modules.
    const { startAllInOne } = await import('../all-in-one/server.js');
    let server;
    try {
      server = await startAllInOne(given, { env: process.env });
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`meshtrace all-in-one: ${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
    // A plain line for people (the JSON log lines on stdout are for machines).
    const receivers = [`OTLP/HTTP ${server.otlpHttpUrl}/v1/traces`];
    if (server.otlpGrpcAddress) receivers.push(`OTLP/gRPC ${server.otlpGrpcAddress}`);
    if (server.zipkinUrl) receivers.push(`Zipkin ${server.zipkinUrl}/api/v2/spans`);
    const ui = server.queryUrl + (server.config.uiBasePath === '/' ? '/' : `${server.config.uiBasePath}/`);
    const mesh = server.controlPlaneUrl ? `; sidecars: --control-plane ${server.controlPlaneUrl}` : '';
    process.stderr.write(`meshtrace all-in-one is running: open ${ui} (UI and Jaeger API); send spans to ${receivers.join(', ')}${mesh}\n`);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      // SIGTERM/SIGINT: stop accepting, drain the queue into SQLite, close the database cleanly.
      server.close().then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`meshtrace all-in-one: error during ${signal} shutdown: ${String(err)}\n`);
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}
