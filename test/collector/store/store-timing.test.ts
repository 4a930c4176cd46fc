// Whether chDB keeps the event loop free: a chDB query that takes the engine a while must not stall the
// event loop for that long (chDB's async calls run on libuv worker threads; a synchronous call would
// freeze the collector). The store's timing figures are a benchmark, not a test: bench/store-timing.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChdbExecutor } from '../../../collector/store/backends/chdb-executor.js';
import { render, sql } from '../../../collector/store/sql/fragment.js';

/** Runs `work` while a 1 ms timer watches the event loop; returns the work's duration and the longest stall. */
async function watchLoop<T>(work: () => Promise<T>): Promise<{ result: T; ms: number; maxStallMs: number }> {
  let last = performance.now();
  let maxStallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxStallMs = Math.max(maxStallMs, now - last);
    last = now;
  }, 1);
  const start = performance.now();
  try {
    const result = await work();
    const ms = performance.now() - start;
    maxStallMs = Math.max(maxStallMs, performance.now() - last);
    return { result, ms, maxStallMs };
  } finally {
    clearInterval(timer);
  }
}

describe('chDB and the event loop', () => {
  it('a long query runs off the event loop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pathwatch-store-timing-'));
    const executor = ChdbExecutor.open(dir);
    try {
      const heavy = render(sql`SELECT sum(cityHash64(number)) AS s FROM numbers(300000000)`, 'inline');
      const { ms, maxStallMs } = await watchLoop(() => executor.select(heavy));
      expect(ms).toBeGreaterThan(200);
      // Synchronous, the loop would stall for the whole query; async it only pays for the result.
      expect(maxStallMs).toBeLessThan(ms / 2);
    } finally {
      await executor.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
