/**
 * policy: a network policy denying the client, as Calico renders one in n2's filter table. FORWARD
 * jumps to `cali-FORWARD`, which sends packets for the pod's veth to its to-workload chain
 * `cali-tw-<veth>`, which runs the policy's chain `cali-pi-_<id>`, whose deny rule drops the client:
 *
 *   -A FORWARD -m comment --comment cali:... -j cali-FORWARD
 *   -A cali-FORWARD -o caliXXXXXXXXXXX -m comment --comment cali:... -j cali-tw-caliXXXXXXXXXXX
 *   -A cali-tw-caliXXXXXXXXXXX -m comment --comment cali:... -j cali-pi-_...
 *   -A cali-pi-_... -s 100.64.0.1/32 -m comment --comment cali:... -j DROP
 *
 * n2's rp_filter is loose, so only the rule drops: the packets come in by the tunnel, are routed
 * to the pod's veth, and die in FORWARD (the kernel: NETFILTER_DROP). The pod's own packets to the
 * client leave by eth0 and pass; the answers come back by the tunnel and die the same way.
 *
 * Remedy: the deny rule removed (in a cluster: the policy changed or deleted, which makes Felix
 * remove it), `iptables -D cali-pi-_... <the rule>`.
 */
import { createHash } from 'node:crypto';
import { calicoRule, iptables } from './iptables.js';
import { looseRpFilterOnN2 } from './quiet-rp-filter.js';
import { onN2Tunnel, shellLine, type LabScenario } from './scenario.js';
import type { StoryTopology } from '../topology.js';

export const FORWARD_CHAIN = 'cali-FORWARD';
/**
 * Felix names a policy's chain `cali-pi-` and the policy's name, or `_` and a hash of it when the
 * name would not fit in iptables' 28 characters.
 */
export const POLICY_CHAIN = `cali-pi-_${createHash('sha256').update('default/deny-client').digest('base64url').slice(0, 19)}`;

function toWorkloadChain(t: StoryTopology): string {
  return `cali-tw-${t.nodes.n2.podVeth}`;
}

function denyRule(t: StoryTopology): string[] {
  return calicoRule(['-s', `${t.gateway.clientAddress}/32`], [], ['-j', 'DROP']);
}

export const policyScenario: LabScenario = {
  name: 'policy',
  expectedVerdict: 'netfilter',
  tools: ['iptables'],
  dropsAt: onN2Tunnel,
  describe: (t) => `loose rp_filter; a policy denying ${t.gateway.clientAddress} in n2's filter FORWARD (${FORWARD_CHAIN} -> ${toWorkloadChain(t)} -> ${POLICY_CHAIN}: -j DROP)`,
  inject: async (t) => {
    const tw = toWorkloadChain(t);
    await looseRpFilterOnN2(t);
    for (const chain of [FORWARD_CHAIN, tw, POLICY_CHAIN]) await iptables(t, 'n2', ['-N', chain]);
    await iptables(t, 'n2', ['-A', 'FORWARD', ...calicoRule([], [], ['-j', FORWARD_CHAIN])]);
    await iptables(t, 'n2', ['-A', FORWARD_CHAIN, ...calicoRule(['-o', t.nodes.n2.podVeth], [], ['-j', tw])]);
    await iptables(t, 'n2', ['-A', tw, ...calicoRule([], [], ['-j', POLICY_CHAIN])]);
    await iptables(t, 'n2', ['-A', POLICY_CHAIN, ...denyRule(t)]);
  },
  fix: async (t) => {
    const argv = await iptables(t, 'n2', ['-D', POLICY_CHAIN, ...denyRule(t)]);
    return { node: 'n2', ns: t.nodes.n2.ns, commands: [shellLine(argv)] };
  },
};
