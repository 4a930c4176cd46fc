/**
 * The query path is read-only in the engine: SqlExecutor.selectReadOnly runs with ClickHouse's
 * `readonly = 2`, so a statement that tries to write or change the schema through it is refused by
 * the server (or chDB) itself, and the setting does not outlive the query (writes go on working).
 *
 * The server half needs PATHWATCH_CLICKHOUSE_URL (the test run starts Debian's 18.16 and sets it unless
 * one is given: test/setup/clickhouse-server.ts); under CI=true a missing URL fails, elsewhere it is
 * skipped with the reason.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbExecutor, readOnlyRefusal } from '../../../collector/store/backends/chdb-executor.js';
import { ClickHouseExecutor } from '../../../collector/store/backends/clickhouse-executor.js';
import { openStorage, StoreSpecError } from '../../../collector/store/open-storage.js';
import { qualified, render, sql, SqlIdentifier, SqlValue } from '../../../collector/store/sql/fragment.js';
import { parseStoreSpec } from '../../../collector/store/store-spec.js';
import type { SqlExecutor } from '../../../collector/store/sql-executor.js';
import { StorageUnavailableError } from '../../../collector/store/storage.js';
import { clickHouseUrlMissingReason } from '../../support/clickhouse-server.js';

const url = process.env.PATHWATCH_CLICKHOUSE_URL;
const inCi = process.env.CI === 'true';

/** A raw statement for the tests: the text as given, no parameters. */
const raw = (text: string) => ({ text, params: {} });

async function count(executor: SqlExecutor, table: string): Promise<number> {
  const rows = await executor.select(render(sql`SELECT count() AS n FROM ${qualified(...table.split('.'))}`, 'inline'));
  return Number(rows[0]?.n);
}

async function tables(executor: SqlExecutor, database: string): Promise<string[]> {
  const rows = await executor.select(render(sql`SELECT name FROM system.tables WHERE database = ${SqlValue.string(database)} ORDER BY name`, 'inline'));
  return rows.map((r) => String(r.name));
}

/**
 * What both backends must do with a table `database.t` holding one row: writes and DDL through the
 * query path refused with an error that says readonly, nothing changed, reads fine, and afterwards
 * the ordinary path still writes (the setting stayed with its query).
 */
function describeReadOnlyPath(
  name: string,
  setup: () => Promise<{ executor: SqlExecutor; database: string }>,
  teardown: () => Promise<void>,
  /** The INSERTs this backend's engine refuses as readonly (the table is `{t}`); other forms fail before that. */
  inserts: readonly string[],
): void {
  describe(name, () => {
    let executor: SqlExecutor;
    let database: string;
    let t: string;

    beforeAll(async () => {
      ({ executor, database } = await setup());
      t = `${database}.t`;
      await executor.command(render(sql`CREATE DATABASE IF NOT EXISTS ${SqlIdentifier.of(database)}`, 'inline'));
      await executor.command(render(sql`CREATE TABLE ${qualified(database, 't')} (x UInt32) ENGINE = MergeTree ORDER BY x`, 'inline'));
      await executor.insert(database, 't', [{ x: 1 }]);
    }, 60_000);

    afterAll(teardown);

    it('refuses writes and DDL in the engine, with a readonly error', async () => {
      const attempts = [
        ...inserts.map((text) => text.replace('{t}', t)),
        `CREATE TABLE ${database}.u (x UInt32) ENGINE = MergeTree ORDER BY x`,
        `DROP TABLE ${t}`,
        `ALTER TABLE ${t} DELETE WHERE 1`,
        `ALTER TABLE ${t} ADD COLUMN y UInt8`,
        `RENAME TABLE ${t} TO ${database}.v`,
        `TRUNCATE TABLE ${t}`,
      ];
      for (const text of attempts) {
        const error = await executor.selectReadOnly(raw(text)).catch((e: unknown) => e);
        expect(error, text).toBeInstanceOf(StorageUnavailableError);
        expect((error as Error).message, text).toMatch(/readonly|read-only/i);
        expect((error as Error).message).not.toContain('\n');
      }
      expect(await count(executor, t)).toBe(1);
      expect(await tables(executor, database)).toEqual(['t']);
    });

    it('refuses an INSERT with inline data', async () => {
      for (const text of [`INSERT INTO ${t} VALUES (3)`, `INSERT INTO ${t} FORMAT JSONEachRow {"x":4}`]) {
        await expect(executor.selectReadOnly(raw(text)), text).rejects.toBeInstanceOf(StorageUnavailableError);
      }
      expect(await count(executor, t)).toBe(1);
    });

    it('reads', async () => {
      const rows = await executor.selectReadOnly(render(sql`SELECT x FROM ${qualified(database, 't')} WHERE x = ${SqlValue.integer('UInt32', 1)}`, 'inline'));
      expect(rows).toEqual([{ x: 1 }]);
    });

    it('leaves the ordinary path writable: the setting ends with its query', async () => {
      await executor.selectReadOnly(raw(`SELECT count() FROM ${t}`));
      await executor.insert(database, 't', [{ x: 5 }]);
      await executor.command(raw(`CREATE TABLE ${database}.w (x UInt32) ENGINE = MergeTree ORDER BY x`));
      expect(await count(executor, t)).toBe(2);
      expect(await tables(executor, database)).toEqual(['t', 'w']);
    });
  });
}

// chDB: the setting travels as the statement's SETTINGS clause (chdb-executor.ts).
{
  let dir = '';
  let chdb: ChdbExecutor | undefined;
  describeReadOnlyPath(
    'embedded (chDB) query path',
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'pathwatch-readonly-'));
      chdb = ChdbExecutor.open(dir);
      return { executor: chdb, database: 'ro_test' };
    },
    async () => {
      await chdb?.close();
      rmSync(dir, { recursive: true, force: true });
    },
    // INSERT ... VALUES/FORMAT are refused before chDB sees them (the next test).
    ['INSERT INTO {t} SELECT 2'],
  );

  describe('embedded (chDB) query path: texts a trailing SETTINGS clause would not cover', () => {
    it('refuses several statements and inline data, whatever the case', () => {
      expect(readOnlyRefusal('SELECT 1; DROP TABLE t')).toBe('more than one statement');
      expect(readOnlyRefusal('SELECT 1;')).toBe('more than one statement');
      expect(readOnlyRefusal('insert into t values (1)')).toBe('inline data (VALUES)');
      expect(readOnlyRefusal('INSERT INTO t Format TSV')).toBe('inline data (FORMAT)');
      expect(readOnlyRefusal("INSERT INTO t FROM INFILE '/x'")).toBe('inline data (INFILE)');
      // A block comment is taken as not nesting: what follows its first */ counts.
      expect(readOnlyRefusal('SELECT /* /* */ ; */ 1')).toBe('more than one statement');
    });

    it('looks past string literals, quoted identifiers and comments', () => {
      expect(readOnlyRefusal("SELECT 'a; VALUES \\' ; FORMAT' AS s, `values` FROM t -- ; values\nWHERE x = 1 /* ; format */")).toBeUndefined();
      expect(readOnlyRefusal('SELECT "format", x FROM t WHERE s = {p0:String} LIMIT {p1:UInt32}')).toBeUndefined();
      // Not a comment in every ClickHouse: counted.
      expect(readOnlyRefusal('SELECT 1 # ; x')).toBe('more than one statement');
    });
  });
}

if (url) {
  const parsed = parseStoreSpec(url);
  if (parsed.kind !== 'clickhouse') throw new Error(`PATHWATCH_CLICKHOUSE_URL is not clickhouse://: ${url}`);
  const database = `pathwatch_ro_${randomBytes(6).toString('hex')}`;
  const server = (): ClickHouseExecutor => new ClickHouseExecutor({ url: parsed.httpUrl, username: parsed.username, password: parsed.password, location: parsed.location });
  let executor: ClickHouseExecutor | undefined;
  describeReadOnlyPath(
    `ClickHouse server query path (${url})`,
    async () => {
      executor = server();
      return { executor, database };
    },
    async () => {
      await executor?.command(raw(`DROP DATABASE IF EXISTS ${database}`));
      await executor?.close();
    },
    // INSERT ... SELECT fails to parse on the way (the client appends FORMAT JSONEachRow to a query).
    ['INSERT INTO {t} VALUES (2)', 'INSERT INTO {t} FORMAT JSONEachRow {"x":2}'],
  );

  describe('ClickHouse server: a separate user for the query path (--read-store)', () => {
    const spec = `${url.replace(/\/[^/:]*$/, (tail) => (tail.includes(':') ? tail : ''))}/${database}_store`;

    afterAll(async () => {
      const e = server();
      await e.command(raw(`DROP DATABASE IF EXISTS ${database}_store`)).finally(() => e.close());
    });

    it('opens with a read store on the same database, and says where the queries run', async () => {
      // CI's server has only the default user: the same credentials stand in for a reader here.
      const storage = await openStorage(spec, { readStore: spec });
      try {
        expect(storage.info.readLocation).toBe((parseStoreSpec(spec) as { location: string }).location);
        expect(await storage.queryDrops({ limit: 10 })).toEqual([]);
        expect(await storage.hasBatch({ agentId: 'a', bootId: 'b', sequence: 1 })).toBe(false);
      } finally {
        await storage.close();
      }
    });

    it('a read store that cannot log in fails the start with one line', async () => {
      const wrong = spec.replace(/^clickhouse:\/\/[^@]*@/, 'clickhouse://no_such_reader:pw@');
      const error = await openStorage(spec, { readStore: wrong }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageUnavailableError);
      expect((error as Error).message).toContain('no_such_reader@');
      expect((error as Error).message).not.toContain(':pw@');
      expect((error as Error).message).not.toContain('\n');
    });
  });
} else if (inCi) {
  it('has a ClickHouse server to test the read-only query path against', () => {
    throw new Error(`CI=true but ${clickHouseUrlMissingReason()}`);
  });
} else {
  it.skip(`server read-only query path skipped: ${clickHouseUrlMissingReason()}`, () => {});
}

describe('--read-store without a server', () => {
  it('is refused for the embedded store, and for another database', async () => {
    await expect(openStorage('embedded:/nonexistent/never', { readStore: 'clickhouse://r@127.0.0.1:1/pathwatch' })).rejects.toBeInstanceOf(StoreSpecError);
    await expect(openStorage('clickhouse://w@127.0.0.1:1/pathwatch', { readStore: 'clickhouse://r@127.0.0.1:1/other' })).rejects.toThrow(/must be the same/);
  });
});
