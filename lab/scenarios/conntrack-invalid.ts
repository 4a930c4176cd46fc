/**
 * conntrack-invalid: the wrong node's connection tracking. n1 carries Calico-like filter rules that
 * drop what conntrack calls INVALID, as Felix renders them:
 *
 *   iptables -N cali-FORWARD
 *   iptables -A FORWARD -m comment --comment cali:... -j cali-FORWARD
 *   iptables -A cali-FORWARD -m comment --comment cali:... -m conntrack --ctstate INVALID -j DROP
 *
 * The story's asymmetry does the rest. n1 sees only the client's half of the asymmetric pod's flows
 * (client -> n1 -> tunnel -> n2 -> pa; pa's answers leave n2 by eth0 straight to the gateway), so:
 *  - the client's TCP to pa: the SYN is NEW and passes, the SYN-ACK comes back around n1 (the
 *    client's connect() succeeds), and the handshake's ACK meets a connection n1 holds in SYN_SENT:
 *    an ACK from the originator before any SYN-ACK is invalid to the state machine, and so is every
 *    segment after it. They die in FORWARD (the kernel: NETFILTER_DROP, conntrack's `invalid`
 *    counter grows); pa never sees the connection established.
 *  - pa's own traffic to the client: the request leaves n2 by eth0, and the client's answers (the
 *    SYN-ACK, the echo replies) are the first packets of their flows n1 sees. A SYN-ACK or an echo
 *    reply cannot start a connection: INVALID, dropped the same way.
 *  - the client's pings to pa pass: every echo request is NEW (n1 never sees a reply to make it
 *    anything else), and NEW is not INVALID.
 * n2's rp_filter is loose, so n2 drops nothing. The healthy pod's flows pass n1 both ways, and
 * conntrack follows them.
 *
 * Why the probes send data (traffic.tcpSendBytes): the client's connect() succeeds on the SYN-ACK it
 * gets, so only data that must be acknowledged shows the broken connection (the probe "stalls").
 *
 * Remedy, as pathwatch prints it (Calico: a doNotTrack policy for the pair, applyOnForward): exempt
 * the pair from conntrack on n1, in the raw table, before conntrack looks at the packets
 *
 *   iptables -t raw -I PREROUTING -i eth0 -s 100.64.0.1/32 -d 10.91.1.130/32 -j NOTRACK
 *
 * Untracked packets are UNTRACKED, not INVALID, so the DROP no longer matches; every other flow
 * stays tracked and the INVALID rule stays (Felix would put it back). Written plain, without a
 * `cali:` comment: it is the command an operator types from pathwatch's remedy, not a rule Felix
 * renders (Felix puts a doNotTrack policy in chains of its own, which the lab does not build).
 */
import { calicoRule, iptables } from './iptables.js';
import { FORWARD_CHAIN } from './policy.js';
import { looseRpFilterOnN2 } from './quiet-rp-filter.js';
import { onN1Uplink, shellLine, type LabScenario } from './scenario.js';
import type { StoryTopology } from '../topology.js';

/** The rule that drops INVALID packets in n1's cali-FORWARD (for its counter in the tests). */
export function invalidDropRule(): string[] {
  return calicoRule([], ['-m', 'conntrack', '--ctstate', 'INVALID'], ['-j', 'DROP']);
}

function notrackRule(t: StoryTopology): string[] {
  return ['-i', t.nodes.n1.uplink, '-s', `${t.gateway.clientAddress}/32`, '-d', `${t.pods.asymmetric.address}/32`, '-j', 'NOTRACK'];
}

export const conntrackInvalidScenario: LabScenario = {
  name: 'conntrack-invalid',
  expectedVerdict: 'conntrack-invalid',
  tools: ['iptables'],
  // A little data, well under any tunnel's MTU: the only fault must stay conntrack's.
  traffic: { tcpSendBytes: 1000 },
  dropsAt: onN1Uplink,
  describe: () => `loose rp_filter on n2; n1, which sees one direction of the asymmetric flows, drops conntrack INVALID in its filter FORWARD (${FORWARD_CHAIN}: -m conntrack --ctstate INVALID -j DROP)`,
  inject: async (t) => {
    await looseRpFilterOnN2(t);
    await iptables(t, 'n1', ['-N', FORWARD_CHAIN]);
    await iptables(t, 'n1', ['-A', 'FORWARD', ...calicoRule([], [], ['-j', FORWARD_CHAIN])]);
    await iptables(t, 'n1', ['-A', FORWARD_CHAIN, ...invalidDropRule()]);
  },
  fix: async (t) => {
    const argv = await iptables(t, 'n1', ['-t', 'raw', '-I', 'PREROUTING', ...notrackRule(t)]);
    return { node: 'n1', ns: t.nodes.n1.ns, commands: [shellLine(argv)] };
  },
};
