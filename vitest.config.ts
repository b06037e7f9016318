import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30000,
    hookTimeout: 60000,
    pool: 'forks',
    // Two cores: each file starts its own server process(es).
    maxWorkers: 2,
    minWorkers: 1,
  },
});
