#!/usr/bin/env node
// `npm run bench [-- <scenario> …] [--quick]`: see bench/run.ts.
import { register } from 'tsx/esm/api';

register();
const { runBench } = await import('../bench/run.ts');
process.exitCode = await runBench(process.argv.slice(2));
