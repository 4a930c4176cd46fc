/**
 * The tables, as versioned migrations. Each migration runs once per database (recorded in
 * schema_migrations) and only uses IF NOT EXISTS statements, so one interrupted half way is simply run
 * again. New migrations are appended with the next version; released ones are never edited.
 *
 * Every data table has `stored_at`, the collector's clock when the row was written, and is partitioned
 * by its UTC day: retention drops whole days (SqlStorage.enforceRetention), and on the current profile
 * the same column drives the TTL. Retention follows when data was stored, not the time inside it: a
 * replay of last month's capture must be kept like live data, not expire (or, with a TTL, vanish at
 * insert) because its packets are old.
 */
import { qualified, sql, SqlIdentifier, type SqlFragment } from './fragment.js';
import type { SqlProfile } from './profiles.js';

export interface SchemaContext {
  readonly profile: SqlProfile;
  readonly database: string;
}

export interface Migration {
  readonly version: number;
  readonly name: string;
  statements(ctx: SchemaContext): SqlFragment[];
  /**
   * A statement failing with this message ran before (an interrupted migration run again): ADD
   * COLUMN has no IF NOT EXISTS on ClickHouse 18.16.
   */
  readonly alreadyApplied?: RegExp;
}

/** The tables whose rows age out, each by its stored_at column. */
export const RETAINED_TABLES: readonly string[] = ['ingested_batches', 'flows', 'drops', 'packets', 'agent_status'];
export const STORED_AT = 'stored_at';

export function createDatabase(ctx: SchemaContext): SqlFragment {
  return sql`CREATE DATABASE IF NOT EXISTS ${SqlIdentifier.of(ctx.database)}`;
}

export function createMigrationsTable(ctx: SchemaContext): SqlFragment {
  return sql`CREATE TABLE IF NOT EXISTS ${qualified(ctx.database, 'schema_migrations')} (
    version UInt32,
    name String,
    applied_at_ms UInt64
  ) ENGINE = MergeTree ORDER BY version`;
}

function initialTables({ profile: p, database }: SchemaContext): SqlFragment[] {
  const lc = p.lowCardinalityString;
  const time = (column: string): SqlFragment => sql`${SqlIdentifier.of(column)} ${p.timeType}${p.codec('time')}`;
  const byStoredDay = sql`PARTITION BY ${p.dayNumber(STORED_AT)}`;
  return [
    // One row per agent POST stored: a retried batch with the same key is recognised (hasBatch).
    sql`CREATE TABLE IF NOT EXISTS ${qualified(database, 'ingested_batches')} (
      agent_id String,
      boot_id String,
      sequence UInt64,
      node ${lc},
      ${time('received_at')},
      ${time(STORED_AT)}
    ) ENGINE = ReplacingMergeTree
    ${byStoredDay}
    ORDER BY (agent_id, boot_id, sequence)`,

    sql`CREATE TABLE IF NOT EXISTS ${qualified(database, 'flows')} (
      node ${lc},
      iface ${lc},
      direction ${lc},
      ${p.addressColumns('src')},
      ${p.addressColumns('dst')},
      proto UInt8,
      sport UInt16,
      dport UInt16,
      encap ${lc},
      outer_src String,
      outer_dst String,
      vni Int32,
      packets UInt64${p.codec('counter')},
      bytes UInt64${p.codec('counter')},
      ${time('first_seen')},
      ${time('last_seen')},
      source ${lc},
      ${time(STORED_AT)}
    ) ENGINE = MergeTree
    ${byStoredDay}
    ORDER BY (node, last_seen)`,

    // Every state of a drop event is a row; the newest updated_at_ms wins. ReplacingMergeTree folds old
    // states away in the background (within a partition); queries never rely on that and pick the
    // newest row per id themselves (statements.ts), which is also right across day partitions.
    sql`CREATE TABLE IF NOT EXISTS ${qualified(database, 'drops')} (
      id String,
      node ${lc},
      iface ${lc},
      ${p.addressColumns('src')},
      ${p.addressColumns('dst')},
      proto ${lc},
      sport Nullable(UInt16),
      dport Nullable(UInt16),
      packets UInt64,
      ${time('first_seen')},
      ${time('last_seen')},
      verdict ${lc},
      confidence ${lc},
      evidence_json String${p.codec('text')},
      remedy String${p.codec('text')},
      path_json String${p.codec('text')},
      source ${lc},
      updated_at_ms UInt64,
      ${time(STORED_AT)}
    ) ENGINE = ReplacingMergeTree(updated_at_ms)
    ${byStoredDay}
    ORDER BY id`,

    // Packet bytes as base64: JSONEachRow strings are Unicode, so raw bytes would not survive the trip.
    sql`CREATE TABLE IF NOT EXISTS ${qualified(database, 'packets')} (
      drop_id String,
      node ${lc},
      iface ${lc},
      ${time('ts')},
      link_type UInt16,
      orig_len UInt32,
      bytes_base64 String${p.codec('text')},
      ${time(STORED_AT)}
    ) ENGINE = MergeTree
    ${byStoredDay}
    ORDER BY (drop_id, ts)`,

    sql`CREATE TABLE IF NOT EXISTS ${qualified(database, 'agent_status')} (
      agent_id String,
      node ${lc},
      boot_id String,
      ${time('last_batch')},
      status_json String${p.codec('text')},
      ${time(STORED_AT)}
    ) ENGINE = MergeTree
    ${byStoredDay}
    ORDER BY (agent_id, last_batch)`,

    // Settings the store itself applied (the retention its TTLs were set for).
    sql`CREATE TABLE IF NOT EXISTS ${qualified(database, 'store_settings')} (
      name String,
      value String,
      updated_at_ms UInt64
    ) ENGINE = ReplacingMergeTree(updated_at_ms)
    ORDER BY name`,
  ];
}

/**
 * Flow rows carry the batch that brought them (agent, boot, sequence; a random key for a replay) and
 * their place in it: ClickHouse has no transactions, so a batch whose write failed after its flows
 * were inserted is stored again by the agent's retry, and queries keep one row per (batch, row).
 */
function flowBatchKeys({ database }: SchemaContext): SqlFragment[] {
  return [
    sql`ALTER TABLE ${qualified(database, 'flows')} ADD COLUMN batch_key String DEFAULT ''`,
    sql`ALTER TABLE ${qualified(database, 'flows')} ADD COLUMN batch_row UInt32 DEFAULT 0`,
  ];
}

/** Drop states remember the batch that added to them last (see StoredDrop.lastBatch). */
function dropLastBatch({ database }: SchemaContext): SqlFragment[] {
  return [sql`ALTER TABLE ${qualified(database, 'drops')} ADD COLUMN last_batch String DEFAULT ''`];
}

/**
 * Drop states carry the kernel's own word on their packets (DropEvent.kernel): its drop reason, ''
 * when no kernel drop event matched them, and how many packets had one. Rows stored before read as
 * '' and 0, which is what they meant: no kernel drop event was matched by fingerprint then.
 */
function dropKernel({ profile: p, database }: SchemaContext): SqlFragment[] {
  return [
    sql`ALTER TABLE ${qualified(database, 'drops')} ADD COLUMN kernel_reason ${p.lowCardinalityString} DEFAULT ''`,
    sql`ALTER TABLE ${qualified(database, 'drops')} ADD COLUMN kernel_packets UInt64 DEFAULT 0`,
  ];
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial tables', statements: initialTables },
  { version: 2, name: 'flow rows keyed by their batch', statements: flowBatchKeys, alreadyApplied: /already exists|DUPLICATE_COLUMN/i },
  { version: 3, name: 'drop states remember their last batch', statements: dropLastBatch, alreadyApplied: /already exists|DUPLICATE_COLUMN/i },
  { version: 4, name: 'drop states carry the kernel drop reason', statements: dropKernel, alreadyApplied: /already exists|DUPLICATE_COLUMN/i },
];
