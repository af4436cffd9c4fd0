// Worker threads do not inherit the main thread's tsx loader (module.register is per thread in
// Node 20), so the ingest worker registers it itself before loading its TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./ingest-worker.ts');
