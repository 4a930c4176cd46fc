/**
 * Every candidate of one node's findings, judged: the ones that vanished (with where they should
 * have left and where the traffic back leaves), and what the rest came to. The same function for
 * replay, watch and the collector's ingest.
 */
import type { NodeFindings, VanishCandidate } from '../findings/node-findings.js';
import { judgeCandidate } from './judge-candidate.js';
import { NodeFacts } from './node-facts.js';

export interface JudgedCandidate {
  readonly node: string;
  readonly candidate: VanishCandidate;
  /** The interface the packets should have left by, when known. */
  readonly expectedExit: string | null;
  /** Interfaces by which traffic from the destination back to the source left the node. */
  readonly reverseExits: readonly string[];
  /** Interfaces by which other packets from the source to the destination left the node. */
  readonly forwardExits: readonly string[];
}

export interface JudgingStats {
  vanishedPackets: number;
  /** Arrived and not seen leaving, but the exit interface was not captured (or the direction is unknown). */
  unobservedPackets: number;
  unobservedReasons: Record<string, number>;
  /** Packets to or from the node's own addresses. */
  localPackets: number;
  /** Seen on one interface only and, after all, leaving it. */
  leftPackets: number;
}

export function emptyJudgingStats(): JudgingStats {
  return { vanishedPackets: 0, unobservedPackets: 0, unobservedReasons: {}, localPackets: 0, leftPackets: 0 };
}

/** Judges one node's candidates; adds what they came to into `stats`. */
export function judgeFindings(findings: NodeFindings, stats: JudgingStats = emptyJudgingStats()): { vanished: JudgedCandidate[]; stats: JudgingStats } {
  const facts = new NodeFacts(findings);
  const vanished: JudgedCandidate[] = [];
  // Packets already known to be for the node when they were matched never became candidates.
  stats.localPackets += findings.counters.local;
  for (const candidate of findings.candidates) {
    const j = judgeCandidate(candidate, facts);
    if (j.outcome === 'vanished') {
      stats.vanishedPackets += candidate.packets;
      vanished.push({ node: findings.node, candidate, expectedExit: j.expectedExit, reverseExits: j.reverseExits, forwardExits: j.forwardExits });
    } else if (j.outcome === 'local') {
      stats.localPackets += candidate.packets;
    } else if (j.outcome === 'left') {
      stats.leftPackets += candidate.packets;
    } else {
      stats.unobservedPackets += candidate.packets;
      stats.unobservedReasons[j.reason] = (stats.unobservedReasons[j.reason] ?? 0) + candidate.packets;
    }
  }
  return { vanished, stats };
}
