/**
 * blackhole: the pod's address has no route of its own on n2 and falls into the pod block's
 * blackhole route. Calico installs `blackhole <block> proto bird` on the node that owns a block, so
 * that addresses of the block with no pod behind them go nowhere; a pod whose /32 route is missing
 * (an endpoint Felix has not programmed, or a stale address) dies there:
 *
 *   ip route del 10.91.1.130/32 dev caliXXXXXXXXXXX
 *   ip route add blackhole 10.91.1.128/26 proto bird
 *
 * The lookup of a blackhole route fails (EINVAL): the packet gets no route and is dropped in
 * ip_error, silently. rp_filter is off on n2 except the tunnel (see rpFilterOffForPodOnN2): with
 * the pod's route gone, any reverse-path check would fail the pod's own packets on its veth too.
 *
 * Remedy: the pod's route back, as Felix programs it (`ip route add 10.91.1.130/32 dev caliX scope
 * link`); the blackhole stays, as on a Calico node: the /32 is more specific.
 */
import { rpFilterOffForPodOnN2 } from './quiet-rp-filter.js';
import { onN2Tunnel, shellLine, type LabScenario } from './scenario.js';
import type { StoryTopology } from '../topology.js';

function podRoute(t: StoryTopology): string[] {
  return [`${t.pods.asymmetric.address}/32`, 'dev', t.nodes.n2.podVeth, 'scope', 'link'];
}

export const blackholeScenario: LabScenario = {
  name: 'blackhole',
  expectedVerdict: 'no-route',
  tools: [],
  dropsAt: onN2Tunnel,
  describe: (t) => `rp_filter off but on the tunnel (loose); no route to ${t.pods.asymmetric.address} on n2 but blackhole ${t.nodes.n2.podBlock} proto bird`,
  inject: async (t) => {
    await rpFilterOffForPodOnN2(t);
    await t.exec('n2', ['ip', 'route', 'del', ...podRoute(t)]);
    await t.exec('n2', ['ip', 'route', 'add', 'blackhole', t.nodes.n2.podBlock, 'proto', 'bird']);
  },
  fix: async (t) => {
    const argv = ['ip', 'route', 'add', ...podRoute(t)];
    await t.exec('n2', argv);
    return { node: 'n2', ns: t.nodes.n2.ns, commands: [shellLine(argv)] };
  },
};
