/**
 * `npm run clickhouse:embedded -- [--port 8123] [--data-dir DIR] [--host 127.0.0.1]`: the
 * embedded ClickHouse HTTP server (chdb) as a process, for trying `--storage clickhouse` or
 * curl without installing ClickHouse. Stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startEmbeddedClickHouse } from './clickhouse-http.js';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '8123' }, 'data-dir': { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
const ch = await startEmbeddedClickHouse({ port, host: values.host, dataDir: values['data-dir'] });
process.stdout.write(`embedded ClickHouse (chdb) listening on ${ch.url}${values['data-dir'] ? ` data in ${values['data-dir']}` : ' (temporary data)'}\n`);
const stop = () => { void ch.close().then(() => process.exit(0)); };
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
