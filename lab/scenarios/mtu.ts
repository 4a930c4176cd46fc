/**
 * mtu: a black hole for full-sized packets on the wrong node. The tunnels have the MTUs Calico
 * gives them (vxlan.calico 1450, tunl0 1480: the underlay's 1500 less the encapsulation), but the
 * asymmetric pod's interfaces were left at 1500, and the client's side filters ICMP
 * "fragmentation needed":
 *
 *   ip link set dev caliYYYYYYYYYYY mtu 1500                  (n2: the pod's host-side veth)
 *   ip link set dev eth0 mtu 1500                             (pa's namespace)
 *   iptables -A INPUT -p icmp --icmp-type fragmentation-needed -j DROP      (the gateway)
 *
 * pa advertises MSS 1460 in its SYN-ACK (which leaves n2 by eth0, MTU 1500 all the way), so the
 * client sends its data in 1500-byte packets with DF set. They reach n1, whose route to pa is the
 * tunnel: too big for it, and DF forbids fragmenting, so ip_forward drops them (the kernel:
 * PKT_TOO_BIG; Ip FragFails of n1 grows) and answers each with ICMP fragmentation-needed, which
 * the gateway's INPUT drops: the client never learns the path's MTU and retransmits the same
 * segments until it gives up. The small packets of the same flow (the handshake, the FIN) pass, so
 * connect() succeeds and the data vanishes; the probes send data (traffic.tcpSendBytes) to see it.
 * Pings are small and pass both ways; pa's own data to the client leaves n2 by eth0 and passes
 * too (only the client's small ACKs take the tunnel). n2's rp_filter is loose, so n2 drops
 * nothing. The first copy of the client's data reaches n1 as one GSO packet of several segments
 * (veths keep the sender's segmentation), its retransmissions as single 1500-byte packets; both
 * are too big.
 *
 * Remedy (Calico: the pods' MTU is the tunnel's, FelixConfiguration vxlanMTU / ipipMTU; a pod gets
 * it on both ends of its veth when it starts): pa's interfaces to the MTU of n1's tunnel, read
 * from the device rather than assumed,
 *
 *   ip link set dev caliYYYYYYYYYYY mtu 1450                  (on n2)
 *   ip netns exec <pa's namespace> ip link set dev eth0 mtu 1450
 *
 * after which pa advertises an MSS whose packets fit the tunnel. Connections opened before keep
 * the MSS they agreed on, and their retransmissions keep vanishing until they time out: the remedy
 * is for the connections that follow it.
 */
import { iptables } from './iptables.js';
import { looseRpFilterOnN2 } from './quiet-rp-filter.js';
import { onN1Uplink, shellLine, type LabScenario } from './scenario.js';
import type { LabNsRole, StoryTopology } from '../topology.js';

/** What a pod gets with no MTU of its own: an Ethernet's, too big for any tunnel. */
const POD_MTU_UNSET = 1500;

/** A link's MTU as the kernel has it (`ip -j link show`). */
export async function linkMtu(t: StoryTopology, where: LabNsRole, dev: string): Promise<number> {
  const out = await t.exec(where, ['ip', '-j', 'link', 'show', 'dev', dev]);
  const parsed: unknown = JSON.parse(out);
  const mtu = Array.isArray(parsed) && typeof parsed[0] === 'object' && parsed[0] !== null ? (parsed[0] as { mtu?: unknown }).mtu : undefined;
  if (typeof mtu !== 'number') throw new Error(`no MTU for ${dev} in ${where}: ${out.trim()}`);
  return mtu;
}

/** The commands that set the asymmetric pod's MTU, both ends of its veth: [where, argv]. */
function podMtuCommands(t: StoryTopology, mtu: number): Array<[LabNsRole, string[]]> {
  return [
    ['n2', ['ip', 'link', 'set', 'dev', t.nodes.n2.podVeth, 'mtu', String(mtu)]],
    ['pa', ['ip', 'link', 'set', 'dev', t.pods.asymmetric.iface, 'mtu', String(mtu)]],
  ];
}

export const mtuScenario: LabScenario = {
  name: 'mtu',
  expectedVerdict: 'mtu',
  tools: ['iptables'],
  // Several full-sized segments: the handshake passes, these do not.
  traffic: { tcpSendBytes: 4000 },
  dropsAt: onN1Uplink,
  describe: (t) => `loose rp_filter on n2; pa's eth0 and n2's ${t.nodes.n2.podVeth} at MTU ${POD_MTU_UNSET}, larger than n1's ${t.nodes.n1.tunnel}; the gateway drops ICMP fragmentation-needed (INPUT)`,
  inject: async (t) => {
    await looseRpFilterOnN2(t);
    // A veth starts at 1500 today; set it anyway, so the fault does not hang on a default.
    for (const [where, argv] of podMtuCommands(t, POD_MTU_UNSET)) await t.exec(where, argv);
    // The client's own firewall, not Calico's: plain, no cali: comment.
    await iptables(t, 'gw', ['-A', 'INPUT', '-p', 'icmp', '--icmp-type', 'fragmentation-needed', '-j', 'DROP']);
  },
  fix: async (t) => {
    const n2 = t.nodes.n2;
    const pa = t.pods.asymmetric;
    const was = await linkMtu(t, 'pa', pa.iface);
    const mtu = await linkMtu(t, 'n1', t.nodes.n1.tunnel);
    const commands: string[] = [];
    for (const [where, argv] of podMtuCommands(t, mtu)) {
      await t.exec(where, argv);
      // As typed on n2: the pod's namespace is reached from its node.
      commands.push(shellLine(where === 'pa' ? ['ip', 'netns', 'exec', pa.ns, ...argv] : argv));
    }
    return { node: 'n2', ns: n2.ns, commands, was: String(was) };
  },
};
