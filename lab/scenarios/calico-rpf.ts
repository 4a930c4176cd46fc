/**
 * calico-rpf: Calico's own reverse-path check, in netfilter rather than the kernel's rp_filter. In
 * n2's raw table, PREROUTING jumps to `cali-PREROUTING`, which sends the tunnel's packets through
 * `cali-rpf-skip` (Calico's exemption chain, empty) and then drops those whose source would not be
 * routed back by the interface they came in by:
 *
 *   -A PREROUTING -m comment --comment cali:... -j cali-PREROUTING
 *   -A cali-PREROUTING -i tunl0 -m comment --comment cali:... -j cali-rpf-skip
 *   -A cali-PREROUTING -i tunl0 -m comment --comment cali:... -m rpfilter --validmark --invert -j DROP
 *
 * n2's rp_filter sysctl is loose, so the kernel's own check passes: setting rp_filter to 0 or 2 does
 * nothing for these drops, and the kernel reports NETFILTER_DROP, not IP_RPFILTER.
 *
 * Remedy: the exemption, in Calico's exemption chain, for the client's packets arriving by the tunnel
 *   iptables -t raw -A cali-rpf-skip -i tunl0 -s 100.64.0.1/32 -j ACCEPT
 * (an ACCEPT in the raw table ends the raw table's checks for the packet, so the DROP after it is
 * never reached). Why this one: the asymmetry itself is the gateway's routing, outside the node;
 * deleting the check would take the spoofing protection from every source and interface, and Felix
 * puts its rules back anyway; the exemption keeps the check for every other source, and
 * cali-rpf-skip is where Calico itself puts the sources a workload may use
 * (the `cni.projectcalico.org/allowedSourcePrefixes` annotation). The remedy text says the same.
 */
import { calicoRule, iptables } from './iptables.js';
import { looseRpFilterOnN2 } from './quiet-rp-filter.js';
import { onN2Tunnel, shellLine, type LabScenario } from './scenario.js';

export const RAW_CHAIN = 'cali-PREROUTING';
export const RPF_SKIP_CHAIN = 'cali-rpf-skip';

export const calicoRpfScenario: LabScenario = {
  name: 'calico-rpf',
  expectedVerdict: 'netfilter',
  tools: ['iptables'],
  dropsAt: onN2Tunnel,
  describe: (t) => `loose rp_filter; Calico's reverse-path check in n2's raw table (${RAW_CHAIN}: -i ${t.nodes.n2.tunnel} -m rpfilter --validmark --invert -j DROP)`,
  inject: async (t) => {
    const tunnel = t.nodes.n2.tunnel;
    await looseRpFilterOnN2(t);
    await iptables(t, 'n2', ['-t', 'raw', '-N', RAW_CHAIN]);
    await iptables(t, 'n2', ['-t', 'raw', '-N', RPF_SKIP_CHAIN]);
    await iptables(t, 'n2', ['-t', 'raw', '-A', 'PREROUTING', ...calicoRule([], [], ['-j', RAW_CHAIN])]);
    await iptables(t, 'n2', ['-t', 'raw', '-A', RAW_CHAIN, ...calicoRule(['-i', tunnel], [], ['-j', RPF_SKIP_CHAIN])]);
    await iptables(t, 'n2', ['-t', 'raw', '-A', RAW_CHAIN, ...calicoRule(['-i', tunnel], ['-m', 'rpfilter', '--validmark', '--invert'], ['-j', 'DROP'])]);
  },
  fix: async (t) => {
    const n2 = t.nodes.n2;
    const argv = await iptables(t, 'n2', ['-t', 'raw', '-A', RPF_SKIP_CHAIN, '-i', n2.tunnel, '-s', `${t.gateway.clientAddress}/32`, '-j', 'ACCEPT']);
    return { node: 'n2', ns: n2.ns, commands: [shellLine(argv)] };
  },
};
