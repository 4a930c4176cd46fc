/**
 * The last word on a vanish candidate, once the node's traffic has taught what it can: is it a packet
 * that really vanished, one for or from the node itself, or one whose exit we could not have seen?
 * CONTRACT.md: a packet is judged vanished only when the interface it should have left by was
 * captured (an `any` capture covers them all); otherwise it is unobserved, never a drop event.
 */
import type { VanishedGroup } from '../findings/hop.js';
import type { NodeInfo } from '../../agent/flow/interface-registry.js';
import type { NodeKnowledge } from '../../agent/flow/node-knowledge.js';

export type GroupOutcome =
  | { readonly outcome: 'vanished'; readonly expectedExit: number }
  | { readonly outcome: 'local' | 'unobserved' | 'left'; readonly reason: string };

export function judgeVanishedGroup(group: VanishedGroup, node: NodeInfo, knowledge: NodeKnowledge): GroupOutcome {
  if (group.role === 'loopback' || group.srcKey === group.dstKey) return { outcome: 'local', reason: 'the node talking to itself' };
  if (knowledge.isLocal(group.dstKey)) return { outcome: 'local', reason: 'destination is an address of the node' };
  if (knowledge.isLocal(group.srcKey)) return { outcome: 'local', reason: 'source is an address of the node' };
  const iface = group.ifaceId;
  const dstAt = knowledge.locationOf(group.dstKey);
  if (group.directionUncertain) {
    const own = knowledge.ownMac(iface);
    let arriving = false;
    if (own >= 0 && group.arrivalMacDst === own) arriving = true;
    else if (own >= 0 && group.arrivalMacSrc === own) return { outcome: 'left', reason: 'sent by the interface itself (learned MAC)' };
    else if (dstAt >= 0 && dstAt !== iface) arriving = true;
    else {
      const srcAt = knowledge.locationOf(group.srcKey);
      if (srcAt >= 0 && srcAt !== iface) return { outcome: 'left', reason: 'source lives behind another interface' };
    }
    if (!arriving) return { outcome: 'unobserved', reason: 'direction unknown' };
  }
  if (node.coversAllInterfaces) return { outcome: 'vanished', expectedExit: dstAt };
  // The destination lives behind another captured interface: the packet should have shown there.
  // (Behind the interface it came in by, it would have to hairpin: not something one capture shows.)
  if (dstAt >= 0 && dstAt !== iface) return { outcome: 'vanished', expectedExit: dstAt };
  return { outcome: 'unobserved', reason: 'the interface it should have left by was not captured' };
}
