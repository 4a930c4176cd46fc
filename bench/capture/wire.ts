/**
 * Byte-level encoders for the synthetic capture: big-endian integers, the Internet checksum, and the
 * headers the generator writes (IPv4, IPv6, TCP, UDP, ICMP, ICMPv6, VXLAN, ARP, 802.1Q, SLL2).
 *
 * Every encoder writes into a caller's buffer at an offset and returns the number of bytes written;
 * nothing here allocates, because the generator writes millions of packets and its speed is part of
 * the benchmark's turnaround.
 *
 * Checksums are real (RFC 1071): tcpdump -vv and tshark with checksum validation show them correct,
 * and a decoder that checks them must not reject the whole capture. Transport checksums over large
 * payloads stay cheap through PayloadPool's prefix sums (see there).
 */

/** Linux ARPHRD_* device types seen in the SLL2 header (include/uapi/linux/if_arp.h). */
export const ARPHRD_ETHER = 1;
export const ARPHRD_TUNNEL = 768;
export const ARPHRD_LOOPBACK = 772;

/** Linux PACKET_* packet types (include/uapi/linux/if_packet.h), the SLL2 "packet type" byte. */
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
export const PACKET_OUTGOING = 4;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_IPV6 = 0x86dd;

export const PROTO_ICMP = 1;
export const PROTO_IPIP = 4;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export const SLL2_HEADER_LEN = 20;
export const IPV4_HEADER_LEN = 20;
export const IPV6_HEADER_LEN = 40;
export const UDP_HEADER_LEN = 8;
export const VXLAN_HEADER_LEN = 8;
export const ETHERNET_HEADER_LEN = 14;

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

export function putLe32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

/**
 * Unfolded one's-complement sum of big-endian 16-bit words over b[o, o + len), an odd final byte
 * padded with zero. Callers add partial sums (a double holds them exactly) and fold once.
 */
export function sum16(b: Uint8Array, o: number, len: number): number {
  let s = 0;
  const end = o + (len & ~1);
  for (let i = o; i < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (len & 1) s += b[o + len - 1]! << 8;
  return s;
}

/** Fold a partial sum into the 16-bit Internet checksum (complemented). */
export function foldChecksum(sum: number): number {
  // A double can hold far more than 2^32; fold with division first so bit operations stay in range.
  let s = (sum % 0x10000) + Math.floor(sum / 0x10000);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Sum of a 32-bit value as two 16-bit words (for pseudo-headers). */
export function sumWord32(v: number): number {
  return (v >>> 16) + (v & 0xffff);
}

/** Sum of an IPv6 address stored as four 32-bit words at words[i, i + 4). */
export function sumIpv6(words: Uint32Array, i: number): number {
  return sumWord32(words[i]!) + sumWord32(words[i + 1]!) + sumWord32(words[i + 2]!) + sumWord32(words[i + 3]!);
}

/**
 * IPv4 header without options (RFC 791 section 3.1), checksum included.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |Version|  IHL  |Type of Service|          Total Length         |
 *  |         Identification        |Flags|      Fragment Offset    |
 *  |  Time to Live |    Protocol   |         Header Checksum       |
 *  |                       Source Address                          |
 *  |                    Destination Address                        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export function writeIpv4(
  b: Uint8Array,
  o: number,
  totalLength: number,
  id: number,
  dontFragment: boolean,
  ttl: number,
  proto: number,
  src: number,
  dst: number,
): number {
  b[o] = 0x45;
  b[o + 1] = 0;
  put16(b, o + 2, totalLength);
  put16(b, o + 4, id);
  put16(b, o + 6, dontFragment ? 0x4000 : 0);
  b[o + 8] = ttl;
  b[o + 9] = proto;
  put32(b, o + 12, src);
  put32(b, o + 16, dst);
  setIpv4Checksum(b, o);
  return IPV4_HEADER_LEN;
}

/** Recompute the header checksum of the 20-byte IPv4 header at o (after a TTL change, for example). */
export function setIpv4Checksum(b: Uint8Array, o: number): void {
  b[o + 10] = 0;
  b[o + 11] = 0;
  put16(b, o + 10, foldChecksum(sum16(b, o, IPV4_HEADER_LEN)));
}

/**
 * IPv6 fixed header (RFC 8200 section 3): version 6, traffic class 0, the given flow label.
 * Addresses are four 32-bit words each, taken from a shared table at the given word index.
 */
export function writeIpv6(
  b: Uint8Array,
  o: number,
  payloadLength: number,
  nextHeader: number,
  hopLimit: number,
  flowLabel: number,
  srcWords: Uint32Array,
  srcIndex: number,
  dstWords: Uint32Array,
  dstIndex: number,
): number {
  put32(b, o, 0x60000000 | (flowLabel & 0xfffff));
  put16(b, o + 4, payloadLength);
  b[o + 6] = nextHeader;
  b[o + 7] = hopLimit;
  for (let i = 0; i < 4; i++) {
    put32(b, o + 8 + 4 * i, srcWords[srcIndex + i]!);
    put32(b, o + 24 + 4 * i, dstWords[dstIndex + i]!);
  }
  return IPV6_HEADER_LEN;
}

/** UDP header (RFC 768) with the checksum field zeroed; the caller fills it once the payload is in. */
export function writeUdp(b: Uint8Array, o: number, sport: number, dport: number, udpLength: number): number {
  put16(b, o, sport);
  put16(b, o + 2, dport);
  put16(b, o + 4, udpLength);
  put16(b, o + 6, 0);
  return UDP_HEADER_LEN;
}

/**
 * VXLAN header (RFC 7348 section 5): flags with the I bit, reserved, 24-bit VNI, reserved.
 *
 *  |R|R|R|R|I|R|R|R|            Reserved                           |
 *  |                VXLAN Network Identifier (VNI) |   Reserved    |
 */
export function writeVxlan(b: Uint8Array, o: number, vni: number): number {
  b[o] = 0x08;
  b[o + 1] = 0;
  b[o + 2] = 0;
  b[o + 3] = 0;
  put32(b, o + 4, (vni & 0xffffff) << 8);
  return VXLAN_HEADER_LEN;
}

/** Copy a 6-byte MAC address from a table (at byte offset macOffset) to b[o]. */
export function putMac(b: Uint8Array, o: number, macs: Uint8Array, macOffset: number): void {
  for (let i = 0; i < 6; i++) b[o + i] = macs[macOffset + i]!;
}

/** Ethernet II header (inner frame of VXLAN): destination, source, EtherType. */
export function writeEthernet(
  b: Uint8Array,
  o: number,
  macs: Uint8Array,
  dstMac: number,
  srcMac: number,
  etherType: number,
): number {
  putMac(b, o, macs, dstMac);
  putMac(b, o + 6, macs, srcMac);
  put16(b, o + 12, etherType);
  return ETHERNET_HEADER_LEN;
}

/**
 * LINKTYPE_LINUX_SLL2 header (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html), what
 * libpcap writes for `tcpdump -i any` since 1.10. All fields big-endian.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |        Protocol type          |       Reserved (MBZ)          |  protocol: EtherType of the payload
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                       Interface index                         |  ifindex of the device
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |         ARPHRD_ type          |  Packet type  | Addr. length  |  1 Ethernet, 768 IPIP tunnel, 772 lo
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |           Link-layer address (8 bytes, zero padded)           |  source MAC (6), none on tunl0 (0)
 *  |                                                               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  payload: network-layer packet (the Ethernet header is gone)  |
 *
 * macOffset < 0 writes address length 0 (a device without link-layer addresses, like tunl0).
 */
export function writeSll2(
  b: Uint8Array,
  o: number,
  protocol: number,
  ifindex: number,
  arphrd: number,
  packetType: number,
  macs: Uint8Array,
  macOffset: number,
): number {
  put16(b, o, protocol);
  put16(b, o + 2, 0);
  put32(b, o + 4, ifindex);
  put16(b, o + 8, arphrd);
  b[o + 10] = packetType;
  if (macOffset < 0) {
    b[o + 11] = 0;
    for (let i = 12; i < 20; i++) b[o + i] = 0;
  } else {
    b[o + 11] = 6;
    putMac(b, o + 12, macs, macOffset);
    b[o + 18] = 0;
    b[o + 19] = 0;
  }
  return SLL2_HEADER_LEN;
}

/**
 * ARP for IPv4 over Ethernet (RFC 826), 28 bytes: request (op 1) or reply (op 2).
 * A request's target hardware address is zero.
 */
export function writeArp(
  b: Uint8Array,
  o: number,
  op: number,
  macs: Uint8Array,
  senderMac: number,
  senderIp: number,
  targetMac: number,
  targetIp: number,
): number {
  put16(b, o, 1);
  put16(b, o + 2, ETHERTYPE_IPV4);
  b[o + 4] = 6;
  b[o + 5] = 4;
  put16(b, o + 6, op);
  putMac(b, o + 8, macs, senderMac);
  put32(b, o + 14, senderIp);
  if (targetMac < 0) for (let i = 0; i < 6; i++) b[o + 18 + i] = 0;
  else putMac(b, o + 18, macs, targetMac);
  put32(b, o + 24, targetIp);
  return 28;
}

/**
 * A pool of random bytes whose 16-bit word sums are prefix-summed, so that the one's-complement sum
 * of any even-aligned slice costs two lookups instead of a loop over up to 1400 bytes. The generator
 * copies payloads out of the pool at random even offsets: payloads differ from packet to packet while
 * transport checksums stay exact and cheap.
 */
export class PayloadPool {
  readonly bytes: Buffer;
  private readonly prefix: Float64Array;

  constructor(size: number, fill: (b: Uint8Array) => void) {
    this.bytes = Buffer.alloc(size);
    fill(this.bytes);
    const words = size >>> 1;
    this.prefix = new Float64Array(words + 1);
    for (let w = 0; w < words; w++) {
      this.prefix[w + 1] = this.prefix[w]! + ((this.bytes[2 * w]! << 8) | this.bytes[2 * w + 1]!);
    }
  }

  /**
   * Copy pool[poolOffset, poolOffset + len) to b[o] and return the copied bytes' unfolded
   * one's-complement sum, valid when they start at an even position of the checksummed data.
   * poolOffset must be even.
   */
  copyOut(b: Uint8Array, o: number, poolOffset: number, len: number): number {
    // Buffer#copy rather than set(subarray()): no view object per packet.
    this.bytes.copy(b, o, poolOffset, poolOffset + len);
    const firstWord = poolOffset >>> 1;
    const words = len >>> 1;
    let s = this.prefix[firstWord + words]! - this.prefix[firstWord]!;
    if (len & 1) s += this.bytes[poolOffset + len - 1]! << 8;
    return s;
  }
}
