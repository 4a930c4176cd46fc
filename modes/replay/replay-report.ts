/**
 * The human report of a replay: a summary, then each vanished packet group with its path drawn hop
 * by hop (node, interface, direction, encapsulation), the point where it ended, the evidence and the
 * remedy. Plain text, aligned, readable in a terminal and in a ticket.
 */
import type { Hop } from '../../core/findings/hop.js';
import type { ExplainedDrop } from '../../core/explain/explain-drop.js';
import type { ReplayStats } from './replay-runner.js';

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function pad(s: string, w: number): string {
  return s.length >= w ? s : s + ' '.repeat(w - s.length);
}

function endpoint(addr: string, port: number | null): string {
  if (port === null) return addr;
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function hopLine(h: Hop, t0: number, widths: { node: number; iface: number }): string {
  const dt = `+${(h.ts - t0).toFixed(3)} ms`;
  const dir = h.direction === 'in' ? 'in ' : h.direction === 'out' ? 'out' : '?  ';
  const arrow = h.direction === 'out' ? '<-' : '->';
  const encap = h.encap !== 'none' ? `  ${h.encap}${h.vni !== null ? ` vni ${h.vni}` : ''} ${h.outerSrc ?? '?'} > ${h.outerDst ?? '?'}` : '';
  const how = h.directionSource !== 'linux-packet-type' && h.directionSource !== 'pcapng-flags' ? `  (direction from ${h.directionSource})` : '';
  return `      ${pad(h.node, widths.node)}  ${arrow} ${pad(h.iface, widths.iface)}  ${dir}  ${pad(dt, 14)} ttl ${String(h.ttl).padStart(3)}${encap}${how}`;
}

export function renderPath(path: readonly Hop[], vanishedAt: { node: string; iface: string } | undefined): string[] {
  if (path.length === 0) return [];
  const t0 = (path[0] as Hop).ts;
  const widths = {
    node: Math.max(...path.map((h) => h.node.length)),
    iface: Math.max(...path.map((h) => h.iface.length)),
  };
  const lines = path.map((h) => hopLine(h, t0, widths));
  if (vanishedAt) lines.push(`      ${pad(vanishedAt.node, widths.node)}  XX ${pad(vanishedAt.iface, widths.iface)}  vanished here: never seen leaving ${vanishedAt.node}`);
  return lines;
}

/** What replay could not check, by reason: no exit captured, direction unknown, cut short, last window. */
function notChecked(stats: ReplayStats): string {
  const sum = (k: 'truncatedUnjudged' | 'captureEndedUnjudged'): number => stats.nodes.reduce((a, x) => a + x[k], 0);
  const reason = (r: string): number => stats.unobservedReasons[r] ?? 0;
  const parts = [
    `${n(reason('the interface it should have left by was not captured'))} whose exit interface was not captured`,
    `${n(reason('direction unknown'))} of unknown direction`,
    `${n(sum('truncatedUnjudged'))} cut short before what identifies them`,
    `${n(sum('captureEndedUnjudged'))} in a capture's last window`,
  ];
  const ownLoss = reason('the capture itself lost packets then');
  if (ownLoss > 0) parts.push(`${n(ownLoss)} while the capture itself lost packets`);
  return `${parts.join(', ')}; ${n(stats.localPackets)} to or from the node itself (never drops)`;
}

/** The conclusion when nothing vanished: what was checked, and how much was not. */
function noDropsVerdict(stats: ReplayStats): string {
  const single = stats.nodes.every((x) => x.interfaces.length <= 1 && !x.coversAllInterfaces);
  if (single) return 'No drops judged: each node was captured on one interface only, so no missing exit could be seen. Capture the way in and the way out (or `tcpdump -i any`).';
  const packets = stats.nodes.reduce((a, x) => a + x.packets, 0);
  const forwarded = stats.nodes.reduce((a, x) => a + x.forwarded, 0);
  // The parts of the "not checked" line (the unobserved reasons, cut short, last window), each once.
  const unchecked = stats.unobservedPackets + stats.nodes.reduce((a, x) => a + x.truncatedUnjudged + x.captureEndedUnjudged, 0);
  const checked = `No vanished packets among those that could be checked: ${n(forwarded)} of ${n(packets)} distinct packets were seen coming in and going out`;
  return unchecked > 0 ? `${checked}; ${n(unchecked)} could not be checked (see "not checked" above).` : `${checked}, and the rest were sent by or for the nodes themselves.`;
}

export function renderReplayReport(drops: readonly ExplainedDrop[], stats: ReplayStats): string {
  const out: string[] = [];
  const nodes = stats.nodes;
  // Each count is named for what it counts: capture records (one per packet per interface it was
  // captured on; the count after each interface), distinct packets (one per packet and node, however
  // many hops), flow records.
  out.push(`pathwatch replay: ${n(stats.records)} capture records (${n(stats.ipPackets)} IP) from ${stats.inputs} input(s), ${nodes.length} node(s), ${n(stats.flowRecords)} flow records`);
  if (stats.firstPacket) out.push(`  capture time ${stats.firstPacket} .. ${stats.lastPacket}, correlation window ${stats.windowMs} ms`);
  for (const node of nodes) {
    const ifaces = node.interfaces.map((i) => `${i.name} (${i.role}) ${n(i.packets)}`).join(', ');
    out.push(`  node ${node.node}: ${ifaces || 'no IP packets'}${node.coversAllInterfaces ? ' [any: every interface captured]' : ''}`);
    out.push(`    ${n(node.packets)} distinct packets (${n(node.sightings)} sightings): ${n(node.forwarded)} forwarded, ${n(node.originated)} sent by the node, ${n(node.notUnicast)} multicast/broadcast/link-local, ${n(node.directionUnknown)} of unknown direction`);
  }
  if (stats.encapsulations.length > 0) out.push(`  encapsulations: ${stats.encapsulations.map((e) => `${e.chain} ${n(e.packets)}`).join(', ')}`);
  out.push(`  vanished: ${n(stats.vanishedPackets)} packets in ${drops.length} group(s)${stats.transitLostPackets ? `; lost between nodes: ${n(stats.transitLostPackets)}` : ''}`);
  out.push(`  not checked: ${notChecked(stats)}`);
  if (stats.truncated || stats.malformed) out.push(`  capture: ${n(stats.truncated)} cut by the snap length, ${n(stats.malformed)} malformed (lengths inside the packet run past the frame)`);
  for (const w of stats.warnings) out.push(`  warning: ${w}`);
  out.push('');
  if (drops.length === 0) {
    out.push(noDropsVerdict(stats));
    return `${out.join('\n')}\n`;
  }
  drops.forEach((d, i) => {
    const e = d.event;
    out.push(`[${i + 1}] ${e.verdict} (${e.confidence})  at ${e.node} on ${e.iface}`);
    out.push(`    ${e.proto} ${endpoint(e.src, e.sport)} -> ${endpoint(e.dst, e.dport)}   ${n(e.packets)} packet(s)   ${e.firstSeen} .. ${e.lastSeen}`);
    out.push(`    id ${e.id}`);
    out.push('    path of the first packet:');
    out.push(...renderPath(d.path, { node: e.node, iface: e.iface }));
    out.push('    evidence:');
    for (const ev of e.evidence) out.push(`      - ${ev.kind}: ${ev.detail}`);
    out.push('    remedy:');
    for (const line of e.remedy.split('\n')) out.push(`      ${line}`);
    out.push('');
  });
  return `${out.join('\n')}\n`;
}
