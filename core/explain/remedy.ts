/**
 * Remedies as runnable commands. Comments (#) carry the reasoning so the text can be pasted into a
 * shell as it is.
 */

/** sysctl names with a dot in the interface use the slash form: net.ipv4.conf.vxlan/calico.rp_filter. */
export function rpFilterSysctl(iface: string): string {
  return `net.ipv4.conf.${iface.replace(/\./g, '/')}.rp_filter`;
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

export function netfilterRemedy(dst: string): string {
  return [`iptables-save -c | grep -E -- '-j (DROP|REJECT)'`, `nft list ruleset | grep -E 'drop|reject'`, `# find the rule whose counters grow with the drops to ${dst}; remove or narrow it`].join('\n');
}

export function noRouteRemedy(src: string, dst: string, iface: string): string {
  return [`ip route get ${dst} from ${src} iif ${iface}`, `# add a route to ${dst} (or the pod block that holds it) on this node`].join('\n');
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
