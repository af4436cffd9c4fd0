import { describe } from 'vitest';
import { fuzzTargetTests } from '../../test/fuzz/vitest.js';
import { propagationFuzzTargets } from './propagation.fuzz.js';

describe('trace-header parsers under fuzzing', () => fuzzTargetTests(propagationFuzzTargets));
