/**
 * Every query the store runs, written once for both profiles. Values only enter as SqlValue (bound or
 * re-formatted by the profile); the profile supplies what differs (times, addresses).
 */
import type { BatchKey, DropFilter, FlowFilter } from '../storage.js';
import { joinSql, qualified, sql, SqlValue, valueList, type SqlFragment } from './fragment.js';
import type { SqlProfile } from './profiles.js';
import type { SchemaContext } from './schema.js';

const str = (value: string): SqlValue => SqlValue.string(value);
const u32 = (value: number): SqlValue => SqlValue.integer('UInt32', value);

function where(conditions: readonly SqlFragment[]): SqlFragment {
  return conditions.length === 0 ? sql`` : sql`WHERE ${joinSql(conditions, ' AND ')}`;
}

function checkedLimit(limit: number): SqlValue {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, not ${limit}`);
  return u32(limit);
}

/**
 * The most ids one getDrops statement asks for: each is a placeholder (bound: a URL parameter on the
 * HTTP backend) or a literal (legacy), so the text and the request stay far below ClickHouse's limits
 * (max_query_size 256 KiB, 1 MiB of URI) for ids of any sane length. The storage splits longer lists.
 */
export const DROP_IDS_PER_QUERY = 1000;

/** Asked before the profile is known: it names no table and no value, so it renders alike everywhere. */
export const SERVER_VERSION: SqlFragment = sql`SELECT version() AS version`;

export class Statements {
  private readonly p: SqlProfile;
  private readonly db: string;

  constructor(ctx: SchemaContext) {
    this.p = ctx.profile;
    this.db = ctx.database;
  }

  table(name: string): SqlFragment {
    return qualified(this.db, name);
  }

  appliedMigrations(): SqlFragment {
    return sql`SELECT DISTINCT version FROM ${this.table('schema_migrations')}`;
  }

  hasBatch(key: BatchKey): SqlFragment {
    return sql`SELECT 1 AS found FROM ${this.table('ingested_batches')}
      WHERE agent_id = ${str(key.agentId)} AND boot_id = ${str(key.bootId)}
        AND sequence = ${SqlValue.integer('UInt64', key.sequence)}
      LIMIT 1`;
  }

  /** Columns of a drop row as rowToDrop reads them. */
  private dropColumns(): SqlFragment {
    const p = this.p;
    return sql`id, node, iface, ${p.addressSelect('src')}, ${p.addressSelect('dst')}, proto, sport, dport, packets,
      ${p.timeMs('first_seen')} AS first_seen_ms, ${p.timeMs('last_seen')} AS last_seen_ms,
      verdict, confidence, evidence_json, remedy, path_json, source, updated_at_ms, last_batch, kernel_reason, kernel_packets`;
  }

  /**
   * The newest state of each matching drop event. node/src/dst are part of a drop's identity, so they
   * can narrow the rows before the newest state is picked; the time window must look at the newest
   * state only (an older state inside the window must not stand in for a newer one outside it).
   */
  queryDrops(filter: DropFilter): SqlFragment {
    const p = this.p;
    const identity: SqlFragment[] = [];
    if (filter.node !== undefined) identity.push(sql`node = ${str(filter.node)}`);
    if (filter.src !== undefined) identity.push(p.addressEquals('src', filter.src));
    if (filter.dst !== undefined) identity.push(p.addressEquals('dst', filter.dst));
    const window: SqlFragment[] = [];
    if (filter.sinceMs !== undefined) window.push(p.timeCompare('last_seen', '>=', filter.sinceMs));
    if (filter.untilMs !== undefined) window.push(p.timeCompare('last_seen', '<=', filter.untilMs));
    return sql`SELECT ${this.dropColumns()}
      FROM (
        SELECT * FROM ${this.table('drops')}
        ${where(identity)}
        ORDER BY id, updated_at_ms DESC
        LIMIT 1 BY id
      )
      ${where(window)}
      ORDER BY last_seen DESC, id ASC
      LIMIT ${checkedLimit(filter.limit)}`;
  }

  getDrop(id: string): SqlFragment {
    return sql`SELECT ${this.dropColumns()} FROM ${this.table('drops')}
      WHERE id = ${str(id)}
      ORDER BY updated_at_ms DESC
      LIMIT 1`;
  }

  /** The newest state of each of `ids` that is stored (1 to DROP_IDS_PER_QUERY ids). */
  getDrops(ids: readonly string[]): SqlFragment {
    if (ids.length < 1 || ids.length > DROP_IDS_PER_QUERY) {
      throw new RangeError(`getDrops takes 1 to ${DROP_IDS_PER_QUERY} ids, not ${ids.length}`);
    }
    return sql`SELECT ${this.dropColumns()} FROM ${this.table('drops')}
      WHERE id IN ${valueList(ids.map(str))}
      ORDER BY id, updated_at_ms DESC
      LIMIT 1 BY id`;
  }

  packetsOf(dropId: string, limit: number): SqlFragment {
    return sql`SELECT drop_id, node, iface, ${this.p.timeMs('ts')} AS ts_ms, link_type, orig_len, bytes_base64
      FROM ${this.table('packets')}
      WHERE drop_id = ${str(dropId)}
      ORDER BY ts ASC
      LIMIT 1 BY node, iface, ts, bytes_base64
      LIMIT ${checkedLimit(limit)}`;
  }

  queryFlows(filter: FlowFilter): SqlFragment {
    const p = this.p;
    const conditions: SqlFragment[] = [];
    if (filter.sinceMs !== undefined) conditions.push(p.timeCompare('last_seen', '>=', filter.sinceMs));
    if (filter.untilMs !== undefined) conditions.push(p.timeCompare('first_seen', '<=', filter.untilMs));
    if (filter.node !== undefined) conditions.push(sql`node = ${str(filter.node)}`);
    if (filter.src !== undefined) conditions.push(p.addressEquals('src', filter.src));
    if (filter.dst !== undefined) conditions.push(p.addressEquals('dst', filter.dst));
    if (filter.port !== undefined) {
      const port = SqlValue.integer('UInt16', filter.port);
      conditions.push(sql`(sport = ${port} OR dport = ${port})`);
    }
    if (filter.proto !== undefined) conditions.push(sql`proto = ${SqlValue.integer('UInt8', filter.proto)}`);
    return sql`SELECT node, iface, direction, ${p.addressSelect('src')}, ${p.addressSelect('dst')}, proto, sport, dport,
        encap, outer_src, outer_dst, vni, packets, bytes,
        ${p.timeMs('first_seen')} AS first_seen_ms, ${p.timeMs('last_seen')} AS last_seen_ms, source
      FROM ${this.table('flows')}
      ${where(conditions)}
      ORDER BY last_seen DESC
      LIMIT 1 BY batch_key, batch_row, if(batch_key = '', cityHash64(node, iface, sport, dport, packets, bytes, first_seen, last_seen), 0)
      LIMIT ${checkedLimit(filter.limit)}`;
  }

  agents(): SqlFragment {
    return sql`SELECT agent_id, node, boot_id, ${this.p.timeMs('last_batch')} AS last_batch_ms, status_json
      FROM ${this.table('agent_status')}
      ORDER BY agent_id, last_batch DESC
      LIMIT 1 BY agent_id`;
  }

  setting(name: string): SqlFragment {
    return sql`SELECT value FROM ${this.table('store_settings')}
      WHERE name = ${str(name)}
      ORDER BY updated_at_ms DESC
      LIMIT 1`;
  }

  modifyTtl(table: string, timeColumn: string, days: number): SqlFragment {
    return sql`ALTER TABLE ${this.table(table)} MODIFY TTL ${this.p.ttlExpression(timeColumn, days)}`;
  }

  /** The day partitions a table has now (partition keys are day numbers: schema.ts). */
  partitions(table: string): SqlFragment {
    return sql`SELECT DISTINCT partition FROM system.parts
      WHERE database = ${str(this.db)} AND table = ${str(table)} AND active`;
  }

  /** DDL: rendered inline on every profile (servers do not take parameters in DDL); the day is an integer. */
  dropPartition(table: string, day: number): SqlFragment {
    return sql`ALTER TABLE ${this.table(table)} DROP PARTITION ${u32(day)}`;
  }
}
