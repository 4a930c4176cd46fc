import { defineConfig } from 'vitest/config';

// Network-namespace tests share host state (netns names, sysctls), so files run one at a time;
// the unit tests are fast enough that this costs little.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
