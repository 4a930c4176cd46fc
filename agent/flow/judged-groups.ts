/**
 * Every vanish candidate of a pipeline, judged with what its node's traffic taught: the ones that
 * really vanished (with the interface they should have left by and the interfaces traffic back to
 * their source leaves by), and counts of the rest. Shared by the agent, which ships the vanished
 * groups, and by replay and the collector, which explain them.
 */
import type { VanishedGroup } from '../../core/findings/hop.js';
import { judgeVanishedGroup } from '../../core/judge/judge-vanished-group.js';
import type { SightingPipeline } from './sighting-pipeline.js';

export interface JudgedVanished {
  readonly group: VanishedGroup;
  /** The interface the packets should have left by, when known. */
  readonly expectedExit: string | null;
  /** Interfaces by which traffic from the destination back to the source left the node. */
  readonly reverseExits: string[];
}

export interface JudgingStats {
  vanishedPackets: number;
  /** Arrived and not seen leaving, but the exit interface was not captured (or the direction is unknown). */
  unobservedPackets: number;
  unobservedReasons: Record<string, number>;
  /** Packets to or from the node's own addresses. */
  localPackets: number;
}

export function judgeGroups(pipeline: SightingPipeline): { vanished: JudgedVanished[]; stats: JudgingStats } {
  const registry = pipeline.registry;
  const name = (id: number) => registry.interfaces[id]?.name ?? `if${id}`;
  const stats: JudgingStats = { vanishedPackets: 0, unobservedPackets: 0, unobservedReasons: {}, localPackets: 0 };
  const vanished: JudgedVanished[] = [];
  for (const m of pipeline.matchers) {
    if (!m) continue;
    // Packets already known at matching time to be for the node never became groups.
    stats.localPackets += m.stats.local;
    for (const g of m.vanished.values()) {
      const j = judgeVanishedGroup(g, m.node, m.knowledge);
      if (j.outcome === 'local') {
        stats.localPackets += g.packets;
      } else if (j.outcome !== 'vanished') {
        stats.unobservedPackets += g.packets;
        stats.unobservedReasons[j.reason] = (stats.unobservedReasons[j.reason] ?? 0) + g.packets;
      } else {
        stats.vanishedPackets += g.packets;
        vanished.push({
          group: g,
          expectedExit: j.expectedExit >= 0 ? name(j.expectedExit) : null,
          reverseExits: m.knowledge.exitsFor(g.dstKey, g.srcKey).map(name),
        });
      }
    }
  }
  return { vanished, stats };
}
