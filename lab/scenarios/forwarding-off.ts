/**
 * forwarding-off: IPv4 forwarding disabled on the interface the pod's packets arrive by, n2's
 * tunnel (`net.ipv4.conf.<tunnel>.forwarding=0`), while the node forwards everywhere else
 * (ip_forward=1). Linux decides forwarding by the ingress interface: the packet for the pod gets no
 * route (ip_route_input: EHOSTUNREACH) and dies in ip_error, without an ICMP error. n2's rp_filter
 * is loose, so nothing else drops. The pod's own packets come in by its veth and leave by eth0; the
 * answers come back by the tunnel and die the same way.
 *
 * Remedy: forwarding back on for the tunnel, `sysctl -w net.ipv4.conf.<tunnel>.forwarding=1`.
 */
import { readSysctl, sysctlKeyForInterface, type StoryTopology } from '../topology.js';
import { looseRpFilterOnN2 } from './quiet-rp-filter.js';
import { onN2Tunnel, type LabScenario } from './scenario.js';

function forwardingKey(t: StoryTopology): string {
  return sysctlKeyForInterface(t.nodes.n2.tunnel, 'forwarding');
}

export const forwardingOffScenario: LabScenario = {
  name: 'forwarding-off',
  expectedVerdict: 'forwarding-disabled',
  tools: [],
  dropsAt: onN2Tunnel,
  describe: (t) => `loose rp_filter; forwarding off on n2's ${t.nodes.n2.tunnel} (${forwardingKey(t)}=0)`,
  inject: async (t) => {
    await looseRpFilterOnN2(t);
    await t.exec('n2', ['sysctl', '-q', '-w', `${forwardingKey(t)}=0`]);
  },
  fix: async (t) => {
    const key = forwardingKey(t);
    const was = await readSysctl(t, 'n2', key);
    await t.exec('n2', ['sysctl', '-q', '-w', `${key}=1`]);
    return { node: 'n2', ns: t.nodes.n2.ns, commands: [`sysctl -w ${key}=1`], was: String(was) };
  },
};
