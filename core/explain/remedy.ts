/**
 * Remedies as runnable commands. Comments (#) carry the reasoning so the text can be pasted into a
 * shell as it is.
 */

import type { NeighbourEvidence, NetfilterRuleGrowth, RouteEvidence } from '../findings/kernel-evidence.js';

/** sysctl names with a dot in the interface use the slash form: net.ipv4.conf.vxlan/calico.rp_filter. */
export function sysctlFor(iface: string, name: string): string {
  return `net.ipv4.conf.${iface.replace(/\./g, '/')}.${name}`;
}

export function rpFilterSysctl(iface: string): string {
  return sysctlFor(iface, 'rp_filter');
}

export interface ReversePathRemedyInput {
  readonly iface: string;
  readonly src: string;
  readonly dst: string;
  readonly node: string;
  /** The interface replies to src leave by, when known. */
  readonly replyExit: string | null;
  /** conf.all.rp_filter when known (live); null in replay. */
  readonly allValue: number | null;
}

export function reversePathRemedy(r: ReversePathRemedyInput): string {
  const lines = [
    `sysctl -w ${rpFilterSysctl(r.iface)}=2`,
    `# loose mode on ${r.iface}: rp_filter in effect is max(conf.all, conf.${r.iface}), so =0 on the interface alone changes nothing while all=1${r.allValue !== null ? ` (all is ${r.allValue} here)` : ''}; 2 keeps spoofing protection`,
  ];
  if (r.replyExit) {
    lines.push(`# the check fails because the route back to ${r.src} leaves by ${r.replyExit}, not by ${r.iface}: check with  ip route get ${r.src} from ${r.dst}`);
  }
  lines.push(
    `# the real fix is the routing: ${r.dst} is reached through another node, so ${r.node}'s way back to ${r.src} differs from the way in; advertise the pod block of ${r.dst} only from ${r.node}, the node that hosts it (e.g. Calico: BGP export or IP pool settings), so traffic arrives by the interface its replies leave by`,
  );
  return lines.join('\n');
}

/** The rule as a command that deletes it: `-A CHAIN ...` becomes `iptables -t TABLE -D CHAIN ...`. */
function deleteRuleCommand(rule: NetfilterRuleGrowth): string {
  return `iptables -t ${rule.table} ${rule.rule.replace(/^-A /, '-D ')}`;
}

export function netfilterRemedy(dst: string, rule: NetfilterRuleGrowth | null, iface: string, src: string): string {
  if (!rule) {
    return [`iptables-save -c | grep -E -- '-j (DROP|REJECT)'`, `nft list ruleset | grep -E 'drop|reject'`, `# find the rule whose counters grow with the drops to ${dst}; remove or narrow it`].join('\n');
  }
  if (/-m rpfilter\b/.test(rule.rule)) {
    // An exemption for this source on this interface keeps the check for every other source;
    // deleting the rule would not (and Felix puts its rules back). Calico keeps its exemptions in
    // cali-rpf-skip, jumped to before its check; elsewhere the exemption goes first in the chain.
    const calico = rule.chain.startsWith('cali-');
    const exempt = calico
      ? `iptables -t ${rule.table} -A cali-rpf-skip -i ${iface} -s ${src}/32 -j ACCEPT`
      : `iptables -t ${rule.table} -I ${rule.chain} 1 -i ${iface} -s ${src}/32 -j ACCEPT`;
    return [
      exempt,
      `# netfilter's reverse-path check (${rule.table} ${rule.chain}) drops packets from ${src} arriving on ${iface} because the route back to ${src} leaves by another interface; rp_filter=0 does not turn it off`,
      `# that exempts ${src} on ${iface} and keeps the check for every other source${calico ? ` (Calico's exemption chain; for a workload's own sources, the cni.projectcalico.org/allowedSourcePrefixes annotation)` : ''}; check the way back with  ip route get ${src} from ${dst}`,
      `# the real fix is the routing: make traffic to ${dst} arrive by the interface its replies leave by (advertise the pod block only from the node that hosts it)`,
    ].join('\n');
  }
  return [
    `iptables-save -c -t ${rule.table} | grep -F -- '${rule.rule.replace(/'/g, "'\\''")}'`,
    `# this rule dropped the packets to ${dst} (its counter grew with them): if they should pass, narrow it or remove it (a network policy: change the policy, not the rule)`,
    `${deleteRuleCommand(rule)}`,
  ].join('\n');
}

export interface ConntrackInvalidRemedyInput {
  readonly src: string;
  readonly dst: string;
  /** The interface the packets arrive by on `node`. */
  readonly iface: string;
  readonly node: string;
  /** The rule that dropped the INVALID packets, when known (live). */
  readonly rule: NetfilterRuleGrowth | null;
}

/**
 * Exempting the pair from conntrack on this node ends the drops at once and keeps every other flow
 * tracked; deleting the INVALID rule would not be kept (Felix puts it back) and lets real garbage
 * through. The lasting fix is symmetric routing, which the note says.
 */
export function conntrackInvalidRemedy(r: ConntrackInvalidRemedyInput): string {
  const by = r.rule ? `${r.rule.table} ${r.rule.chain}'s INVALID rule drops them` : 'a rule dropping conntrack INVALID drops them';
  return [
    `iptables -t raw -I PREROUTING -i ${r.iface} -s ${r.src}/32 -d ${r.dst}/32 -j NOTRACK`,
    `# ${r.node} sees only ${r.src} -> ${r.dst} of these flows (the replies take another way), so its conntrack marks their packets after the SYN INVALID and ${by}; NOTRACK exempts this pair from conntrack on ${r.node} (Calico: a GlobalNetworkPolicy with doNotTrack: true and applyOnForward: true for it)`,
    `# check with  conntrack -S  (invalid=) and  iptables-save -c | grep INVALID`,
    `# the real fix is the routing: make traffic to ${r.dst} arrive at the node that hosts it, so both directions pass the same conntrack`,
  ].join('\n');
}

export interface MtuRemedyInput {
  readonly src: string;
  readonly dst: string;
  readonly node: string;
  /** The interface the packets could not leave by, and its MTU, when known. */
  readonly exitIface: string | null;
  readonly exitMtu: number | null;
  readonly packetLength: number | null;
}

/** The sender must learn the smaller MTU (ICMP) or never exceed it (the pods' MTU). */
export function mtuRemedy(r: MtuRemedyInput): string {
  const exit = r.exitIface ?? 'the tunnel';
  const mtu = r.exitMtu !== null ? String(r.exitMtu) : 'M';
  const size = r.packetLength !== null ? `${r.packetLength}-byte packets` : 'packets this big';
  return [
    `ip link show ${r.exitIface ?? ''}`.trimEnd(),
    `# ${size} with DF set cannot leave ${r.node} by ${exit} (MTU ${mtu}); ${r.node} answers each with ICMP fragmentation needed, and ${r.src} keeps sending them: that ICMP does not reach it, or it ignores it`,
    `# either let ICMP type 3 code 4 from ${r.node} reach ${r.src} (a firewall that drops it makes this a black hole), so ${r.src} learns the path MTU,`,
    `# or give the pods the tunnel's MTU, so they advertise a TCP MSS that fits (Calico: the veth MTU, FelixConfiguration vxlanMTU / ipipMTU): on the node that hosts ${r.dst},  ip link set dev <its cali veth> mtu ${mtu}  and the same MTU on the pod's eth0 (a restarted pod gets it from Calico)`,
  ].join('\n');
}

export interface NeighbourRemedyInput {
  readonly dst: string;
  readonly node: string;
  readonly neighbour: NeighbourEvidence | null;
}

export function neighbourRemedy(r: NeighbourRemedyInput): string {
  const n = r.neighbour;
  if (!n) return [`ip route get ${r.dst}`, `ip neigh show ${r.dst}`, `# ${r.node}'s next hop toward ${r.dst} does not answer ARP: find which, and why it is silent`].join('\n');
  const podLink = n.address === r.dst && n.dev.startsWith('cali');
  return [
    `ip neigh show ${n.address} dev ${n.dev}`,
    `ip link show ${n.dev}`,
    `# ${r.node} sends ${r.dst}'s packets to ${n.address} on ${n.dev}, and nothing answers its ARP requests${n.carrier === false ? ` (${n.dev} has no carrier: the other end is down)` : ''}`,
    podLink
      ? `# the pod behind ${n.dev} is down or gone: find it (kubectl get pods -A -o wide | grep -w ${r.dst}) and restart it; if no pod on ${r.node} owns ${r.dst} any more, the route is stale:  ip route del ${r.dst}/32 dev ${n.dev}  (Calico's Felix removes it with the endpoint)`
      : `# check that ${n.address} is up and on ${n.dev}'s link; if it moved, fix the route that points at it (ip route get ${r.dst})`,
  ].join('\n');
}

export function noRouteRemedy(src: string, dst: string, iface: string, route: RouteEvidence | null = null): string {
  if (route && route.type !== 'unicast' && route.type !== 'none') {
    return [
      `ip route show match ${dst}`,
      `# ${dst} falls in the ${route.type} route ${route.dst}: on Calico the node that owns a pod block discards addresses of it with no pod; check that the pod exists on this node and has its /32 route (ip route get ${dst}), or that traffic for ${dst} is sent to the node that hosts it`,
    ].join('\n');
  }
  return [`ip route get ${dst} from ${src} iif ${iface}`, `# add a route to ${dst} (or the pod block that holds it) on this node`].join('\n');
}

/** Forwarding off on the arrival interface (or everywhere). */
export function forwardingRemedy(iface: string, f: { all: number; iface: number } | null): string {
  const lines: string[] = [];
  if (!f || f.all === 0) lines.push(`sysctl -w net.ipv4.conf.all.forwarding=1`);
  if (!f || f.iface === 0) lines.push(`sysctl -w ${sysctlFor(iface, 'forwarding')}=1`);
  lines.push(`# a node that routes pod traffic must forward on the interfaces it arrives by; find what turned it off (a CNI, a hardening profile, NetworkManager)`);
  return lines.join('\n');
}

export function vanishedRemedy(src: string, dst: string, iface: string): string {
  return [
    `ip route get ${dst} from ${src} iif ${iface}`,
    `sysctl net.ipv4.conf.all.rp_filter ${rpFilterSysctl(iface)}`,
    `nstat -az TcpExtIPReversePathFilter`,
    `# run pathwatch agent on this node for kernel drop reasons (eBPF skb:kfree_skb)`,
  ].join('\n');
}

/** A packet lost between two nodes: check the underlay between them. */
export function transitLossRemedy(from: string, to: string, outerDst: string): string {
  return [
    `ping -c 3 ${outerDst}`,
    `# check the underlay between ${from} and ${to}: MTU (encapsulation overhead), firewalls for the tunnel protocol (IPIP = IP protocol 4, VXLAN = UDP 4789/8472)`,
  ].join('\n');
}
