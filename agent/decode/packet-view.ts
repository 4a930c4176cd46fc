/**
 * PacketView: the preallocated result of decoding one packet.
 *
 * The decoder overwrites one PacketView per packet (gopacket's DecodingLayer idea): every field is a
 * number or a typed array allocated once, so decoding allocates nothing. Offsets point into the
 * record's buffer and are valid only while that buffer is (during the reader's callback).
 *
 * Addresses are kept as four 32-bit words in network order: IPv4 uses word 0 only, words 1-3 are 0.
 */

/** Encapsulation layers followed before the innermost packet. Deeper nesting is a decode event. */
export const MAX_ENCAP_DEPTH = 4;

export const enum EncapKind {
  None = 0,
  /** IP in IP of any version mix: IPIP (4in4), 6in4, 4in6, 6in6. */
  IpInIp = 1,
  Gre = 2,
  Vxlan = 3,
  Geneve = 4,
  /** Cisco ERSPAN types I-III (mirrored frames inside GRE); the layer's VNI is the session id. */
  Erspan = 5,
}

export { ENCAP_NAMES, UndecodedTunnel, undecodedTunnelName } from '../native/engine-names.js';
import { UndecodedTunnel } from '../native/engine-names.js';


export class PacketView {
  // ---- link layer ----
  linkType = 0;
  /** Offsets of the Ethernet source/destination MAC in the buffer; -1 when the link has none. */
  macSrcOffset = -1;
  macDstOffset = -1;
  /** Destination MAC is multicast or broadcast (group bit). */
  macDstGroup = 0;
  /** Linux SLL/SLL2: interface index (SLL2 only, else -1) and packet type (PACKET_HOST=0 ... OUTGOING=4), else -1. */
  linuxIfindex = -1;
  linuxPacketType = -1;
  /** Linux SLL/SLL2: ARPHRD_* type of the interface (1 Ethernet, 772 loopback, 768 IPIP tunnel, ...), else -1. */
  linuxHatype = -1;
  /** 802.1Q/802.1ad tags seen (outermost first) and the outermost VLAN id. */
  vlanDepth = 0;
  vlanId = 0;

  // ---- encapsulation layers, outermost first ----
  encapDepth = 0;
  readonly encapKind = new Uint8Array(MAX_ENCAP_DEPTH);
  /** IP version of the outer header carrying each layer. */
  readonly encapOuterVersion = new Uint8Array(MAX_ENCAP_DEPTH);
  /** Outer source/destination of each layer (4 words per layer): the node addresses. */
  readonly encapOuterSrc = new Uint32Array(MAX_ENCAP_DEPTH * 4);
  readonly encapOuterDst = new Uint32Array(MAX_ENCAP_DEPTH * 4);
  /** VXLAN/Geneve VNI or GRE key; -1 when the layer has none. */
  readonly encapVni = new Int32Array(MAX_ENCAP_DEPTH);

  // ---- innermost IP packet ----
  /** 4, 6, or 0 when no IP packet was found (ARP, LLDP, ...). */
  ipVersion = 0;
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  /** Upper-layer protocol after IPv6 extension headers; -1 when unknown. */
  proto = -1;
  ttl = 0;
  /** IPv4 identification; IPv6: the fragment header's identification if any, else 0. */
  ipId = 0;
  /** IPv6 flow label (0 for IPv4). */
  flowLabel = 0;
  /** Offset of the innermost IP header in the buffer. */
  ipOffset = -1;
  /** Length of the IP packet per its header (IPv4 total length, IPv6 40 + payload length; jumbo aware). */
  ipLength = 0;
  /** Fragment offset in bytes, and whether more fragments follow; isFragment is 1 for any fragment. */
  fragOffset = 0;
  moreFragments = 0;
  isFragment = 0;

  // ---- transport ----
  /** 1 when the transport header was fully captured and decoded. */
  l4Valid = 0;
  l4Offset = -1;
  sport = 0;
  dport = 0;
  tcpFlags = 0;
  tcpSeq = 0;
  tcpAck = 0;
  /** UDP length field (0 for other protocols). */
  udpLength = 0;
  icmpType = -1;
  icmpCode = -1;
  /** Echo identifier and sequence number; -1 for other ICMP messages. */
  icmpId = -1;
  icmpSeq = -1;
  /** Transport payload present in the buffer: [payloadOffset, payloadEnd). */
  payloadOffset = -1;
  payloadEnd = -1;

  // ---- the packet quoted inside an ICMP/ICMPv6 error ----
  quotedValid = 0;
  quotedVersion = 0;
  readonly quotedSrc = new Uint32Array(4);
  readonly quotedDst = new Uint32Array(4);
  quotedProto = -1;
  quotedSport = 0;
  quotedDport = 0;
  quotedIpId = 0;

  /** 1 when the capture cut the packet before the decoder finished (snap length or bad lengths). */
  truncated = 0;
  /** 1 when a header contradicted itself (bad version, header length, total length). */
  malformed = 0;
  /** A tunnel whose payload was not decoded (UndecodedTunnel), with its detail (version, protocol). */
  undecodedTunnel: UndecodedTunnel = UndecodedTunnel.None;
  undecodedValue = 0;

  /** Reset to "nothing decoded". Called by the decoder at the start of every packet. */
  reset(): void {
    this.resetInner();
    this.linkType = 0;
    this.macSrcOffset = -1;
    this.macDstOffset = -1;
    this.macDstGroup = 0;
    this.linuxIfindex = -1;
    this.linuxPacketType = -1;
    this.linuxHatype = -1;
    this.vlanDepth = 0;
    this.vlanId = 0;
    this.encapDepth = 0;
    this.src.fill(0);
    this.dst.fill(0);
    this.ttl = 0;
    this.ipId = 0;
    this.flowLabel = 0;
    this.ipOffset = -1;
    this.ipLength = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.icmpId = -1;
    this.icmpSeq = -1;
    this.quotedValid = 0;
    this.quotedVersion = 0;
    this.quotedProto = -1;
    this.quotedSport = 0;
    this.quotedDport = 0;
    this.quotedIpId = 0;
    this.truncated = 0;
    this.malformed = 0;
    this.undecodedTunnel = UndecodedTunnel.None;
    this.undecodedValue = 0;
  }

  /**
   * Forget the innermost packet's protocol, transport and fragment fields: at the start of every
   * packet, and when entering a tunnel (the inner packet is what fingerprints and flows describe).
   */
  resetInner(): void {
    this.ipVersion = 0;
    this.proto = -1;
    this.l4Valid = 0;
    this.l4Offset = -1;
    this.sport = 0;
    this.dport = 0;
    this.udpLength = 0;
    this.tcpFlags = 0;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.payloadOffset = -1;
    this.payloadEnd = -1;
    this.isFragment = 0;
    this.fragOffset = 0;
    this.moreFragments = 0;
  }

}
