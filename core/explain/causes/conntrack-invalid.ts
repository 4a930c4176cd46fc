/**
 * conntrack marked the packets INVALID and a rule dropped them. The usual story: asymmetric
 * routing sends a TCP flow's two directions through different nodes, so the conntrack of a node
 * that sees only one direction meets the handshake's ACK without having seen the SYN-ACK (the
 * state machine says SYN_SENT + ACK from the originator is invalid), and everything after it is
 * INVALID too; Calico (and most host firewalls) drop INVALID (`-m conntrack --ctstate INVALID -j
 * DROP`). The kernel says NETFILTER_DROP, like any rule; the rule that grew says which.
 */
import { conntrackInvalidRemedy } from '../remedy.js';
import type { NetfilterRuleGrowth } from '../../findings/kernel-evidence.js';
import type { Evidence } from '../drop-event.js';
import type { Cause, CauseInput } from './cause.js';
import { netfilterRuleEvidence } from './netfilter.js';

const TCP = 6;

/** A rule that matches conntrack's INVALID state (`--ctstate INVALID`, `--state NEW,INVALID`, ...). */
export function isInvalidStateRule(rule: NetfilterRuleGrowth): boolean {
  return /--(?:ct)?state\s+(?:\S+,)?INVALID(?:,\S+)?(?:\s|$)/.test(rule.rule);
}

/**
 * The dropping rules that grew, most first, when the first is one for INVALID packets: a policy
 * rule that counted more is the likelier taker, and then the cause is plain netfilter.
 */
function invalidRules(input: CauseInput): NetfilterRuleGrowth[] {
  const grown = (input.kernel?.netfilterRules ?? []).filter((r) => r.packets > 0).sort((a, b) => b.packets - a.packets);
  const top = grown[0];
  return top !== undefined && isInvalidStateRule(top) ? grown.filter(isInvalidStateRule) : [];
}

/** Only one direction of the pair passed the node, and packets of it did leave: conntrack saw half a flow. */
function oneSidedFlow({ group, forwardExits, reverseExits }: CauseInput): boolean {
  return group.identity.proto === TCP && forwardExits.length > 0 && reverseExits.length === 0;
}

export const conntrackInvalid: Cause = {
  verdict: 'conntrack-invalid',
  kernelReasons: ['NETFILTER_DROP'],
  claims(input) {
    return invalidRules(input).length > 0;
  },
  supportedByNode(input) {
    const rules = invalidRules(input);
    const counted = Math.max(rules[0]?.packets ?? 0, input.kernel?.conntrackInvalidDelta ?? 0);
    return rules.length > 0 && counted >= input.group.packets;
  },
  supportedByTraffic(input) {
    return oneSidedFlow(input);
  },
  explain(input) {
    const { group, node, kernel, forwardExits } = input;
    const id = group.identity;
    const rules = invalidRules(input);
    const evidence: Evidence[] = [];
    if (oneSidedFlow(input)) {
      evidence.push({ kind: 'one-sided-flow', detail: `packets from ${id.src} to ${id.dst} left ${node} by ${forwardExits.join(', ')}, but none from ${id.dst} to ${id.src} passed ${node}: its conntrack sees half of the flow, and the packets after the SYN are INVALID to it` });
    }
    if (kernel?.conntrackInvalidDelta !== undefined) evidence.push({ kind: 'conntrack-counter', detail: `nf_conntrack invalid +${kernel.conntrackInvalidDelta} while these vanished` });
    evidence.push(...netfilterRuleEvidence(rules));
    return { evidence, remedy: conntrackInvalidRemedy({ src: id.src, dst: id.dst, iface: group.iface, node, rule: rules[0] ?? null }) };
  },
};
