/**
 * Numeric dispatch tables (Zeek's register_packet_analyzer(ETHERNET, 0x0800, IP) idea): the wiring
 * between protocols lives here, filled once at start, so decoders never import each other and the
 * hot path is an array index.
 */
import { Layer } from './decode-context.js';

export interface TunnelPortConfig {
  /** UDP destination ports carrying VXLAN. Linux's default is 8472, IANA's 4789; Calico uses 4789. */
  readonly vxlanPorts: readonly number[];
  /** UDP destination ports carrying Geneve. */
  readonly genevePorts: readonly number[];
}

export const DEFAULT_TUNNEL_PORTS: TunnelPortConfig = {
  vxlanPorts: [4789, 8472],
  genevePorts: [6081],
};

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_QINQ_OLD = 0x9100;
/** Transparent Ethernet bridging: Ethernet frames inside GRE and Geneve. */
export const ETHERTYPE_TEB = 0x6558;

export class DispatchTables {
  /** EtherType -> Layer (Ethernet, VLAN, SLL, SLL2, GRE, Geneve protocol fields). */
  readonly byEtherType = new Uint8Array(65536);
  /** IP protocol number -> Layer (IPv4 protocol, IPv6 next header after extensions). */
  readonly byIpProto = new Uint8Array(256);
  /** UDP destination port -> Layer (tunnels on UDP). */
  readonly byUdpPort = new Uint8Array(65536);

  constructor(ports: TunnelPortConfig = DEFAULT_TUNNEL_PORTS) {
    this.byEtherType.fill(Layer.NotIp);
    this.byEtherType[ETHERTYPE_IPV4] = Layer.Ipv4;
    this.byEtherType[ETHERTYPE_IPV6] = Layer.Ipv6;
    this.byEtherType[ETHERTYPE_VLAN] = Layer.Vlan;
    this.byEtherType[ETHERTYPE_QINQ] = Layer.Vlan;
    this.byEtherType[ETHERTYPE_QINQ_OLD] = Layer.Vlan;
    this.byEtherType[ETHERTYPE_TEB] = Layer.Ethernet;

    this.byIpProto.fill(Layer.Unknown);
    this.byIpProto[1] = Layer.Icmp;
    this.byIpProto[4] = Layer.Ipv4;
    this.byIpProto[6] = Layer.Tcp;
    this.byIpProto[17] = Layer.Udp;
    this.byIpProto[41] = Layer.Ipv6;
    this.byIpProto[47] = Layer.Gre;
    this.byIpProto[58] = Layer.Icmpv6;

    for (const p of ports.vxlanPorts) this.byUdpPort[p] = Layer.Vxlan;
    for (const p of ports.genevePorts) this.byUdpPort[p] = Layer.Geneve;
  }
}
