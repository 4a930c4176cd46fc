/**
 * Fault, made deterministic: the collector dies in the middle of storing one batch. A batch is
 * written as several inserts (the store is not transactional); a SIGKILL can fall between any two.
 * Here the embedded store's executor stops executing inserts after the first k of them (k = 0 ..
 * all), which is what the store holds when the process dies right there; then a fresh collector
 * (new storage, new ingest, same directory) receives the agent's retry of that batch. Whatever k,
 * the batch must end up stored exactly once: its vanished packets counted once in the drop event
 * (and in the kernel's summary of it: every packet of these groups had its kernel drop event),
 * its flow rows and packet samples present once, its key recorded.
 *
 * test/faults/collector-kill.test.ts does the same with real processes and SIGKILL; this one tries
 * every cut point, in a second, without root.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WireDirection, type WireFlowRecord } from '../../schemas/wire-types.js';
import { dropEventId } from '../../core/explain/drop-event.js';
import { BatchIngest, checkBatch } from '../../collector/ingest/batch-ingest.js';
import { ChdbExecutor } from '../../collector/store/backends/chdb-executor.js';
import { SqlStorage } from '../../collector/store/sql-storage.js';
import type { SqlExecutor } from '../../collector/store/sql-executor.js';
import { EMBEDDED_DATABASE } from '../../collector/store/store-spec.js';
import { T0, batch, rpfVanished } from '../support/wire-batches.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The process "dies" after `limit` more inserts: later inserts fail without touching the store. */
interface Cut {
  limit: number | undefined;
  done: number;
  tables: string[];
}

/** The real executor, with inserts cut off once the cut's limit is reached. */
function cuttable(real: SqlExecutor, cut: Cut): SqlExecutor {
  return new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'insert') {
        return async (database: string, table: string, rows: readonly unknown[]) => {
          if (rows.length > 0 && cut.limit !== undefined) {
            if (cut.done >= cut.limit) throw new Error(`killed before the insert into ${table}`);
            cut.done++;
            cut.tables.push(table);
          }
          return (target.insert as (d: string, t: string, r: readonly unknown[]) => Promise<void>).call(target, database, table, rows as never);
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function open(dir: string, cut: Cut): Promise<SqlStorage> {
  return SqlStorage.open(cuttable(ChdbExecutor.open(dir), cut), { backend: 'embedded', database: EMBEDDED_DATABASE, retentionDays: 7 });
}

const flow: WireFlowRecord = {
  iface: 'eth0',
  direction: WireDirection.DIRECTION_IN,
  src: Uint8Array.from([100, 64, 0, 1]),
  dst: Uint8Array.from([10, 91, 1, 130]),
  proto: 6,
  sport: 40000,
  dport: 80,
  encap: 'none',
  vni: -1,
  packets: 7,
  bytes: 420,
  first_seen_ms: T0 + 3000,
  last_seen_ms: T0 + 4000,
};

/** The first batch (stored cleanly) and the one the collector dies storing. */
const first = batch({ sequence: 1, vanished: [rpfVanished({ packets: 3 })] });
const second = batch({ sequence: 2, flows: [flow], vanished: [rpfVanished({ packets: 5, first_seen_ms: T0 + 3000 })] });
const dropId = dropEventId({ node: 'n2', iface: 'tunl0', src: '100.64.0.1', dst: '10.91.1.130', proto: 'icmp', sport: null, dport: null });

interface Outcome {
  readonly cutAfter: string;
  readonly dropPackets: number | undefined;
  readonly kernelPackets: number | undefined;
  readonly flowRows: number;
  readonly packetSamples: number;
  readonly keyStored: boolean;
}

async function dieStoringSecondBatch(cutAfter: number): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'pw-fault-cut-'));
  dirs.push(dir);
  const cut: Cut = { limit: undefined, done: 0, tables: [] };
  const before = await open(dir, cut);
  try {
    const ingest = new BatchIngest(before);
    await ingest.submit(checkBatch(first, 'live', T0 + 10_000));
    cut.limit = cutAfter;
    await ingest.submit(checkBatch(second, 'live', T0 + 20_000)).catch(() => undefined); // never acknowledged
  } finally {
    await before.close(); // the process is gone; its chDB session with it
  }
  const written = cut.tables.slice();
  const after = await open(dir, { limit: undefined, done: 0, tables: [] });
  try {
    // The agent retries the unacknowledged batch against the restarted collector.
    await new BatchIngest(after).submit(checkBatch(second, 'live', T0 + 30_000));
    const flows = await after.queryFlows({ limit: 1000 });
    return {
      cutAfter: written.length === 0 ? 'nothing written' : `written: ${written.join(', ')}`,
      dropPackets: (await after.getDrop(dropId))?.event.packets,
      kernelPackets: (await after.getDrop(dropId))?.event.kernel?.packets,
      flowRows: flows.length,
      packetSamples: (await after.packetsOf(dropId, 1000)).length,
      keyStored: await after.hasBatch({ agentId: second.agent_id, bootId: second.boot_id, sequence: 2 }),
    };
  } finally {
    await after.close();
  }
}

describe('fault: the collector dies between the inserts of one batch', () => {
  it('stores the retried batch exactly once, wherever the cut falls', async () => {
    // Count the inserts one batch takes (flows, packets, drops, agent status, batch key today).
    const probe = await dieStoringSecondBatch(Number.MAX_SAFE_INTEGER);
    const inserts = probe.cutAfter.split(',').length;
    const outcomes: Outcome[] = [];
    for (let k = 0; k <= inserts; k++) outcomes.push(await dieStoringSecondBatch(k));
    const expected = { dropPackets: 8, kernelPackets: 8, flowRows: 1, packetSamples: 2, keyStored: true };
    const wrong = outcomes.filter((o) => o.dropPackets !== 8 || o.kernelPackets !== 8 || o.flowRows !== 1 || o.packetSamples !== 2 || !o.keyStored);
    expect(
      wrong,
      `after the retry the store must hold the batch once (${JSON.stringify(expected)}); where the cut fell it does not:\n` +
        wrong.map((o) => `  ${o.cutAfter}: drop packets ${o.dropPackets}, kernel packets ${o.kernelPackets}, flow rows ${o.flowRows}, packet samples ${o.packetSamples}, key ${o.keyStored}`).join('\n'),
    ).toEqual([]);
  }, 60_000);
});
