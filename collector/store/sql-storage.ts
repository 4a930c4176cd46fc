/**
 * The Storage both backends share: the SQL (sql/), run through a backend's SqlExecutor. Opening detects
 * the profile from the server's version, creates the database and applies pending migrations.
 *
 * Every query that serves the API (and the ingest's dedup lookup) goes through the query path:
 * SqlExecutor.selectReadOnly, where ClickHouse's readonly setting makes the engine refuse writes and
 * DDL; optionally over a connection of its own (a read-only ClickHouse user, `--read-store`).
 */
import { randomUUID } from 'node:crypto';
import { render, type RenderMode, type SqlFragment, type Statement } from './sql/fragment.js';
import { detectProfile, type ProfileName } from './sql/profile-detect.js';
import { MS_PER_DAY, numberField, profileNamed, stringField, type JsonRow, type SqlProfile } from './sql/profiles.js';
import { RowCodec } from './sql/row-codec.js';
import {
  createDatabase,
  createMigrationsTable,
  MIGRATIONS,
  RETAINED_TABLES,
  STORED_AT,
  type SchemaContext,
} from './sql/schema.js';
import { DROP_IDS_PER_QUERY, SERVER_VERSION, Statements } from './sql/statements.js';
import { mapInSlices } from './backends/json-each-row.js';
import type { SqlExecutor } from './sql-executor.js';
import type {
  BatchKey,
  DropFilter,
  FlowFilter,
  IngestWrite,
  Storage,
  StorageInfo,
  StoredAgentStatus,
  StoredDrop,
  StoredFlow,
  StoredPacket,
} from './storage.js';

export interface SqlStorageOptions {
  readonly backend: StorageInfo['backend'];
  readonly database: string;
  readonly retentionDays: number;
  /** Tests only: run a profile other than the detected one (the legacy SQL against chDB). */
  readonly forceProfile?: ProfileName;
  /** Where the time comes from (tests move it). */
  readonly nowMs?: () => number;
  /** The query path's own connection (another ClickHouse user on the same server); default the executor. */
  readonly reader?: SqlExecutor;
}

const RETENTION_SETTING = 'retention_days';

export class SqlStorage implements Storage {
  readonly info: StorageInfo;
  private readonly statements: Statements;
  private readonly codec: RowCodec;
  /** Where the query path runs: options.reader, else the executor. */
  private readonly reader: SqlExecutor;
  private closed = false;

  private constructor(
    private readonly executor: SqlExecutor,
    private readonly profile: SqlProfile,
    private readonly options: SqlStorageOptions,
    serverVersion: string,
  ) {
    this.reader = options.reader ?? executor;
    this.info = {
      backend: options.backend,
      serverVersion,
      profile: profile.name,
      location: executor.location,
      ...(options.reader ? { readLocation: options.reader.location } : {}),
    };
    this.statements = new Statements(this.context());
    this.codec = new RowCodec(profile);
  }

  /** Opens over an executor; closes the executor again when opening fails. */
  static async open(executor: SqlExecutor, options: SqlStorageOptions): Promise<SqlStorage> {
    try {
      checkRetentionDays(options.retentionDays);
      const versionRows = await executor.select(render(SERVER_VERSION, 'inline'));
      const serverVersion = stringField(versionRows[0] ?? {}, 'version');
      const profile = profileNamed(options.forceProfile ?? detectProfile(serverVersion));
      const storage = new SqlStorage(executor, profile, options, serverVersion);
      await storage.migrate();
      await storage.applyRetentionTtl();
      // The query path works (the reader's credentials, the readonly setting) before anything is served.
      await storage.reader.selectReadOnly(storage.query(storage.statements.appliedMigrations()));
      return storage;
    } catch (error) {
      await executor.close().catch(() => undefined);
      await options.reader?.close().catch(() => undefined);
      throw error;
    }
  }

  private context(): SchemaContext {
    return { profile: this.profile, database: this.options.database };
  }

  private now(): number {
    return (this.options.nowMs ?? Date.now)();
  }

  /** Statements with values: placeholders where the server binds them, literals on legacy. */
  private query(fragment: SqlFragment): Statement {
    return render(fragment, this.profile.renderMode);
  }

  /** DDL and ALTER: servers take no parameters there, and these hold only checked integers. */
  private ddl(fragment: SqlFragment): Statement {
    return render(fragment, 'inline' satisfies RenderMode);
  }

  private async migrate(): Promise<void> {
    const ctx = this.context();
    await this.executor.command(this.ddl(createDatabase(ctx)));
    await this.executor.command(this.ddl(createMigrationsTable(ctx)));
    const applied = new Set(
      (await this.executor.select(this.query(this.statements.appliedMigrations()))).map((r) => numberField(r, 'version')),
    );
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.statements(ctx)) {
        try {
          await this.executor.command(this.ddl(statement));
        } catch (e) {
          if (!migration.alreadyApplied?.test((e as Error).message)) throw e;
        }
      }
      await this.executor.insert(this.options.database, 'schema_migrations', [
        { version: migration.version, name: migration.name, applied_at_ms: this.now() },
      ]);
    }
  }

  /**
   * Current profile: each data table's TTL follows the configured retention. The ALTER only runs when
   * the retention differs from the one last applied (a changed retention also rewrites old parts to the
   * new TTL, which is what a longer or shorter retention should mean).
   */
  private async applyRetentionTtl(): Promise<void> {
    if (!this.profile.hasTtl) return;
    const rows = await this.executor.select(this.query(this.statements.setting(RETENTION_SETTING)));
    const wanted = String(this.options.retentionDays);
    if (rows.length > 0 && stringField(rows[0]!, 'value') === wanted) return;
    for (const table of RETAINED_TABLES) {
      await this.executor.command(this.ddl(this.statements.modifyTtl(table, STORED_AT, this.options.retentionDays)));
    }
    await this.executor.insert(this.options.database, 'store_settings', [
      { name: RETENTION_SETTING, value: wanted, updated_at_ms: this.now() },
    ]);
  }

  async hasBatch(key: BatchKey): Promise<boolean> {
    return (await this.reader.selectReadOnly(this.query(this.statements.hasBatch(key)))).length > 0;
  }

  /**
   * Rows first, the batch key last: a write that fails half way leaves the batch unrecorded, so the
   * agent's retry stores it again (flows of the failed attempt may then be stored twice; drop events
   * and agent status are versioned and are not).
   */
  async write(rows: IngestWrite): Promise<void> {
    // Encoding checks every row before anything is inserted: a bad row rejects the whole write.
    const storedAt = this.profile.encodeTime(this.now());
    const stamped = <T>(items: readonly T[], encode: (item: T) => JsonRow): Promise<JsonRow[]> =>
      mapInSlices(items, (item) => ({ ...encode(item), [STORED_AT]: storedAt }));
    // The batch's key makes a retried write's flow rows recognisable (queries keep one per row).
    const batchKey = rows.batch ? `${rows.batch.agentId}|${rows.batch.bootId}|${rows.batch.sequence}` : randomUUID();
    const flows = await stamped(
      rows.flows.map((f, i) => ({ f, i })),
      ({ f, i }) => ({ ...this.codec.flowRow(f), batch_key: batchKey, batch_row: i }),
    );
    const drops = await stamped(rows.drops, (d) => this.codec.dropRow(d));
    const packets = await stamped(rows.packets, (p) => this.codec.packetRow(p));
    const agent = await stamped(rows.agentStatus ? [rows.agentStatus] : [], (a) => this.codec.agentRow(a));
    const batch = await stamped(rows.batch ? [rows.batch] : [], (b) => this.codec.batchRow(b));
    const db = this.options.database;
    await this.executor.insert(db, 'flows', flows);
    await this.executor.insert(db, 'packets', packets);
    await this.executor.insert(db, 'drops', drops);
    await this.executor.insert(db, 'agent_status', agent);
    await this.executor.insert(db, 'ingested_batches', batch);
  }

  async queryDrops(filter: DropFilter): Promise<StoredDrop[]> {
    const rows = await this.reader.selectReadOnly(this.query(this.statements.queryDrops(filter)));
    return rows.map((r) => this.codec.dropFromRow(r));
  }

  async getDrop(id: string): Promise<StoredDrop | undefined> {
    const rows = await this.reader.selectReadOnly(this.query(this.statements.getDrop(id)));
    return rows.length === 0 ? undefined : this.codec.dropFromRow(rows[0]!);
  }

  /** One read per DROP_IDS_PER_QUERY distinct ids (or fewer, for unusually long ids). */
  async getDrops(ids: readonly string[]): Promise<Map<string, StoredDrop>> {
    const found = new Map<string, StoredDrop>();
    for (const chunk of idChunks([...new Set(ids)])) {
      const rows = await this.reader.selectReadOnly(this.query(this.statements.getDrops(chunk)));
      for (const row of rows) {
        const drop = this.codec.dropFromRow(row);
        found.set(drop.event.id, drop);
      }
    }
    return found;
  }

  async packetsOf(dropId: string, limit: number): Promise<StoredPacket[]> {
    const rows = await this.reader.selectReadOnly(this.query(this.statements.packetsOf(dropId, limit)));
    return rows.map((r) => this.codec.packetFromRow(r));
  }

  async queryFlows(filter: FlowFilter): Promise<StoredFlow[]> {
    const rows = await this.reader.selectReadOnly(this.query(this.statements.queryFlows(filter)));
    return rows.map((r) => this.codec.flowFromRow(r));
  }

  async agents(): Promise<StoredAgentStatus[]> {
    const rows = await this.reader.selectReadOnly(this.query(this.statements.agents()));
    return rows.map((r) => this.codec.agentFromRow(r));
  }

  /**
   * Drops every day partition (by stored_at) that ended before now - retention, on both profiles. Whole
   * days keep it cheap (no row rewriting) and work on 18.16; data is therefore kept up to one day past
   * the retention. On the current profile the TTL removes expired rows in the background as well.
   */
  async enforceRetention(nowMs: number): Promise<void> {
    const firstKeptDay = Math.floor((nowMs - this.options.retentionDays * MS_PER_DAY) / MS_PER_DAY);
    for (const table of RETAINED_TABLES) {
      const rows = await this.executor.select(this.query(this.statements.partitions(table)));
      for (const row of rows) {
        const partition = stringField(row, 'partition');
        // Partition keys are day numbers (schema.ts); anything else is not ours to drop.
        if (!/^\d{1,9}$/.test(partition)) continue;
        const day = Number(partition);
        if (day < firstKeptDay) await this.executor.command(this.ddl(this.statements.dropPartition(table, day)));
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.executor.close();
    } finally {
      if (this.reader !== this.executor) await this.reader.close();
    }
  }
}

/** Characters of ids per getDrops statement: keeps a list of very long ids within the query limits too. */
const ID_CHARS_PER_QUERY = 64 * 1024;

/** `ids` in order, in slices of at most DROP_IDS_PER_QUERY ids and (past the first id) ID_CHARS_PER_QUERY characters. */
function idChunks(ids: readonly string[]): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let chars = 0;
  for (const id of ids) {
    if (current.length > 0 && (current.length === DROP_IDS_PER_QUERY || chars + id.length > ID_CHARS_PER_QUERY)) {
      chunks.push(current);
      current = [];
      chars = 0;
    }
    current.push(id);
    chars += id.length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * At most ten years: a TTL is a DateTime, which ends in 2106, and a stored_at + retention past that wraps
 * around to an expired time, so ClickHouse would delete the rows as they are inserted.
 */
export const MAX_RETENTION_DAYS = 3650;

export function checkRetentionDays(days: number): void {
  if (!Number.isSafeInteger(days) || days < 1 || days > MAX_RETENTION_DAYS) {
    throw new RangeError(`retention must be 1 to ${MAX_RETENTION_DAYS} days, not ${days}`);
  }
}
