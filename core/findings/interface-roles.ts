/**
 * Interface roles from kernel interface names. The role decides how a sighting is read: a packet
 * entering on a tunnel or an uplink and not for the node must leave again; an encapsulated packet on
 * the uplink reappears decapsulated on the tunnel.
 */

export type InterfaceRole = 'tunnel' | 'pod' | 'uplink' | 'loopback' | 'other';

const TUNNEL_PATTERNS: readonly RegExp[] = [
  /^tunl\d*$/, // Calico IPIP (and the kernel's fallback ipip device)
  /^vxlan[.-]/, // vxlan.calico, vxlan-v6.calico
  /^vxlan\d*$/,
  /^flannel[.-]/, // flannel.1 (VXLAN), flannel-wg
  /^cilium_(vxlan|geneve)$/,
  /^genev_sys_\d+$/, // OVS/OVN Geneve
  /^vxlan_sys_\d+$/,
  /^gre\d*$/,
  /^gretap\d*$/,
  /^ip6tnl\d*$/,
  /^sit\d*$/,
  /^wg\d*$/, // WireGuard (Calico, Cilium encryption)
  /^wireguard\.cali$/,
];

const POD_PATTERNS: readonly RegExp[] = [
  /^cali[0-9a-f]/, // Calico host-side veth (cali + 11 hex digits)
  /^lxc/, // Cilium
  /^veth/, // flannel/bridge CNIs, containerd
  /^azv/, // Azure CNI
  /^eni[0-9a-f]/, // AWS VPC CNI
  /^gke[0-9a-f]/,
  /^cni\d+$/,
];

export function interfaceRoleFromName(name: string): InterfaceRole {
  if (name === 'lo') return 'loopback';
  for (const p of TUNNEL_PATTERNS) if (p.test(name)) return 'tunnel';
  for (const p of POD_PATTERNS) if (p.test(name)) return 'pod';
  return 'uplink';
}

/** Parses `NAME=ROLE` overrides given on the command line. */
export function parseRoleOverride(text: string): { name: string; role: InterfaceRole } | undefined {
  const eq = text.indexOf('=');
  if (eq <= 0) return undefined;
  const role = text.slice(eq + 1);
  if (role !== 'tunnel' && role !== 'pod' && role !== 'uplink' && role !== 'loopback' && role !== 'other') return undefined;
  return { name: text.slice(0, eq), role };
}
