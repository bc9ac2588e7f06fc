import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'test/fault/**', 'test/adversary/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two files at once on two cores (vitest's default is cores - 1 = 1 here): most files
    // wait on the CLI processes and servers they start. Measured on a clean clone of bbd6840,
    // load under 4: 365 s with two workers against 801 s with one (the CI run before it).
    maxWorkers: 2,
  },
});
