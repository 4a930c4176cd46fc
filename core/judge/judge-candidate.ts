/**
 * The last word on a vanish candidate, from what its node's traffic taught: is it a packet that
 * really vanished, one for or from the node itself, one that left after all, or one whose exit we
 * could not have seen? CONTRACT.md: a packet is judged vanished only when the interface it should
 * have left by was captured (an `any` capture covers them all); otherwise it is unobserved, never
 * a drop event. A gap while the node's own capture was losing packets is unobserved too.
 */
import type { VanishCandidate } from '../findings/node-findings.js';
import type { NodeFacts } from './node-facts.js';

export type CandidateOutcome =
  | {
      readonly outcome: 'vanished';
      /** The interface the packets should have left by, when known. */
      readonly expectedExit: string | null;
      /** Interfaces by which traffic from the destination back to the source left the node. */
      readonly reverseExits: readonly string[];
      /** Interfaces by which other packets from the source to the destination left the node. */
      readonly forwardExits: readonly string[];
    }
  | { readonly outcome: 'local' | 'unobserved' | 'left'; readonly reason: string };

export function judgeCandidate(c: VanishCandidate, facts: NodeFacts): CandidateOutcome {
  const { src, dst } = c.identity;
  if (c.role === 'loopback' || src === dst) return { outcome: 'local', reason: 'the node talking to itself' };
  if (facts.isLocal(dst)) return { outcome: 'local', reason: 'destination is an address of the node' };
  if (facts.isLocal(src)) return { outcome: 'local', reason: 'source is an address of the node' };
  if (facts.lostCaptureDuring(c.firstSeen, c.lastSeen)) return { outcome: 'unobserved', reason: 'the capture itself lost packets then' };
  const dstAt = facts.locationOf(dst);
  if (c.directionUncertain) {
    const arrival = arrivalByInference(c, facts, dstAt);
    if (arrival !== 'arriving') return arrival;
  }
  const vanished = (expectedExit: string | null): CandidateOutcome => ({ outcome: 'vanished', expectedExit, reverseExits: facts.exitsFor(dst, src), forwardExits: facts.exitsFor(src, dst) });
  if (facts.coversAllInterfaces) return vanished(dstAt);
  // The destination lives behind another captured interface: the packet should have shown there.
  // (Behind the interface it came in by, it would have to hairpin: not something one capture shows.)
  if (dstAt !== null && dstAt !== c.iface) return vanished(dstAt);
  return { outcome: 'unobserved', reason: 'the interface it should have left by was not captured' };
}

/** A candidate seen where nothing told its direction: an arrival only if the node's knowledge says so. */
function arrivalByInference(c: VanishCandidate, facts: NodeFacts, dstAt: string | null): 'arriving' | CandidateOutcome {
  const own = facts.ownMac(c.iface);
  if (own !== null && c.arrivalMacDst === own) return 'arriving';
  if (own !== null && c.arrivalMacSrc === own) return { outcome: 'left', reason: 'sent by the interface itself (learned MAC)' };
  if (dstAt !== null && dstAt !== c.iface) return 'arriving';
  const srcAt = facts.locationOf(c.identity.src);
  if (srcAt !== null && srcAt !== c.iface) return { outcome: 'left', reason: 'source lives behind another interface' };
  return { outcome: 'unobserved', reason: 'direction unknown' };
}
