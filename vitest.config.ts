import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Each test file gets its own database; CLI tests start PGlite processes, which are CPU-bound.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
