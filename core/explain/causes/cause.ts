/**
 * One way a packet dies on a node, as the catalog (catalog.ts) knows it: the kernel drop reasons
 * that confirm it, what the node's configuration and counters must show for it to be `likely`,
 * what the traffic alone shows for `possible`, its own evidence lines and its remedy. Adding a
 * cause means adding a module with one of these and listing it in the catalog.
 */
import type { KernelEvidence } from '../../findings/kernel-evidence.js';
import type { VanishCandidate } from '../../findings/node-findings.js';
import type { JudgedCandidate } from '../../judge/judge-findings.js';
import type { Evidence, Verdict } from '../drop-event.js';

/** The judged candidate's node and the pair's exits both ways (see JudgedCandidate), with: */
export interface CauseInput extends Pick<JudgedCandidate, 'node' | 'reverseExits' | 'forwardExits'> {
  readonly group: VanishCandidate;
  /** The node's kernel on the group (live agents); undefined in replay. */
  readonly kernel: KernelEvidence | undefined;
  /** Interfaces other than the arrival one by which traffic from dst to src leaves the node. */
  readonly asymmetricExits: readonly string[];
  /** The kernel reason matched to the group's packets that decided the verdict, if any. */
  readonly kernelReason: string | null;
}

export interface CauseExplanation {
  /** Lines of its own, after the evidence every verdict shows. */
  readonly evidence: readonly Evidence[];
  readonly remedy: string;
  /** A verdict more precise than the cause's own (a netfilter rule that drops conntrack INVALID). */
  readonly verdict?: Verdict;
}

export interface Cause {
  readonly verdict: Verdict;
  /** Kernel drop reasons that, matched to the group's own packets, confirm this cause. */
  readonly kernelReasons: readonly string[];
  /**
   * Whether it claims one of its kernel reasons for this group (default: always). For a reason
   * several causes share: NETFILTER_DROP is conntrack-invalid's when the rule that grew drops
   * conntrack's INVALID packets, netfilter's otherwise.
   */
  claims?(input: CauseInput): boolean;
  /** The node's configuration and counters support it (live only). */
  supportedByNode(input: CauseInput): boolean;
  /** The traffic alone suggests it (replay too). */
  supportedByTraffic(input: CauseInput): boolean;
  explain(input: CauseInput): CauseExplanation;
}
