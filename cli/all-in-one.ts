/**
 * The server verbs, one options table (all-in-one/config.ts) for all three:
 * - `meshtrace all-in-one`: collector + store + query API + UI in one process (what `npm start` runs);
 * - `meshtrace collector`: receivers and writer only — with ClickHouse, any number of them;
 * - `meshtrace query`: query API and UI only — with ClickHouse, any number of them.
 * Every flag has a MESHTRACE_* environment variable; flags win.
 */
import { Command, Option } from 'commander';
import { allInOneOptions, type AllInOneOptionName, ConfigError, type RawAllInOneConfig } from '../all-in-one/config.js';
import type { ServerRole } from '../all-in-one/server.js';

/** Settings only the query side reads. */
const QUERY_SETTINGS: readonly AllInOneOptionName[] = ['queryPort', 'uiBasePath', 'maxClockSkewAdjustment', 'queryMaxLimit', 'queryMaxSpans'];
/** Settings only the collector side reads (retention included: the writer enforces it). */
const COLLECTOR_SETTINGS: readonly AllInOneOptionName[] = ['otlpHttpPort', 'otlpGrpcPort', 'zipkinPort', 'maxBodySize', 'queueSize', 'corsOrigins', 'retention', 'maxSize',
  'spanMaxAttributes', 'spanMaxAttributeLength', 'spanMaxEvents', 'spanMaxLinks', 'traceMaxSpans', 'clickhouseAsyncInsert'];
/** Client certificates are asked for on the receivers only (browsers reach the query port). */
const RECEIVER_TLS_SETTINGS: readonly AllInOneOptionName[] = ['tlsClientCa'];
/** Settings of the mesh control plane, which only the all-in-one process runs beside the store. */
const ALL_IN_ONE_SETTINGS: readonly AllInOneOptionName[] = ['controlPlanePort', 'meshTokenFile'];

const VERBS: Record<ServerRole, { description: string; settings: (name: AllInOneOptionName) => boolean }> = {
  'all-in-one': {
    description: 'Run the collector (OTLP/HTTP, OTLP/gRPC, Zipkin), the trace store, the Jaeger-compatible query API and the UI in one process.',
    settings: () => true,
  },
  collector: {
    description: 'Run only the receivers (OTLP/HTTP, OTLP/gRPC, Zipkin) and the writer. With --storage clickhouse it keeps no state: run several behind a load balancer.',
    settings: (n) => !QUERY_SETTINGS.includes(n) && !ALL_IN_ONE_SETTINGS.includes(n),
  },
  query: {
    description: 'Run only the Jaeger-compatible query API and the UI. With --storage clickhouse it keeps no state: run several beside the collectors.',
    settings: (n) => !COLLECTOR_SETTINGS.includes(n) && !ALL_IN_ONE_SETTINGS.includes(n) && !RECEIVER_TLS_SETTINGS.includes(n),
  },
};

export function registerAllInOne(program: Command): void {
  for (const role of Object.keys(VERBS) as ServerRole[]) registerServerVerb(program, role);
}

function registerServerVerb(program: Command, role: ServerRole): void {
  const verb = VERBS[role];
  const names = (Object.keys(allInOneOptions) as AllInOneOptionName[]).filter(verb.settings);
  const cmd = program.command(role).description(verb.description);
  for (const name of names) {
    const o = allInOneOptions[name];
    const flagName = o.flag.slice(2);
    // The default is shown in the help text but not set here: parseAllInOneConfig applies defaults
    // under the environment, and a commander default would override MESHTRACE_* variables.
    const shown = o.default === '' ? 'none' : o.default;
    // A switch (`boolean`) takes no value: given, it sets 'true'.
    const isSwitch = 'boolean' in o && o.boolean;
    cmd.addOption(new Option(isSwitch ? o.flag : `${o.flag} <${flagName.split('-').pop()}>`, `${o.help} (default: ${shown}) [env ${o.env}]`));
  }
  cmd.action(async (opts: Record<string, string | boolean | undefined>) => {
    const given: RawAllInOneConfig = {};
    for (const name of names) {
      const v = opts[name];
      if (v !== undefined) given[name] = v === true ? 'true' : String(v);
    }
    // Loaded on use: other verbs (a sidecar started by `inject`) should not pay for the server's modules.
    const { startAllInOne, startCollectorServer, startQueryServer } = await import('../all-in-one/server.js');
    let server: { close(): Promise<void>; otlpHttpUrl?: string; otlpGrpcAddress?: string; zipkinUrl?: string; queryUrl?: string; controlPlaneUrl?: string; tls: boolean; config: { uiBasePath: string } };
    try {
      const start = role === 'collector' ? startCollectorServer : role === 'query' ? startQueryServer : startAllInOne;
      server = await start(given, { env: process.env });
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`meshtrace ${role}: ${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
    // A plain line for people (the JSON log lines on stdout are for machines).
    const said: string[] = [];
    if (server.queryUrl) said.push(`open ${server.queryUrl}${server.config.uiBasePath === '/' ? '/' : `${server.config.uiBasePath}/`} (UI and Jaeger API)`);
    if (server.otlpHttpUrl) {
      const receivers = [`OTLP/HTTP ${server.otlpHttpUrl}/v1/traces`];
      if (server.otlpGrpcAddress) receivers.push(`OTLP/gRPC ${server.tls ? 'https://' : ''}${server.otlpGrpcAddress}`);
      if (server.zipkinUrl) receivers.push(`Zipkin ${server.zipkinUrl}/api/v2/spans`);
      said.push(`send spans to ${receivers.join(', ')}`);
    }
    if (server.controlPlaneUrl) said.push(`sidecars: --control-plane ${server.controlPlaneUrl}`);
    process.stderr.write(`meshtrace ${role} is running: ${said.join('; ')}\n`);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      // SIGTERM/SIGINT: stop accepting, drain the queue into the store, close it cleanly.
      server.close().then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`meshtrace ${role}: error during ${signal} shutdown: ${String(err)}\n`);
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}
