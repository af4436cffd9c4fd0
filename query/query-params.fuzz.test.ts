import { describe } from 'vitest';
import { fuzzTargetTests } from '../test/fuzz/vitest.js';
import { queryParamFuzzTargets } from './query-params.fuzz.js';

describe('query parameter parsers under fuzzing', () => fuzzTargetTests(queryParamFuzzTargets));
