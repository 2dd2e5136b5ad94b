import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts (or checks) the FerretDB shards and Redis once for the whole run.
    globalSetup: ['test/services/global-setup.ts'],
    // Forks, not threads: tests start and SIGKILL server processes, and the
    // exit hooks that reap them only run per process.
    pool: 'forks',
    // Real servers on a 2-core machine: generous limits, two files at a time.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
