/**
 * SQL statements as typed pieces, so no text from outside can become SQL. A statement is written once
 * with the `sql` tag: its literal text comes from this source code, and every interpolation must be a
 * typed value, a checked identifier or another fragment; a plain string is refused (by the types, and
 * at run time). Rendering chooses how values travel:
 * - bound (servers with query parameters): each value becomes a `{pN:Type}` placeholder sent apart
 *   from the SQL text;
 * - inline (ClickHouse 18.16): each value is re-formatted from its type into a literal (literals.ts).
 */
import { ipv6Text } from '../ip-address.js';
import { formatInteger, quoteString, SqlValueError, type IntegerType } from './literals.js';

/** IPv6 only binds as a parameter: servers with the IPv6 type also have query parameters. */
export type ValueType = IntegerType | 'String' | 'IPv6';

/** A value with the SQL type it is bound as; checked when made, so a bad value fails before any SQL. */
export class SqlValue {
  private constructor(
    readonly type: ValueType,
    readonly value: string | number | bigint,
  ) {}

  static string(value: string): SqlValue {
    if (typeof value !== 'string') throw new SqlValueError(`String: not a string: ${typeof value}`);
    return new SqlValue('String', value);
  }

  /** Any IPv4 or IPv6 spelling; bound as its IPv6 text (IPv4 mapped). */
  static ipv6(address: string): SqlValue {
    return new SqlValue('IPv6', ipv6Text(address));
  }

  static integer(type: IntegerType, value: number | bigint): SqlValue {
    formatInteger(type, value); // throws when the value does not fit the type
    return new SqlValue(type, value);
  }
}

/** A table, database or column name: letters, digits and underscores, not starting with a digit. */
export class SqlIdentifier {
  private constructor(readonly name: string) {}

  static of(name: string): SqlIdentifier {
    if (!isIdentifier(name)) throw new SqlValueError(`not an identifier: ${JSON.stringify(name)}`);
    return new SqlIdentifier(name);
  }
}

export function isIdentifier(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && name.length <= 64;
}

export type SqlPiece = SqlValue | SqlIdentifier | SqlFragment;

export class SqlFragment {
  constructor(
    readonly texts: readonly string[],
    readonly pieces: readonly SqlPiece[],
  ) {}
}

/** The tag: `sql\`SELECT x FROM ${table} WHERE id = ${SqlValue.string(id)}\``. */
export function sql(texts: TemplateStringsArray, ...pieces: readonly SqlPiece[]): SqlFragment {
  for (const piece of pieces) {
    if (!(piece instanceof SqlValue || piece instanceof SqlIdentifier || piece instanceof SqlFragment)) {
      throw new SqlValueError(`an SQL interpolation must be a typed value, identifier or fragment, not ${typeof piece}`);
    }
  }
  return new SqlFragment([...texts], pieces);
}

/** Fragments joined by a separator written in source (', ', ' AND '). */
export function joinSql(fragments: readonly SqlFragment[], separator: ', ' | ' AND ' | '\n'): SqlFragment {
  if (fragments.length === 0) return new SqlFragment([''], []);
  const texts = ['', ...fragments.slice(1).map(() => separator), ''];
  return new SqlFragment(texts, fragments);
}

/**
 * `(v1, v2, ...)`: the right side of an `IN`, one typed value per element. Each element renders like
 * any other value (a `{pN:Type}` placeholder of its own when bound, a re-formatted literal when
 * inline), so a list works alike on every profile; 18.16 has no Array query parameters to lean on.
 * An empty list is refused: `IN ()` is not SQL, and the caller knows better what "none" means.
 */
export function valueList(values: readonly SqlValue[]): SqlFragment {
  if (values.length === 0) throw new SqlValueError('a value list needs at least one value');
  for (const value of values) {
    if (!(value instanceof SqlValue)) throw new SqlValueError(`a value list holds typed values only, not ${typeof value}`);
  }
  return new SqlFragment(['(', ...values.slice(1).map(() => ', '), ')'], [...values]);
}

/** Several identifiers as `a`.`b` (database.table). */
export function qualified(...names: readonly string[]): SqlFragment {
  const ids = names.map((n) => SqlIdentifier.of(n));
  return new SqlFragment(['', ...ids.slice(1).map(() => '.'), ''], ids);
}

/** What a backend executes: SQL text, and the values of its placeholders (empty when inline). */
export interface Statement {
  readonly text: string;
  readonly params: Readonly<Record<string, string>>;
}

export type RenderMode = 'bound' | 'inline';

export function render(fragment: SqlFragment, mode: RenderMode): Statement {
  const params: Record<string, string> = {};
  let counter = 0;
  const walk = (f: SqlFragment): string => {
    let out = f.texts[0]!;
    f.pieces.forEach((piece, i) => {
      out += renderPiece(piece) + f.texts[i + 1]!;
    });
    return out;
  };
  const renderPiece = (piece: SqlPiece): string => {
    if (piece instanceof SqlFragment) return walk(piece);
    // Backticks cannot occur in a checked identifier, so quoting only keeps keywords from clashing.
    if (piece instanceof SqlIdentifier) return `\`${piece.name}\``;
    if (mode === 'inline') return inlineLiteral(piece);
    const name = `p${counter++}`;
    params[name] = typeof piece.value === 'string' ? piece.value : formatInteger(piece.type as IntegerType, piece.value);
    return `{${name}:${piece.type}}`;
  };
  return { text: walk(fragment), params };
}

function inlineLiteral(value: SqlValue): string {
  if (value.type === 'IPv6') throw new SqlValueError('IPv6 values need a server with query parameters');
  if (typeof value.value === 'string') return quoteString(value.value);
  return formatInteger(value.type as IntegerType, value.value);
}
