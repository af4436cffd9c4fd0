import { describe } from 'vitest';
import { fuzzTargetTests } from '../../test/fuzz/vitest.js';
import { otlpFuzzTargets } from './otlp.fuzz.js';

describe('OTLP decoders under fuzzing', () => fuzzTargetTests(otlpFuzzTargets));
