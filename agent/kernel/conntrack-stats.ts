/**
 * conntrack's per-CPU statistics (/proc/net/stat/nf_conntrack, per network namespace): a header of
 * names, then one line of hexadecimal values per CPU. `invalid` counts packets conntrack could not
 * place in a connection (a TCP packet its state machine refuses: an ACK after a SYN whose answer
 * it never saw). Absent while nf_conntrack is not loaded: nothing is tracked then.
 */
import { readFileSync } from 'node:fs';

/** The named column summed over every CPU's line, or undefined when the file or column is missing. */
export function parseConntrackStat(text: string, column: string): number | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const index = (lines[0] ?? '').split(/\s+/).indexOf(column);
  if (index < 0) return undefined;
  let sum = 0;
  for (const line of lines.slice(1)) {
    const value = Number.parseInt(line.split(/\s+/)[index] ?? '', 16);
    if (!Number.isFinite(value)) return undefined;
    sum += value;
  }
  return sum;
}

export function readConntrackInvalid(path = '/proc/net/stat/nf_conntrack'): number | undefined {
  try {
    return parseConntrackStat(readFileSync(path, 'utf8'), 'invalid');
  } catch {
    return undefined;
  }
}
