/**
 * Ingest when storage misbehaves: a store that fails makes ingest answer 503 with Retry-After and
 * acknowledges nothing; when it comes back, the retried batch is stored once. A store that hangs
 * costs a 503 after the timeout, never a hung request; a full queue answers 429.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { AlertRules } from '../../../collector/alert/alert-rules.js';
import { buildCollectorApp } from '../../../collector/api/collector-app.js';
import { createCollectorMetrics } from '../../../collector/api/collector-metrics.js';
import { DropEventHub } from '../../../collector/api/drop-event-hub.js';
import { BatchIngest, checkBatch, IngestOverloadedError } from '../../../collector/ingest/batch-ingest.js';
import { openStorage } from '../../../collector/store/open-storage.js';
import { StorageUnavailableError, type Storage } from '../../../collector/store/storage.js';
import { batch, encoded, rpfVanished } from '../../support/wire-batches.js';

type Mode = 'ok' | 'down' | 'hang';

/** The real embedded store behind a switch that makes writes fail or hang. */
function switchable(real: Storage): { storage: Storage; mode: { value: Mode }; release: () => void } {
  const mode = { value: 'ok' as Mode };
  let release: () => void = () => {};
  const storage: Storage = {
    info: real.info,
    hasBatch: (k) => real.hasBatch(k),
    write: async (rows) => {
      if (mode.value === 'down') throw new StorageUnavailableError('ClickHouse at 127.0.0.1:1 is unreachable (connection refused)');
      if (mode.value === 'hang') await new Promise<void>((r) => (release = r));
      return real.write(rows);
    },
    queryDrops: (f) => real.queryDrops(f),
    getDrop: (id) => real.getDrop(id),
    getDrops: (ids) => real.getDrops(ids),
    packetsOf: (id, n) => real.packetsOf(id, n),
    queryFlows: (f) => real.queryFlows(f),
    agents: () => real.agents(),
    enforceRetention: (now) => real.enforceRetention(now),
    close: () => real.close(),
  };
  return { storage, mode, release: () => release() };
}

let dir: string;
let real: Storage;
let app: FastifyInstance;
let control: ReturnType<typeof switchable>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pathwatch-faults-'));
  real = await openStorage(`embedded:${dir}`);
  control = switchable(real);
  const ingest = new BatchIngest(control.storage, { maxQueued: 2 });
  const hub = new DropEventHub();
  const alerts = new AlertRules();
  const answers: Record<string, number> = {};
  const storageUp = { value: true };
  const metrics = createCollectorMetrics({ ingest, hub, alerts, sender: undefined, answers, storageUp: () => storageUp.value });
  app = await buildCollectorApp({ storage: control.storage, ingest, hub, alerts, ingestToken: undefined, readToken: undefined, log: () => {}, answers, metrics: () => metrics, storageUp, storeTimeoutMs: 500 });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await real?.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = (sequence: number) =>
  app.inject({ method: 'POST', url: '/api/v1/ingest', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, payload: encoded(batch({ sequence, vanished: [rpfVanished()] })) });

/** Posts like an agent: again while the answer says "later". */
async function retried(sequence: number) {
  for (let attempt = 0; ; attempt++) {
    const res = await post(sequence);
    if ((res.statusCode !== 429 && res.statusCode !== 503) || attempt === 50) return res;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('ingest under storage faults', () => {
  it('answers 503 with Retry-After while the store is down, and stores the retry once when it is back', async () => {
    control.mode.value = 'down';
    const refused = await post(1);
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.json()).toEqual({ error: 'ClickHouse at 127.0.0.1:1 is unreachable (connection refused)' });
    expect((await app.inject('/healthz')).json()).toMatchObject({ storage: { up: false } });
    control.mode.value = 'ok';
    expect((await post(1)).json()).toEqual({ outcome: 'stored' });
    expect((await post(1)).json()).toEqual({ outcome: 'duplicate' });
    const drops = (await app.inject('/api/v1/drops')).json() as { drops: { packets: number }[] };
    expect(drops.drops.map((d) => d.packets)).toEqual([3]);
  });

  it('answers 503 when the store hangs past the timeout, 429 when the queue is full, and loses nothing', async () => {
    control.mode.value = 'hang';
    const slow = post(2);
    const queued = post(3);
    await new Promise((r) => setTimeout(r, 100));
    const overflow = await post(4);
    expect(overflow.statusCode, overflow.body).toBe(429);
    expect(overflow.headers['retry-after']).toBeDefined();
    expect((await slow).statusCode).toBe(503);
    control.mode.value = 'ok';
    control.release();
    expect((await queued).statusCode).toBe(503);
    // The hung writes finish after their 503s: agents' retries are recognised, not stored twice.
    expect((await retried(2)).json()).toEqual({ outcome: 'duplicate' });
    expect((await retried(3)).json()).toEqual({ outcome: 'duplicate' });
    expect((await retried(4)).json()).toEqual({ outcome: 'stored' });
    const drops = (await app.inject('/api/v1/drops')).json() as { drops: { packets: number }[] };
    expect(drops.drops.map((d) => d.packets)).toEqual([12]);
  });
});

describe('the queue bound in records', () => {
  it('refuses a batch that would pass it while others wait, takes a big one alone, and counts both ways', async () => {
    // Each group here is 2 records: the group and its packet sample.
    const ingest = new BatchIngest(control.storage, { maxQueued: 64, maxQueuedRecords: 20 });
    const checked = (sequence: number, groups: number) =>
      checkBatch(batch({ sequence, agent_id: 'records-bound', vanished: Array.from({ length: groups }, (_, i) => rpfVanished({ sport: 1000 + i, proto: 6, dport: 80 })) }), 'live', Date.now());
    control.mode.value = 'hang';
    try {
      // Alone, a batch over the bound is taken (or it could never be stored).
      const big = ingest.submit(checked(1, 12));
      expect(ingest.full).toBe(true);
      await expect(ingest.submit(checked(2, 1))).rejects.toBeInstanceOf(IngestOverloadedError);
      control.mode.value = 'ok';
      control.release();
      expect((await big).outcome).toBe('stored');
      control.mode.value = 'hang';
      const first = ingest.submit(checked(3, 6));
      await expect(ingest.submit(checked(4, 5))).rejects.toBeInstanceOf(IngestOverloadedError);
      const second = ingest.submit(checked(5, 4));
      expect(ingest.full).toBe(true);
      expect(ingest.stats.refusedOverloaded).toBe(2);
      control.mode.value = 'ok';
      control.release();
      expect((await first).outcome).toBe('stored');
      expect((await second).outcome).toBe('stored');
      expect(ingest.full).toBe(false);
    } finally {
      control.mode.value = 'ok';
      control.release();
    }
  });
});
