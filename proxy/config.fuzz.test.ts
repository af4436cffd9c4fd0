import { describe } from 'vitest';
import { fuzzTargetTests } from '../test/fuzz/vitest.js';
import { proxyConfigFuzzTargets } from './config.fuzz.js';

describe('sidecar config schema under fuzzing', () => fuzzTargetTests(proxyConfigFuzzTargets));
