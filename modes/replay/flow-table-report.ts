/**
 * `replay --flows`: what was decoded, as a table a person checks a decode with. One row per node,
 * interface, encapsulation chain and innermost 5-tuple (both directions), sorted by packets or bytes.
 */
import type { ReplayFlow } from './flow-catalog.js';

export interface FlowTableOptions {
  readonly sortBy: 'packets' | 'bytes';
  /** Show only the first N rows after sorting. */
  readonly top?: number;
}

function endpoint(addr: string, port: number | null): string {
  if (port === null) return addr;
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function encapText(f: ReplayFlow): string {
  const layers = f.encap.map((l) => `${l.kind}${l.vni !== null ? ` ${l.kind === 'gre' ? 'key' : l.kind === 'erspan' ? 'session' : 'vni'} ${l.vni}` : ''} ${l.src} > ${l.dst}`);
  return layers.length === 0 ? '-' : layers.join(' / ');
}

function packetText(f: ReplayFlow): string {
  if (f.undecoded !== undefined) return `(payload not decoded: ${f.undecoded})`;
  return `${f.proto} ${endpoint(f.src ?? '?', f.sport)} > ${endpoint(f.dst ?? '?', f.dport)}`;
}

/** The time of day of an ISO time, to the millisecond: the date is in the report's summary. */
function clock(iso: string): string {
  return iso.slice(11, 23);
}

export function renderFlowTable(flows: readonly ReplayFlow[], options: FlowTableOptions): string {
  const key = options.sortBy;
  const sorted = [...flows].sort((a, b) => b[key] - a[key] || (key === 'packets' ? b.bytes - a.bytes : b.packets - a.packets));
  const shown = options.top !== undefined ? sorted.slice(0, options.top) : sorted;
  const header = ['node', 'iface', 'packet (innermost)', 'encapsulation (outermost first)', 'packets', 'bytes', 'first', 'last'];
  const rows = shown.map((f) => [f.node, f.iface, packetText(f), encapText(f), f.packets.toLocaleString('en-US'), f.bytes.toLocaleString('en-US'), clock(f.firstSeen), clock(f.lastSeen)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const numeric = new Set([4, 5]);
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const title = `flows: ${flows.length.toLocaleString('en-US')} (node, interface, encapsulation, innermost 5-tuple; both directions), by ${key}${shown.length < sorted.length ? `, first ${shown.length}` : ''}`;
  return `${[title, line(header), ...rows.map(line)].join('\n')}\n`;
}
