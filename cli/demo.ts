/**
 * `meshtrace demo`: the bookshop behind sidecars with load, traces and graph in the UI (npm run demo).
 * `meshtrace demo loadgen`: only the load generator (what docker-compose.yml's loadgen runs).
 */
import type { Command } from 'commander';
import { DemoConfigError, parseDemoConfig, parseLoadgenConfig } from '../demo/config.js';

// The demo's modules (all-in-one server, process management) load only when a demo verb runs:
// every `meshtrace inject` the demo starts parses this CLI too and should start fast.

function fail(verb: string, err: unknown): never {
  process.stderr.write(`meshtrace ${verb}: ${(err as Error).message}\n`);
  process.exit(err instanceof DemoConfigError ? 2 : 1);
}

export function registerDemo(program: Command): void {
  const demo = program
    .command('demo')
    .description('Run the bookshop demo: all-in-one server, six services behind sidecars (reviews v1/v2/v3 balanced round-robin), a load generator; prints the URLs to open.')
    .option('--duration <d>', 'stop the demo after this long, e.g. 20s, 5m (default: run until Ctrl-C)')
    .option('--load-duration <d>', 'stop the load after this long, the UI stays up; 0 = as long as the demo', '10m')
    .option('--rps <n>', 'product-page requests per second', '3')
    .option('--port <port>', 'product page port (default 9080, or a free port when taken; 0 = a free port)')
    .option('--query-port <port>', 'UI and query API port (default 16686, or a free port when taken)')
    .option('--otlp-http-port <port>', 'OTLP/HTTP receiver port (default 4318, or a free port when taken)')
    .option('--data-dir <dir>', 'keep the trace store here (default: a temp dir, removed at the end)')
    .option('--error-rate <0..1>', 'probability that details or ratings answers 500', '0.02')
    .option('--slow-rate <0..1>', 'probability of a slow (300–700 ms) ratings lookup', '0.05')
    .option('--latency-scale <x>', 'multiply every simulated latency (0 = none)', '1')
    .option('--verbose', 'echo the output of every sidecar and service');
  demo.addHelpText('after', `
Example:
  npm run demo                             # then open the printed URLs; Ctrl-C stops everything
  meshtrace demo --duration 60s --rps 5`);
  demo.action(async (opts: Record<string, unknown>) => {
    let config;
    try { config = parseDemoConfig(opts); } catch (err) { fail('demo', err); }
    const print = (line: string) => process.stdout.write(`${line}\n`);
    // Handlers first: Ctrl-C during start-up must also undo what was started (children, temp dir).
    const interrupt = new AbortController();
    let running: Awaited<ReturnType<typeof import('../demo/orchestrator.js').startDemo>> | undefined;
    let signals = 0;
    const onSignal = () => {
      // A second Ctrl-C while stopping: give up waiting (children get SIGINT from the terminal too).
      if (++signals > 1) process.exit(130);
      if (running) void running.stop();
      else interrupt.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const { startDemo } = await import('../demo/orchestrator.js');
      running = await startDemo(config, { print, debug: (l) => process.stderr.write(`${l}\n`) }, interrupt.signal);
      if (interrupt.signal.aborted) void running.stop();
    } catch (err) {
      if (interrupt.signal.aborted) process.exit(130);
      fail('demo', err);
    }
    await running.done;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });

  demo
    .command('loadgen')
    .description('Only the demo\'s load generator: product-page requests against --target until --duration or SIGTERM.')
    .requiredOption('--target <url>', 'product page base URL, e.g. http://productpage:9080')
    .option('--rps <n>', 'requests per second', '3')
    .option('--duration <d>', 'stop after this long; 0 = until SIGINT/SIGTERM', '0')
    .action(async (opts: Record<string, unknown>) => {
      let config;
      try { config = parseLoadgenConfig(opts); } catch (err) { fail('demo loadgen', err); }
      const { startLoad } = await import('../demo/loadgen.js');
      const load = startLoad({ target: config.target, rps: config.rps, durationMs: config.duration });
      const report = setInterval(() => process.stdout.write(`${JSON.stringify({ msg: 'loadgen', ...load.stats })}\n`), 10_000);
      const stop = () => void load.stop();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      await load.done;
      clearInterval(report);
      process.stdout.write(`${JSON.stringify({ msg: 'loadgen stopped', ...load.stats })}\n`);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    });
}
