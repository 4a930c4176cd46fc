/**
 * Reads a collector's store directly, for checks the HTTP API has no endpoint for (which batch keys
 * were stored). Embedded stores are opened only after their
 * collector stopped: chDB holds one data directory per process.
 */
import { ChdbExecutor } from '../../collector/store/backends/chdb-executor.js';
import { ClickHouseExecutor } from '../../collector/store/backends/clickhouse-executor.js';
import type { SqlExecutor } from '../../collector/store/sql-executor.js';
import { EMBEDDED_DATABASE, parseStoreSpec } from '../../collector/store/store-spec.js';

export type Select = (sql: string) => Promise<Record<string, unknown>[]>;

/** Runs `read` with a SELECT function over STORE (`embedded:DIR` or `clickhouse://...`) and the database name. */
export async function readStore<T>(store: string, read: (select: Select, database: string) => Promise<T>): Promise<T> {
  const spec = parseStoreSpec(store);
  let executor: SqlExecutor;
  let database: string;
  if (spec.kind === 'embedded') {
    executor = ChdbExecutor.open(spec.dir);
    database = EMBEDDED_DATABASE;
  } else {
    executor = new ClickHouseExecutor({ url: spec.httpUrl, username: spec.username, password: spec.password, location: spec.location });
    database = spec.database;
  }
  try {
    return await read((text) => executor.select({ text, params: {} }), database);
  } finally {
    await executor.close();
  }
}

export interface StoredBatchKeys {
  readonly node: string;
  readonly agentId: string;
  readonly bootId: string;
  /** Every stored sequence, ascending, repeated if stored more than once (until a merge folds them). */
  readonly sequences: number[];
}

/** The batch keys the store recorded, per (agent, boot). */
export async function storedBatchKeys(select: Select, database: string): Promise<StoredBatchKeys[]> {
  const rows = await select(
    `SELECT node, agent_id, boot_id, toString(sequence) AS seq FROM ${database}.ingested_batches`,
  );
  const byBoot = new Map<string, StoredBatchKeys>();
  for (const r of rows) {
    const key = `${String(r['agent_id'])}/${String(r['boot_id'])}`;
    let entry = byBoot.get(key);
    if (entry === undefined) {
      entry = { node: String(r['node']), agentId: String(r['agent_id']), bootId: String(r['boot_id']), sequences: [] };
      byBoot.set(key, entry);
    }
    entry.sequences.push(Number(r['seq']));
  }
  for (const e of byBoot.values()) e.sequences.sort((a, b) => a - b);
  return [...byBoot.values()];
}

/** Sequences 1..n (a whole boot's batches, in order). */
export function oneTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}
