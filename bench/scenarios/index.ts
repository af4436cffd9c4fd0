/** Every scenario `npm run bench` knows, in the order they run by default. */
import type { Scenario } from '../scenario.js';

export const scenarios: Scenario[] = [];
