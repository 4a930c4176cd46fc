/**
 * The end of correlation: every vanish candidate of every node is judged with what that node's
 * traffic taught (its addresses, where addresses live), packets that left one watched node
 * encapsulated and never arrived at the next become candidates too, and the vanished ones are
 * explained into drop events. What could not be judged is counted, never reported as a drop.
 */
import { ipProtoName } from '../net/address.js';
import type { VanishedGroup } from '../findings/hop.js';
import { judgeGroups, type JudgedVanished, type JudgingStats } from '../../agent/flow/judged-groups.js';
import type { SightingPipeline } from '../../agent/flow/sighting-pipeline.js';
import { dropEventId, type DropEvent } from '../explain/drop-event.js';
import { explainVanished, type ExplainedDrop, type KernelEvidence } from '../explain/explain-vanished.js';
import type { CrossNodeStitcher } from './cross-node-stitcher.js';

export interface DropFindingStats extends JudgingStats {
  /** Encapsulated packets that left one watched node and never arrived at the next. */
  transitLostPackets: number;
}

export interface DropFindings {
  readonly drops: ExplainedDrop[];
  readonly stats: DropFindingStats;
}

/**
 * @param judgedVanished the vanished groups to explain, when the caller judged them already (a live
 *   node leaves out those its own capture losses touched); by default all of the pipeline's.
 */
export function findDrops(
  pipeline: SightingPipeline,
  stitcher?: CrossNodeStitcher,
  kernelEvidence?: (g: VanishedGroup) => KernelEvidence | undefined,
  judgedVanished?: readonly JudgedVanished[],
): DropFindings {
  const registry = pipeline.registry;
  const all = judgeGroups(pipeline);
  const judged = { stats: all.stats, vanished: judgedVanished ?? all.vanished };
  const stats: DropFindingStats = { ...judged.stats, transitLostPackets: 0 };
  const byId = new Map<string, ExplainedDrop>();
  for (const { group, expectedExit, reverseExits } of judged.vanished) {
    const kernel = kernelEvidence?.(group);
    merge(byId, explainVanished({ group, expectedExit, reverseExits, ...(kernel ? { kernel } : {}) }));
  }
  for (const loss of stitcher?.losses ?? []) {
    stats.transitLostPackets++;
    merge(byId, transitLossDrop(loss.path, loss.identity, loss.outerDst, loss.ts, registry.nodes[stitcher ? stitcher.nodeOf(loss.outerDst) : -1]?.name ?? loss.outerDst));
  }
  const drops = [...byId.values()].sort((a, b) => (a.event.lastSeen < b.event.lastSeen ? 1 : a.event.lastSeen > b.event.lastSeen ? -1 : a.event.id.localeCompare(b.event.id)));
  return { drops, stats };
}

/** Groups with the same event id (the same packets judged through different candidate keys) add up. */
function merge(byId: Map<string, ExplainedDrop>, d: ExplainedDrop): void {
  const prev = byId.get(d.event.id);
  if (!prev) {
    byId.set(d.event.id, d);
    return;
  }
  const e = prev.event;
  byId.set(d.event.id, {
    path: prev.path,
    event: {
      ...e,
      packets: e.packets + d.event.packets,
      firstSeen: e.firstSeen < d.event.firstSeen ? e.firstSeen : d.event.firstSeen,
      lastSeen: e.lastSeen > d.event.lastSeen ? e.lastSeen : d.event.lastSeen,
    },
  });
}

/** A packet that left one node encapsulated toward another watched node and never arrived there. */
export function transitLossDrop(
  path: ExplainedDrop['path'],
  identity: { src: string; dst: string; proto: number; sport: number | null; dport: number | null },
  outerDst: string,
  ts: number,
  targetNode: string,
): ExplainedDrop {
  const last = path[path.length - 1];
  const node = last?.node ?? '';
  const iface = last?.iface ?? '';
  const proto = ipProtoName(identity.proto);
  const key = { node, iface, src: identity.src, dst: identity.dst, proto, sport: identity.sport, dport: identity.dport };
  const when = new Date(ts).toISOString();
  const event: DropEvent = {
    id: dropEventId(key),
    ...key,
    packets: 1,
    firstSeen: when,
    lastSeen: when,
    verdict: 'vanished',
    confidence: 'possible',
    evidence: [{ kind: 'missing-hop', detail: `left ${node} by ${iface} encapsulated (${last?.encap ?? '?'}) toward ${targetNode} (${outerDst}), never seen arriving there` }],
    remedy: [`ping -c 3 ${outerDst}`, `# check the underlay between ${node} and ${targetNode}: MTU (encapsulation overhead), firewalls for the tunnel protocol (IPIP = IP protocol 4, VXLAN = UDP 4789/8472)`].join('\n'),
  };
  return { event, path };
}
