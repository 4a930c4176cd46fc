/**
 * SQL literals for servers without query parameters (ClickHouse 18.16). Every value is re-formatted from
 * its checked type before it reaches SQL text: integers from a range-checked number or bigint, strings
 * through quoteString alone. Nothing else in the store writes a value into SQL text.
 */

export type IntegerType = 'UInt8' | 'UInt16' | 'UInt32' | 'UInt64' | 'Int32' | 'Int64';

const INTEGER_RANGE: Record<IntegerType, readonly [bigint, bigint]> = {
  UInt8: [0n, 0xffn],
  UInt16: [0n, 0xffffn],
  UInt32: [0n, 0xffff_ffffn],
  UInt64: [0n, 0xffff_ffff_ffff_ffffn],
  Int32: [-(2n ** 31n), 2n ** 31n - 1n],
  Int64: [-(2n ** 63n), 2n ** 63n - 1n],
};

export class SqlValueError extends Error {
  override name = 'SqlValueError';
}

/**
 * The decimal text of an integer of the given type. Accepts only safe integers (a float, NaN, an
 * infinity or a number past 2^53, whose low digits are already lost, would store something other
 * than what the caller meant) or bigints, within the type's range.
 */
export function formatInteger(type: IntegerType, value: number | bigint): string {
  let big: bigint;
  if (typeof value === 'bigint') big = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) big = BigInt(value);
  else throw new SqlValueError(`${type}: not a safe integer: ${String(value)}`);
  const [min, max] = INTEGER_RANGE[type];
  if (big < min || big > max) throw new SqlValueError(`${type}: out of range: ${big}`);
  return big.toString();
}

/**
 * Escapes inside a quoted ClickHouse string literal. The backslash and the quote are what could end
 * the literal early; the control characters are escaped too so that a statement stays one line in
 * logs and no NUL byte ever travels in the query text (ClickHouse reads these escapes back as the
 * same characters on every version since 1.1).
 */
const ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  "'": "\\'",
  '\0': '\\0',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** A single-quoted ClickHouse string literal that reads back as exactly `value`. */
export function quoteString(value: string): string {
  if (typeof value !== 'string') throw new SqlValueError(`String: not a string: ${typeof value}`);
  return `'${value.replace(/[\\'\0\n\r\t]/g, (ch) => ESCAPES[ch]!)}'`;
}
