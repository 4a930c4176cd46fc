/**
 * neighbour: the pod's end of its veth is down, as when a pod's network dies under it (its
 * sandbox being torn down, a crashed CNI plugin, someone in the pod's namespace):
 *
 *   ip link set eth0 down                                      (pa's namespace)
 *
 * The kernel takes pa's own routes with it (its default via 169.254.1.1), and n2's end of the
 * veth loses its carrier (NO-CARRIER), but n2's route to the pod stays (`10.91.1.130 dev caliY
 * scope link`, now marked linkdown: a route goes when its device goes down, not its carrier). So
 * the client's packets arrive on n2's tunnel and are routed to the veth as before; n2 asks who has
 * 10.91.1.130, and its ARP requests die in the carrier-less device's queue (QDISC_DROP, the
 * veth's tx dropped counter). The packets wait in the neighbour entry's queue (INCOMPLETE) and,
 * after the solicitations (3 x 1 s), are freed when it turns FAILED (the kernel: NEIGH_FAILED in
 * neigh_invalidate); n2 then answers each with ICMP host unreachable, about 3 s late, which the
 * lab's short probes no longer wait for. Nothing leaves by the veth. pa itself cannot send at all
 * (no route: ENETUNREACH), so its probes fail in its own namespace.
 *
 * n2's rp_filter is loose: with the pod silent nothing of it reaches the veth, and the way back to
 * the client from the tunnel exists. Unlike blackhole, no route is missing, so loose is enough.
 *
 * Remedy, as a pod restart would do it (the CNI brings the pod's interface up and puts its default
 * route back; topology.ts wires pods the Calico way: default via 169.254.1.1 onlink):
 *
 *   ip link set eth0 up                                        (pa's namespace)
 *   ip route replace default via 169.254.1.1 dev eth0 onlink   (pa's namespace)
 */
import { STORY } from '../topology.js';
import { looseRpFilterOnN2 } from './quiet-rp-filter.js';
import { onN2Tunnel, shellLine, type LabScenario } from './scenario.js';

export const neighbourScenario: LabScenario = {
  name: 'neighbour',
  expectedVerdict: 'neighbour',
  tools: [],
  dropsAt: onN2Tunnel,
  describe: (t) => `loose rp_filter on n2; pa's eth0 down: n2's route to ${t.pods.asymmetric.address} still points at ${t.nodes.n2.podVeth} (no carrier) and nobody answers its ARP`,
  inject: async (t) => {
    await looseRpFilterOnN2(t);
    await t.exec('pa', ['ip', 'link', 'set', t.pods.asymmetric.iface, 'down']);
  },
  fix: async (t) => {
    const pa = t.pods.asymmetric;
    const commands = [
      ['ip', 'link', 'set', pa.iface, 'up'],
      ['ip', 'route', 'replace', 'default', 'via', STORY.podGateway, 'dev', pa.iface, 'onlink'],
    ];
    for (const argv of commands) await t.exec('pa', argv);
    return { node: 'pa', ns: pa.ns, commands: commands.map(shellLine) };
  },
};
