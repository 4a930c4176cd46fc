import { defineConfig } from 'vitest/config';

// Network-namespace tests share host state (netns names, sysctls), so files run one at a time;
// the unit tests are fast enough that this costs little. The global setup starts a throwaway ClickHouse
// server for the storage tests when PATHWATCH_CLICKHOUSE_URL is not set (and a selected file needs one).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/clickhouse-server.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
