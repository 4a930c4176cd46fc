/**
 * What `pathwatch lab` prints for one scenario: the traffic sent and what came back, then every drop
 * event the collector found with its path drawn hop by hop, the evidence and the remedy; after
 * `--fix`, the same traffic again and what vanished after the scenario's remedy (nothing, when it
 * worked). The default scenario (rp-filter) prints the story exactly as it always has.
 */
import type { Hop } from '../../core/findings/hop.js';
import { renderPath } from '../replay/replay-report.js';
import type { StoredHop } from '../../collector/store/storage.js';
import type { LabDrop, LabResult } from './lab-run.js';
import type { ProbePair, StoryTraffic } from '../../lab/traffic.js';
import type { LabNsRole } from '../../lab/topology.js';

const POD_ROLES: ReadonlySet<LabNsRole> = new Set(['ph', 'pa', 'pb']);

function hop(h: StoredHop): Hop {
  return {
    node: h.node,
    iface: h.iface,
    role: h.role as Hop['role'],
    direction: h.direction,
    // Live agents read directions from Linux packet types (the store keeps the direction only).
    directionSource: 'linux-packet-type',
    ts: h.tsMs,
    encap: h.encap,
    outerSrc: h.outerSrc || null,
    outerDst: h.outerDst || null,
    vni: h.vni >= 0 ? h.vni : null,
    ttl: h.ttl,
    length: h.length,
  };
}

function probeLine(label: string, p: ProbePair): string {
  const refused = [...new Set(p.icmp.sendErrors.map((e) => e.errno))].join(', ');
  const icmp = `ICMP ${p.icmp.answered}/${p.icmp.sent} answered${refused === '' ? '' : ` (${p.icmp.sendErrors.length} not sent: ${refused})`}`;
  const tcp = `TCP :${p.tcp.port} ${p.tcp.outcomes.join(', ')}`;
  return `  ${label.padEnd(40)} ${icmp}; ${tcp}`;
}

function trafficLines(r: LabResult['topology'], t: StoryTraffic): string[] {
  return [
    probeLine(`client ${r.client} -> healthy pod ${r.healthyPod}`, t.clientToHealthy),
    probeLine(`client ${r.client} -> asymmetric pod ${r.asymmetricPod}`, t.clientToAsymmetric),
    probeLine(`healthy pod -> client`, t.healthyToClient),
    probeLine(`asymmetric pod -> client`, t.asymmetricToClient),
  ];
}

function dropLines(drops: readonly LabDrop[]): string[] {
  const out: string[] = [];
  drops.forEach((d, i) => {
    const e = d.event;
    const port = (p: number | null) => (p === null ? '' : `:${p}`);
    out.push(`[${i + 1}] ${e.verdict} (${e.confidence}) at ${e.node} on ${e.iface}: ${e.proto} ${e.src}${port(e.sport)} -> ${e.dst}${port(e.dport)}, ${e.packets} packet(s)`);
    out.push('    path of the first packet:');
    out.push(...renderPath(d.path.map(hop), { node: e.node, iface: e.iface }));
    out.push('    evidence:');
    for (const ev of e.evidence) out.push(`      - ${ev.kind}: ${ev.detail}`);
    out.push('    remedy:');
    for (const line of e.remedy.split('\n')) out.push(`      ${line}`);
    out.push('');
  });
  return out;
}

export function renderLabReport(r: LabResult): string {
  const out: string[] = [];
  const at = r.scenario.dropsAt;
  if (r.scenario.name !== 'rp-filter') out.push(`Scenario ${r.scenario.name}: the story's cluster with another fault, which drops at ${at.node} on ${at.iface}.`);
  out.push(`The story, built here: client ${r.topology.client} behind a gateway that routes the pod block via the wrong node (n1);`);
  out.push(`pods on n2 behind cali veths; ${r.topology.overlay} overlay on ${r.topology.tunnel} (${r.topology.tunnelImpl}); ${r.scenario.fault}.`);
  out.push('');
  out.push('Traffic sent:');
  out.push(...trafficLines(r.topology, r.traffic));
  out.push('');
  out.push(r.drops.length === 0 ? 'pathwatch found no drops.' : `pathwatch found ${r.drops.length} drop event(s):`);
  out.push('');
  out.push(...dropLines(r.drops));
  if (r.afterFix) {
    const f = r.afterFix;
    const was = f.remedy.was === undefined ? '' : `, was ${f.remedy.was}`;
    // A remedy runs on a node (or the gateway), or in a pod's namespace (neighbour: the pod's interface).
    const where = POD_ROLES.has(f.remedy.node) ? `in ${f.remedy.node}'s namespace` : `on ${f.remedy.node}`;
    out.push(`After the remedy (${f.remedy.commands.join('; ')} ${where}${was}), the same traffic:`);
    out.push(...trafficLines(r.topology, f.traffic));
    out.push('');
    out.push(f.drops.length === 0 ? 'No packet vanished after the remedy: the drops have stopped.' : `Still vanishing after the remedy: ${f.drops.length} drop event(s):`);
    out.push(...dropLines(f.drops));
  }
  return `${out.join('\n')}\n`;
}
