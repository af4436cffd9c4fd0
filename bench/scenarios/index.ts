/** Every scenario `npm run bench` knows, in the order they run by default. */
import type { Scenario } from '../scenario.js';
import { clickhouseScenario } from './clickhouse.js';
import { diskScenario } from './disk.js';
import { ingestScenario } from './ingest.js';
import { ingestUnderQueryScenario } from './ingest-under-query.js';
import { memoryScenario } from './memory.js';
import { proxyScenario } from './proxy.js';
import { queryScenario } from './query.js';
import { searchScenario } from './search.js';
import { uiScenario } from './ui.js';

export const scenarios: Scenario[] = [ingestScenario, queryScenario, ingestUnderQueryScenario, memoryScenario, diskScenario, proxyScenario, uiScenario, clickhouseScenario, searchScenario];
