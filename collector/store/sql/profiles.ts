/**
 * The two dialects the store speaks. Statements are written once (schema.ts, statements.ts) and ask the
 * profile only for what differs between ClickHouse generations: column types, how a time or an address
 * is stored, compared and read back, compression codecs and TTL, and how values travel (placeholders or
 * re-formatted literals).
 *
 * current (20.8+, chDB): DateTime64(3, 'UTC'), IPv6, LowCardinality(String), codecs, TTL, `{p:Type}`.
 * legacy (18.16): times as UInt64 epoch milliseconds, addresses as two UInt64 halves of the 16-byte
 * form (18.16 has no address type, and a FixedString(16) cannot be written through JSONEachRow, whose
 * strings are Unicode), plain String, no codecs, no TTL (retention drops partitions), inline literals.
 */
import { canonicalIp, halvesToIp, ipToHalves, ipv6Text } from '../ip-address.js';
import type { IntegerType } from './literals.js';
import { SqlFragment, SqlIdentifier, SqlValue, sql, type RenderMode } from './fragment.js';
import type { ProfileName } from './profile-detect.js';

/** A value in a JSONEachRow row as the store writes and reads it. */
export type JsonValue = string | number | null;
export type JsonRow = Record<string, JsonValue>;

export type Comparison = '>=' | '<=' | '=';
export type CodecKind = 'time' | 'counter' | 'text';

export const MS_PER_DAY = 86_400_000;

export interface SqlProfile {
  readonly name: ProfileName;
  readonly renderMode: RenderMode;
  /** Type of a string column with few distinct values (node, interface, verdict). */
  readonly lowCardinalityString: SqlFragment;
  /** Column definitions of an address column. */
  addressColumns(column: string): SqlFragment;
  /** SELECT list entries that decodeAddress reads back. */
  addressSelect(column: string): SqlFragment;
  addressEquals(column: string, address: string): SqlFragment;
  encodeAddress(column: string, address: string, row: JsonRow): void;
  decodeAddress(column: string, row: Readonly<Record<string, unknown>>): string;
  /** Type of a time column (millisecond precision). */
  readonly timeType: SqlFragment;
  /** A time column as epoch milliseconds, for SELECT lists. */
  timeMs(column: string): SqlFragment;
  timeCompare(column: string, op: Comparison, ms: number): SqlFragment;
  encodeTime(ms: number): JsonValue;
  /** Whole days since the epoch (UTC): the partition key of every table with a time. */
  dayNumber(column: string): SqlFragment;
  /** ` CODEC(...)` after a column type, or nothing. */
  codec(kind: CodecKind): SqlFragment;
  /** Whether tables carry a TTL clause (ALTER TABLE ... MODIFY TTL). */
  readonly hasTtl: boolean;
  ttlExpression(column: string, days: number): SqlFragment;
}

const id = (name: string): SqlIdentifier => SqlIdentifier.of(name);
const int = (type: IntegerType, value: number | bigint): SqlValue => SqlValue.integer(type, value);

function comparison(op: Comparison): SqlFragment {
  // The operator comes from the Comparison union; mapping it to fixed fragments keeps it out of the values.
  switch (op) {
    case '>=':
      return sql`>=`;
    case '<=':
      return sql`<=`;
    case '=':
      return sql`=`;
  }
}

function checkedMs(ms: number): number {
  if (!Number.isSafeInteger(ms)) throw new TypeError(`a time must be integer epoch milliseconds, not ${ms}`);
  return ms;
}

/**
 * 'YYYY-MM-DD hh:mm:ss.sss' in UTC: the text every DateTime64(3) parser reads the same way (a bare
 * number is read as seconds or as ticks depending on the version and its digits). Formatting a Date
 * costs microseconds and a batch repeats the same seconds, so the second's text is cached.
 */
const secondText = new Map<number, string>();

function dateTime64Text(ms: number): string {
  checkedMs(ms);
  if (ms < 0 || ms > MAX_DATETIME64_MS) throw new TypeError(`time out of range: ${ms}`);
  const second = Math.floor(ms / 1000);
  let prefix = secondText.get(second);
  if (prefix === undefined) {
    const iso = new Date(second * 1000).toISOString();
    prefix = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
    if (secondText.size >= 4096) secondText.clear();
    secondText.set(second, prefix);
  }
  const fraction = ms - second * 1000;
  return `${prefix}.${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}`;
}

/** 2262-04-11: DateTime64(3) reaches 2299, and ISO years past 9999 would change the text's shape. */
const MAX_DATETIME64_MS = 9_223_372_036_854;

export const CURRENT_PROFILE: SqlProfile = {
  name: 'current',
  renderMode: 'bound',
  lowCardinalityString: sql`LowCardinality(String)`,
  addressColumns: (c) => sql`${id(c)} IPv6`,
  addressSelect: (c) => sql`${id(c)}`,
  addressEquals: (c, address) => sql`${id(c)} = ${SqlValue.ipv6(address)}`,
  encodeAddress(c, address, row) {
    row[c] = ipv6Text(address);
  },
  decodeAddress: (c, row) => canonicalIp(stringField(row, c)),
  timeType: sql`DateTime64(3, 'UTC')`,
  timeMs: (c) => sql`toUnixTimestamp64Milli(${id(c)})`,
  timeCompare: (c, op, ms) => sql`${id(c)} ${comparison(op)} fromUnixTimestamp64Milli(${int('Int64', checkedMs(ms))})`,
  encodeTime: dateTime64Text,
  dayNumber: (c) => sql`toUInt32(intDiv(toUnixTimestamp64Milli(${id(c)}), ${int('UInt32', MS_PER_DAY)}))`,
  codec(kind) {
    switch (kind) {
      case 'time':
        return sql` CODEC(Delta, ZSTD(1))`;
      case 'counter':
        return sql` CODEC(T64, ZSTD(1))`;
      case 'text':
        return sql` CODEC(ZSTD(3))`;
    }
  },
  hasTtl: true,
  ttlExpression: (c, days) => sql`toDateTime(${id(c)}) + toIntervalDay(${int('UInt32', days)})`,
};

export const LEGACY_PROFILE: SqlProfile = {
  name: 'legacy',
  renderMode: 'inline',
  lowCardinalityString: sql`String`,
  addressColumns: (c) => sql`${id(`${c}_hi`)} UInt64, ${id(`${c}_lo`)} UInt64`,
  addressSelect: (c) => sql`${id(`${c}_hi`)}, ${id(`${c}_lo`)}`,
  addressEquals(c, address) {
    const { hi, lo } = ipToHalves(address);
    return sql`(${id(`${c}_hi`)} = ${int('UInt64', hi)} AND ${id(`${c}_lo`)} = ${int('UInt64', lo)})`;
  },
  encodeAddress(c, address, row) {
    const { hi, lo } = ipToHalves(address);
    // 64-bit values as decimal strings: JSON numbers past 2^53 would lose digits; 18.16 reads quoted integers.
    row[`${c}_hi`] = hi.toString();
    row[`${c}_lo`] = lo.toString();
  },
  decodeAddress: (c, row) => halvesToIp(bigintField(row, `${c}_hi`), bigintField(row, `${c}_lo`)),
  timeType: sql`UInt64`,
  timeMs: (c) => sql`${id(c)}`,
  timeCompare: (c, op, ms) => sql`${id(c)} ${comparison(op)} ${int('UInt64', checkedMs(ms))}`,
  encodeTime: checkedMs,
  dayNumber: (c) => sql`toUInt32(intDiv(${id(c)}, ${int('UInt32', MS_PER_DAY)}))`,
  codec: () => sql``,
  hasTtl: false,
  ttlExpression: () => {
    throw new Error('the legacy profile has no TTL');
  },
};

export function profileNamed(name: ProfileName): SqlProfile {
  return name === 'current' ? CURRENT_PROFILE : LEGACY_PROFILE;
}

export function stringField(row: Readonly<Record<string, unknown>>, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new TypeError(`column ${column}: expected a string, got ${typeof value}`);
  return value;
}

/** 64-bit integers arrive as JSON numbers or, when the server quotes them, decimal strings. */
export function bigintField(row: Readonly<Record<string, unknown>>, column: string): bigint {
  const value = row[column];
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new TypeError(`column ${column}: expected an integer, got ${JSON.stringify(value)}`);
}

export function numberField(row: Readonly<Record<string, unknown>>, column: string): number {
  const big = bigintField(row, column);
  const value = Number(big);
  if (!Number.isSafeInteger(value)) throw new TypeError(`column ${column}: ${big} is beyond 2^53`);
  return value;
}
