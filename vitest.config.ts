import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts a throw-away S3 (Swift) once when the run includes S3 tests.
    globalSetup: ['test/s3/global-setup.ts'],
    testTimeout: 30000,
    hookTimeout: 60000,
    pool: 'forks',
    // Two cores: each file starts its own server process(es).
    maxWorkers: 2,
    minWorkers: 1,
  },
});
