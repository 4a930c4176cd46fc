/**
 * From findings to drop events, the end of correlation: every node's candidates judged with what
 * that node's traffic taught, the transit losses the stitcher found between nodes, each explained
 * by the one producer of verdicts, all merged by the one rule in a canonical order (nodes by name,
 * candidates by time), so the result does not depend on the order findings were made in. What
 * could not be judged is counted, never reported as a drop.
 */
import { explainTransitLoss, explainVanished, type ExplainedDrop } from '../explain/explain-drop.js';
import { compareCandidates } from '../findings/candidate-order.js';
import type { NodeFindings } from '../findings/node-findings.js';
import { emptyJudgingStats, judgeFindings, type JudgedCandidate, type JudgingStats } from '../judge/judge-findings.js';
import { mergeAll } from '../merge/merge-drop.js';
import type { TransitLoss } from './tunnel-stitcher.js';

export interface DropFindingStats extends JudgingStats {
  /** Encapsulated packets that left one watched node and never arrived at the next. */
  transitLostPackets: number;
}

export interface DropFindings {
  readonly drops: ExplainedDrop[];
  readonly stats: DropFindingStats;
  /** The candidates judged vanished, in canonical order (what `replay --collector` sends). */
  readonly vanished: readonly JudgedCandidate[];
}

export function findDrops(findings: readonly NodeFindings[], transitLosses: readonly TransitLoss[] = []): DropFindings {
  const stats = emptyJudgingStats();
  const vanished: JudgedCandidate[] = [];
  for (const f of [...findings].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))) {
    const ordered = { ...f, candidates: [...f.candidates].sort(compareCandidates) };
    vanished.push(...judgeFindings(ordered, stats).vanished);
  }
  const explained = [...vanished.map((j) => explainVanished(j)), ...transitLosses.map(explainTransitLoss)];
  return { drops: mergeAll(explained), stats: { ...stats, transitLostPackets: transitLosses.length }, vanished };
}
