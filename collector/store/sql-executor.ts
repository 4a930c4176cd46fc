/**
 * What a backend does: run statements the shared SQL built, and insert JSONEachRow rows. Backends hold no
 * SQL of their own; every failure (unreachable server, engine error) comes out as
 * StorageUnavailableError with a one-line message.
 */
import type { Statement } from './sql/fragment.js';
import type { JsonRow } from './sql/profiles.js';

export interface SqlExecutor {
  /** Where, for messages and StorageInfo.location (never a password). */
  readonly location: string;
  /** The rows of a SELECT, one object per row (JSONEachRow). */
  select(statement: Statement): Promise<Record<string, unknown>[]>;
  /**
   * The rows of a SELECT on the query path, run with ClickHouse's `readonly = 2` for this query only:
   * the engine itself refuses any write or DDL (reads and setting changes stay allowed), so the API's
   * queries cannot modify the store whatever their text. Other queries and writes are unaffected.
   */
  selectReadOnly(statement: Statement): Promise<Record<string, unknown>[]>;
  /** A statement without a result (DDL, ALTER). */
  command(statement: Statement): Promise<void>;
  /** Rows into `database`.`table` as JSONEachRow; both names are checked identifiers. */
  insert(database: string, table: string, rows: readonly JsonRow[]): Promise<void>;
  close(): Promise<void>;
}

/** The first line of an error message, for one-line reports (ClickHouse appends stack traces). */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return line.trim().slice(0, 500);
}
