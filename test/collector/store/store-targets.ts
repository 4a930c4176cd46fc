/** The stores the contract runs against: chDB in temporary directories, databases on a ClickHouse server. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChdbExecutor } from '../../../collector/store/backends/chdb-executor.js';
import { ClickHouseExecutor } from '../../../collector/store/backends/clickhouse-executor.js';
import { qualified, render, sql, SqlIdentifier } from '../../../collector/store/sql/fragment.js';
import type { ProfileName } from '../../../collector/store/sql/profile-detect.js';
import { EMBEDDED_DATABASE, parseStoreSpec } from '../../../collector/store/store-spec.js';
import type { SqlExecutor } from '../../../collector/store/sql-executor.js';
import type { StoreUnderTest } from './storage-contract.js';

async function countMigrations(executor: SqlExecutor, database: string): Promise<number> {
  try {
    const rows = await executor.select(render(sql`SELECT count() AS n FROM ${qualified(database, 'schema_migrations')}`, 'inline'));
    return Number(rows[0]?.n);
  } finally {
    await executor.close();
  }
}

export function embeddedTarget(profile: ProfileName = 'current'): StoreUnderTest {
  return {
    expectedProfile: profile,
    ...(profile === 'legacy' ? { options: { forceProfile: 'legacy' } } : {}),
    fresh: async () => `embedded:${mkdtempSync(join(tmpdir(), 'pathwatch-store-test-'))}`,
    migrationRows: (spec) => countMigrations(ChdbExecutor.open(spec.slice('embedded:'.length)), EMBEDDED_DATABASE),
    raw: (spec) => ({ executor: ChdbExecutor.open(spec.slice('embedded:'.length)), database: EMBEDDED_DATABASE }),
    cleanup: async (spec) => rmSync(spec.slice('embedded:'.length), { recursive: true, force: true }),
  };
}

/** A database of its own per test on the server at `url` (clickhouse://user@host:port). */
export function serverTarget(url: string, expectedProfile: ProfileName): StoreUnderTest {
  const executorFor = (spec: string): { executor: ClickHouseExecutor; database: string } => {
    const parsed = parseStoreSpec(spec);
    if (parsed.kind !== 'clickhouse') throw new Error(`not a server spec: ${spec}`);
    const executor = new ClickHouseExecutor({ url: parsed.httpUrl, username: parsed.username, password: parsed.password, location: parsed.location });
    return { executor, database: parsed.database };
  };
  return {
    expectedProfile,
    fresh: async () => `${url.replace(/\/[^/]*$/, (tail) => (tail.includes(':') ? tail : ''))}/pathwatch_test_${randomBytes(6).toString('hex')}`,
    migrationRows: async (spec) => {
      const { executor, database } = executorFor(spec);
      return countMigrations(executor, database);
    },
    raw: executorFor,
    cleanup: async (spec) => {
      const { executor, database } = executorFor(spec);
      try {
        await executor.command(render(sql`DROP DATABASE IF EXISTS ${SqlIdentifier.of(database)}`, 'inline'));
      } finally {
        await executor.close();
      }
    },
  };
}

/** The server's profile by its version, as openStorage will detect it. */
export async function serverVersion(url: string): Promise<string> {
  const parsed = parseStoreSpec(url);
  if (parsed.kind !== 'clickhouse') throw new Error(`not a server spec: ${url}`);
  const executor = new ClickHouseExecutor({ url: parsed.httpUrl, username: parsed.username, password: parsed.password, location: parsed.location });
  try {
    const rows = await executor.select(render(sql`SELECT version() AS v`, 'inline'));
    return String(rows[0]?.v);
  } finally {
    await executor.close();
  }
}
