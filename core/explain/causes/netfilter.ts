/**
 * A netfilter rule dropped the packets: a network policy, a host firewall, or Calico's own
 * reverse-path check (`-m rpfilter --invert -j DROP` in the raw table), which rp_filter=0 does not
 * turn off. The kernel says NETFILTER_DROP; the rules whose drop counters grew meanwhile say which.
 */
import { netfilterRemedy } from '../remedy.js';
import type { NetfilterRuleGrowth } from '../../findings/kernel-evidence.js';
import type { Evidence } from '../drop-event.js';
import type { Cause } from './cause.js';

/** Calico's (or anyone's) reverse-path check done by netfilter rather than by rp_filter. */
export function isReversePathRule(rule: NetfilterRuleGrowth): boolean {
  return /-m rpfilter\b/.test(rule.rule) && /--invert\b/.test(rule.rule);
}

/** One evidence line per rule, most packets first. */
export function netfilterRuleEvidence(rules: readonly NetfilterRuleGrowth[]): Evidence[] {
  return [...rules].sort((a, b) => b.packets - a.packets).map((r) => ({
    kind: 'netfilter-rule',
    detail: `${r.table} ${r.chain}: ${r.rule} (+${r.packets} packet(s) while these vanished)${isReversePathRule(r) ? `: a reverse-path check in netfilter (Calico's), which rp_filter=0 does not turn off` : ''}`,
  }));
}

export const netfilter: Cause = {
  verdict: 'netfilter',
  kernelReasons: ['NETFILTER_DROP'],
  supportedByNode({ kernel, group }) {
    // A dropping rule that counted at least as many packets as vanished: it can have taken them all.
    return (kernel?.netfilterRules ?? []).some((r) => r.packets > 0 && r.packets >= group.packets);
  },
  supportedByTraffic() {
    return false;
  },
  explain({ group, kernel }) {
    const rules = [...(kernel?.netfilterRules ?? [])].sort((a, b) => b.packets - a.packets);
    return { evidence: netfilterRuleEvidence(rules), remedy: netfilterRemedy(group.identity.dst, rules[0] ?? null, group.iface, group.identity.src) };
  },
};
