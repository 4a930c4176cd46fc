/** JSONEachRow text: one JSON object per line. */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { JsonRow } from '../sql/profiles.js';

/** Rows per slice of JavaScript work between two turns of the event loop (about 5 ms of it). */
export const ROWS_PER_SLICE = 1000;

/**
 * The rows as JSONEachRow bytes. Large inserts are serialised a slice at a time, giving the event loop
 * a turn in between, so a big batch does not hold up every other request of the collector.
 */
export async function toJsonEachRow(rows: readonly JsonRow[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let start = 0; start < rows.length; start += ROWS_PER_SLICE) {
    if (start > 0) await nextTurn();
    // JSON.stringify escapes newlines inside strings, so each row is exactly one line.
    const slice = rows.slice(start, start + ROWS_PER_SLICE).map((row) => JSON.stringify(row));
    parts.push(Buffer.from(slice.join('\n') + '\n', 'utf8'));
  }
  return Buffer.concat(parts);
}

/** `encode` over `items`, a slice at a time with event-loop turns in between (see toJsonEachRow). */
export async function mapInSlices<T, R>(items: readonly T[], encode: (item: T) => R): Promise<R[]> {
  const out: R[] = [];
  for (let start = 0; start < items.length; start += ROWS_PER_SLICE) {
    if (start > 0) await nextTurn();
    for (const item of items.slice(start, start + ROWS_PER_SLICE)) out.push(encode(item));
  }
  return out;
}

export function parseJsonEachRow(text: string): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const row: unknown = JSON.parse(line);
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new TypeError('JSONEachRow: a line is not an object');
    rows.push(row as Record<string, unknown>);
  }
  return rows;
}
