import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'ui/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests start real servers and SQLite files; two cores, so keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
    // CI (`.ci/run`) reads the JSON report for its closing "tests: N passed, N failed" line.
    ...(process.env.CI ? { reporters: ['default', 'json'], outputFile: { json: '.vitest-report.json' } } : {}),
  },
});
