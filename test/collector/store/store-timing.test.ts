// How the store costs in time, and whether chDB keeps the event loop free.
// - Always: a chDB query that takes the engine a while must not stall the event loop for that long
//   (chDB's async calls run on libuv worker threads; a synchronous call would freeze the collector).
// - With PATHWATCH_STORE_TIMING=1: prints insert and query figures for chDB (both profiles) and for the
//   server in PATHWATCH_CLICKHOUSE_URL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChdbExecutor } from '../../../collector/store/backends/chdb-executor.js';
import { openStorage, type OpenStorageOptions } from '../../../collector/store/open-storage.js';
import { render, sql } from '../../../collector/store/sql/fragment.js';
import type { Storage, StoredFlow } from '../../../collector/store/storage.js';
import { makeDrop, makeFlow } from './storage-contract.js';
import { serverTarget } from './store-targets.js';

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

const figures = process.env.PATHWATCH_STORE_TIMING === '1';
const url = process.env.PATHWATCH_CLICKHOUSE_URL;

describe.runIf(figures)('store figures (PATHWATCH_STORE_TIMING=1)', () => {
  const ROWS = 10_000;
  const flows: StoredFlow[] = Array.from({ length: ROWS }, (_, i) =>
    makeFlow({
      node: `node-${i % 5}`,
      src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      dst: i % 2 ? 'fd00::1' : '10.0.0.2',
      sport: 1024 + (i % 60000),
      firstSeenMs: Date.now() - 60_000 + i,
      lastSeenMs: Date.now() - 30_000 + i,
    }),
  );

  async function measure(name: string, storage: Storage): Promise<void> {
    const round = (n: number) => Math.round(n * 10) / 10;
    // Warm-up: the first write compiles the row codec (about twice the steady cost).
    const warmDrops = Array.from({ length: 300 }, (_, i) => makeDrop({ node: `warm-${i}` }));
    await storage.write({ flows: flows.slice(0, 2000), drops: warmDrops, packets: [] });
    const insert = await watchLoop(() => storage.write({ flows, drops: [], packets: [] }));
    const drops = Array.from({ length: 1000 }, (_, i) => makeDrop({ node: `node-${i % 5}`, src: `100.64.${i >> 8}.${i & 255}` }));
    const dropInsert = await watchLoop(() => storage.write({ flows: [], drops, packets: [] }));
    const lines = [`${name}: write ${ROWS} flows ${round(insert.ms)} ms (loop stall max ${round(insert.maxStallMs)} ms)`,
      `  write 1000 drops ${round(dropInsert.ms)} ms (stall ${round(dropInsert.maxStallMs)} ms)`];
    const queries: [string, () => Promise<unknown>][] = [
      ['queryFlows limit 100', () => storage.queryFlows({ limit: 100 })],
      ['queryFlows node+port', () => storage.queryFlows({ limit: 100, node: 'node-3', port: 2000 })],
      ['queryFlows src', () => storage.queryFlows({ limit: 100, src: '10.0.1.1' })],
      ['queryDrops limit 100', () => storage.queryDrops({ limit: 100 })],
      ['getDrop', () => storage.getDrop(drops[500]!.event.id)],
      ['hasBatch', () => storage.hasBatch({ agentId: 'a', bootId: 'b', sequence: 1 })],
    ];
    for (const [label, run] of queries) {
      await run(); // warm
      const times: number[] = [];
      let stall = 0;
      for (let i = 0; i < 20; i++) {
        const r = await watchLoop(run);
        times.push(r.ms);
        stall = Math.max(stall, r.maxStallMs);
      }
      times.sort((a, b) => a - b);
      lines.push(`  ${label}: median ${round(times[10]!)} ms, max ${round(times[19]!)} ms (stall max ${round(stall)} ms)`);
    }
    process.stdout.write(lines.join('\n') + '\n');
  }

  async function embedded(name: string, options: OpenStorageOptions): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'pathwatch-store-timing-'));
    const opened = await watchLoop(() => openStorage(`embedded:${dir}`, options));
    process.stdout.write(`${name}: open ${Math.round(opened.ms)} ms (loop stall max ${Math.round(opened.maxStallMs)} ms)\n`);
    try {
      await measure(name, opened.result);
    } finally {
      await opened.result.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('chDB, current profile', () => embedded('chDB current', {}), 120_000);
  it('chDB, legacy SQL', () => embedded('chDB legacy', { forceProfile: 'legacy' }), 120_000);
  it.runIf(url !== undefined)('ClickHouse server', async () => {
    const target = serverTarget(url!, 'legacy');
    const spec = await target.fresh();
    const storage = await openStorage(spec);
    try {
      await measure(`server ${storage.info.serverVersion} (${storage.info.profile})`, storage);
    } finally {
      await storage.close();
      await target.cleanup(spec);
    }
  }, 120_000);
});
