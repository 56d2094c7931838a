import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Server tests bind real ports and spawn processes; two workers match the 2-core machines this runs on.
    maxWorkers: 2,
  },
});
