#!/usr/bin/env node
// The CLI runs the TypeScript sources through tsx (esbuild), so a fresh clone needs no
// compile step and stack traces point at the .ts files. See docs/ARCHITECTURE.md.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
await main(process.argv.slice(2));
