/**
 * Kernel drop counters from /proc/net/netstat (per network namespace): pairs of lines, a header of
 * names and a line of values per group (TcpExt:, IpExt:, ...). TcpExtIPReversePathFilter counts
 * packets the reverse-path filter dropped.
 */
import { readFileSync } from 'node:fs';

export function parseNetstat(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = (lines[i] as string).trim().split(/\s+/);
    const values = (lines[i + 1] as string).trim().split(/\s+/);
    const group = (names[0] ?? '').replace(/:$/, '');
    if (!group || values[0] !== names[0]) continue;
    for (let k = 1; k < names.length; k++) out.set(`${group}${names[k]}`, Number(values[k]));
  }
  return out;
}

export function readNetstat(path = '/proc/net/netstat'): Map<string, number> {
  try {
    return parseNetstat(readFileSync(path, 'utf8'));
  } catch {
    return new Map();
  }
}
