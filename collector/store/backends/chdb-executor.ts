/**
 * The embedded backend: chDB (ClickHouse as a library) with its data in a directory of ours.
 *
 * Blocking: opening a Session is synchronous (the engine loads the data directory on the calling
 * thread: tens of milliseconds for a small store, measured by bench/store-timing.ts); queries and inserts go
 * through chDB's async calls, which run on libuv worker threads and leave the event loop free.
 * chDB binds one data directory per process: a second embedded store in another directory can only
 * open after the first is closed.
 *
 * The query path (selectReadOnly) runs with `readonly = 2` for that query only. chDB's API takes no
 * per-query settings, and a `SET` would stay on the one session the writes use too (and readonly=2
 * cannot be turned back off), so the setting travels as the statement's own SETTINGS clause, appended
 * to its text. That clause covers the whole statement only when the text is one statement without
 * inline data: chDB runs every statement of a multi-statement text, and an INSERT's data after
 * VALUES or FORMAT would swallow a trailing clause. Such texts are refused before they reach the
 * engine (the query path never builds them: its values are bound as parameters).
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { drainPending, Session } from 'chdb';
import { StorageUnavailableError } from '../storage.js';
import type { Statement } from '../sql/fragment.js';
import type { JsonRow } from '../sql/profiles.js';
import { firstLine, type SqlExecutor } from '../sql-executor.js';
import { parseJsonEachRow, toJsonEachRow } from './json-each-row.js';

/**
 * 64-bit integers as JSON strings: chDB prints them as bare numbers by default, which JSON.parse rounds
 * past 2^53 (the legacy profile's address halves, for one).
 */
const CONNECTION_ARGS = ['--output_format_json_quote_64bit_integers=1'];

export class ChdbExecutor implements SqlExecutor {
  readonly location: string;
  private session: Session | undefined;

  private constructor(dir: string, session: Session) {
    this.location = dir;
    this.session = session;
  }

  static open(dir: string): ChdbExecutor {
    const absolute = resolve(dir);
    try {
      mkdirSync(absolute, { recursive: true });
      return new ChdbExecutor(absolute, new Session(absolute, { connectionArgs: CONNECTION_ARGS }));
    } catch (error) {
      throw new StorageUnavailableError(`embedded store at ${absolute}: ${firstLine(error)}`, { cause: error });
    }
  }

  private live(): Session {
    if (!this.session) throw new StorageUnavailableError(`embedded store at ${this.location} is closed`);
    return this.session;
  }

  async select(statement: Statement): Promise<Record<string, unknown>[]> {
    return parseJsonEachRow(await this.run(statement, 'JSONEachRow'));
  }

  async selectReadOnly(statement: Statement): Promise<Record<string, unknown>[]> {
    const refusal = readOnlyRefusal(statement.text);
    if (refusal !== undefined) throw new StorageUnavailableError(`embedded store at ${this.location}: read-only query refused: ${refusal}`);
    return parseJsonEachRow(await this.run({ text: `${statement.text}\nSETTINGS readonly = 2`, params: statement.params }, 'JSONEachRow'));
  }

  async command(statement: Statement): Promise<void> {
    await this.run(statement, 'TabSeparated');
  }

  async insert(database: string, table: string, rows: readonly JsonRow[]): Promise<void> {
    if (rows.length === 0) return;
    const session = this.live();
    try {
      await session.insert({ table: `${database}.${table}`, values: await toJsonEachRow(rows), format: 'JSONEachRow' });
    } catch (error) {
      throw this.failure(error);
    }
  }

  private async run(statement: Statement, format: string): Promise<string> {
    const session = this.live();
    try {
      const result =
        Object.keys(statement.params).length === 0
          ? await session.queryAsync(statement.text, { format })
          : await session.queryBindAsync(statement.text, statement.params, { format });
      return result.text();
    } catch (error) {
      throw this.failure(error);
    }
  }

  private failure(error: unknown): StorageUnavailableError {
    return new StorageUnavailableError(`embedded store at ${this.location}: ${firstLine(error)}`, { cause: error });
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    session.close();
    // close() defers tearing the connection down behind running operations; waiting here lets the
    // process open a store in another directory right after (chDB allows one directory at a time).
    await drainPending();
  }
}

/**
 * Why `text` cannot take a trailing `SETTINGS readonly = 2` that covers all of it, or undefined when it
 * can: a `;` (a second statement), or VALUES, FORMAT or INFILE (an INSERT's inline data), outside
 * string literals, quoted identifiers and comments. Errs on the side of refusing: block comments are
 * taken as not nesting, `#` as no comment, and a keyword inside anything unquoted counts.
 */
export function readOnlyRefusal(text: string): string | undefined {
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === "'" || c === '"' || c === '`') {
      i++;
      while (i < text.length && text[i] !== c) i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '-' && text[i + 1] === '-') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else if (c === ';') {
      return 'more than one statement';
    } else if (/[A-Za-z_]/.test(c)) {
      const word = (/^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i)) as RegExpExecArray)[0];
      if (/^(values|format|infile)$/i.test(word)) return `inline data (${word.toUpperCase()})`;
      i += word.length;
    } else {
      i++;
    }
  }
  return undefined;
}
