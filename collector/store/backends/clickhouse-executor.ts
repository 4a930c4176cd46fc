/**
 * The server backend: a ClickHouse server over HTTP through @clickhouse/client. Only settings every
 * server since 18.16 knows are sent (none beyond the client's defaults, and `readonly` on the query
 * path), and query parameters only when the statement has them (legacy statements never do).
 *
 * The query path (selectReadOnly) sends `readonly=2` with each request: the server refuses writes and
 * DDL in it (18.16 too), and the setting ends with the request. A user whose profile is read-only
 * already (a `--read-store` user) gets nothing added: such a user may not change its level
 * (readonly=1 refuses readonly=2), and the server enforces the profile's level anyway.
 */
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { StorageUnavailableError } from '../storage.js';
import { qualified, render, sql, type Statement } from '../sql/fragment.js';
import { toJsonEachRow } from './json-each-row.js';
import type { JsonRow } from '../sql/profiles.js';
import { firstLine, type SqlExecutor } from '../sql-executor.js';

export interface ClickHouseTarget {
  /** http://host:port */
  readonly url: string;
  readonly username: string;
  readonly password: string;
  /** The URL shown to people: clickhouse://user@host:port/database, never the password. */
  readonly location: string;
}

export class ClickHouseExecutor implements SqlExecutor {
  readonly location: string;
  private readonly client: ClickHouseClient;
  /** What the query path adds to each request, once the user's own readonly level is known. */
  private readOnlySettings: Promise<ClickHouseSettings> | undefined;

  constructor(target: ClickHouseTarget, requestTimeoutMs = 30_000) {
    this.location = target.location;
    this.client = createClient({
      url: target.url,
      username: target.username,
      password: target.password,
      request_timeout: requestTimeoutMs,
      // Failures reach the caller as StorageUnavailableError; the client's own console logging would
      // print the same failure again, with a stack.
      log: { level: ClickHouseLogLevel.OFF },
      // 64-bit integers as JSON strings (JSON.parse rounds bare numbers past 2^53). 18.16 knows this
      // setting and quotes by default; newer servers stopped quoting by default.
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    });
  }

  async select(statement: Statement): Promise<Record<string, unknown>[]> {
    try {
      const result = await this.client.query({ query: statement.text, format: 'JSONEachRow', ...this.params(statement) });
      return await result.json<Record<string, unknown>>();
    } catch (error) {
      throw this.failure(error);
    }
  }

  async selectReadOnly(statement: Statement): Promise<Record<string, unknown>[]> {
    try {
      const clickhouse_settings = await this.readOnlyQuerySettings();
      const result = await this.client.query({ query: statement.text, format: 'JSONEachRow', clickhouse_settings, ...this.params(statement) });
      return await result.json<Record<string, unknown>>();
    } catch (error) {
      throw this.failure(error);
    }
  }

  /** readonly=2 unless the user is read-only already (asked once; asked again after a failure). */
  private readOnlyQuerySettings(): Promise<ClickHouseSettings> {
    this.readOnlySettings ??= (async () => {
      const result = await this.client.query({ query: "SELECT value FROM system.settings WHERE name = 'readonly'", format: 'JSONEachRow' });
      const rows = await result.json<{ value: string }>();
      const level = Number(rows[0]?.value ?? '0');
      return level > 0 ? {} : { readonly: '2' };
    })();
    const asked = this.readOnlySettings;
    asked.catch(() => {
      if (this.readOnlySettings === asked) this.readOnlySettings = undefined;
    });
    return asked;
  }

  async command(statement: Statement): Promise<void> {
    try {
      await this.client.command({ query: statement.text, ...this.params(statement) });
    } catch (error) {
      throw this.failure(error);
    }
  }

  async insert(database: string, table: string, rows: readonly JsonRow[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      // Serialised here a slice at a time (toJsonEachRow yields to the event loop between slices) and
      // sent as the request body; the client's own array encoding would do a large batch in one go.
      const body = await toJsonEachRow(rows);
      const insert = render(sql`INSERT INTO ${qualified(database, table)} FORMAT JSONEachRow`, 'inline');
      const result = await this.client.exec({ query: insert.text, values: Readable.from([body]) });
      result.stream.resume();
      await finished(result.stream);
    } catch (error) {
      throw this.failure(error);
    }
  }

  private params(statement: Statement): { query_params?: Record<string, string> } {
    return Object.keys(statement.params).length === 0 ? {} : { query_params: { ...statement.params } };
  }

  private failure(error: unknown): StorageUnavailableError {
    return new StorageUnavailableError(`ClickHouse at ${this.location}: ${firstLine(error)}`, { cause: error });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
