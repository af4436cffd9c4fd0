import { describe } from 'vitest';
import { fuzzTargetTests } from '../../test/fuzz/vitest.js';
import { zipkinFuzzTargets } from './zipkin.fuzz.js';

describe('Zipkin decoder under fuzzing', () => fuzzTargetTests(zipkinFuzzTargets));
