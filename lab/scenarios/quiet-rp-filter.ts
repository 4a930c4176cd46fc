/**
 * n2's reverse-path filter made harmless, so that a scenario's own fault is the only thing that
 * drops the story's packets there: the story sends the pod's traffic in by the tunnel while the way
 * back leaves by eth0, which strict rp_filter (the rp-filter scenario) drops by itself.
 */
import { sysctlKeyForInterface, type StoryTopology } from '../topology.js';

/**
 * Loose mode (2) on `all` and on the tunnel: the route back to the client exists (by eth0), so
 * loose mode passes every story packet, and the node keeps its spoofing protection. The pod's veth
 * keeps its strict 1, which loose `all` turns into loose in effect (max(all, iface)); its route
 * back to the pod is the veth itself, so it would pass either way.
 */
export async function looseRpFilterOnN2(topology: StoryTopology): Promise<void> {
  const n2 = topology.nodes.n2;
  await topology.exec('n2', ['sysctl', '-q', '-w', 'net.ipv4.conf.all.rp_filter=2', `${sysctlKeyForInterface(n2.tunnel, 'rp_filter')}=2`]);
}

/**
 * rp_filter off on `all` and the pod's veth, loose on the tunnel: for a fault that takes the route
 * to the pod away (blackhole). Then even loose mode fails the pod's own packets on its veth (the
 * reverse lookup of its address ends on the blackhole, not a unicast route, and loose mode wants
 * one), and the proxy ARP that answers the pod for 169.254.1.1 makes the same check and stays
 * silent: the pod could not even send, and n2 would show a reverse-path drop on the veth on top of
 * the blackhole. The tunnel stays loose: the route back to the client exists, so it drops nothing.
 */
export async function rpFilterOffForPodOnN2(topology: StoryTopology): Promise<void> {
  const n2 = topology.nodes.n2;
  await topology.exec('n2', ['sysctl', '-q', '-w', 'net.ipv4.conf.all.rp_filter=0',
    `${sysctlKeyForInterface(n2.podVeth, 'rp_filter')}=0`, `${sysctlKeyForInterface(n2.tunnel, 'rp_filter')}=2`]);
}
