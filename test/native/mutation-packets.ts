/**
 * Valid packets of every kind the decoder walks, framed for every link type, and the mutations of
 * test/hardening/decoder-hardening.test.ts (flipped bytes, absurd 16-bit values, truncation, garbage
 * inserted): the starting points and the operators of the mutation sets whose answers are frozen in
 * test/native/expected/decoder-answers.json (test/support/decoder-answer-sets.ts). Changing a packet
 * here changes those sets' inputs: their answers must then be rewritten on purpose.
 */
import fc from 'fast-check';
import * as LinkTypes from '../../agent/decode/link-types.js';
import { bytesOf, concat, ethernet, icmpEcho, ipv4, sll2, tcp, udp, vxlan } from '../support/packet-builder.js';

/** Every LINKTYPE_* constant the decoder knows: a new one is covered without touching this file. */
export const LINK_TYPES: readonly number[] = Object.entries(LinkTypes)
  .filter(([name, v]) => name.startsWith('LINKTYPE_') && typeof v === 'number')
  .map(([, v]) => v as number);

const be16 = (v: number): number[] => [(v >>> 8) & 255, v & 255];
const be32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

const V6_SRC = [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1];
const V6_DST = [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 2];
const V6_LINK_LOCAL = [0xfe, 0x80, ...new Array<number>(13).fill(0), 9];
const V6_MULTICAST = [0xff, 0x02, ...new Array<number>(12).fill(0), 0, 1, 0xff, 0];

function ipv6(o: { next: number; src?: number[]; dst?: number[]; payloadLength?: number; flow?: number }, payload: Uint8Array): Uint8Array {
  const flow = o.flow ?? 0x12345;
  return concat([0x60 | ((flow >>> 16) & 0x0f), (flow >>> 8) & 255, flow & 255], [0], be16(o.payloadLength ?? payload.length), [o.next, 64], o.src ?? V6_SRC, o.dst ?? V6_DST, payload);
}

/** GRE version 0 with optional checksum, key and sequence number. */
function gre(protocol: number, payload: Uint8Array, o: { key?: number; seq?: number; checksum?: boolean } = {}): Uint8Array {
  const flags = (o.checksum ? 0x8000 : 0) | (o.key !== undefined ? 0x2000 : 0) | (o.seq !== undefined ? 0x1000 : 0);
  return concat(be16(flags), be16(protocol), o.checksum ? [0, 0, 0, 0] : [], o.key !== undefined ? be32(o.key) : [], o.seq !== undefined ? be32(o.seq) : [], payload);
}

/** PPTP's enhanced GRE (version 1) carrying PPP, with sequence and acknowledgement numbers. */
function pptp(ppp: Uint8Array, callId: number, ack = true): Uint8Array {
  return concat(be16(0x3001 | (ack ? 0x0080 : 0)), be16(0x880b), be16(ppp.length), be16(callId), be32(7), ack ? be32(6) : [], ppp);
}

function geneve(vni: number, protocol: number, payload: Uint8Array, optionWords = 0): Uint8Array {
  return concat([optionWords & 0x3f, 0], be16(protocol), [(vni >>> 16) & 255, (vni >>> 8) & 255, vni & 255, 0], new Array<number>(optionWords * 4).fill(0xa5), payload);
}

function erspanII(session: number, frame: Uint8Array): Uint8Array {
  return concat([0x10, 0x05], be16(session & 0x3ff), [0, 0, 0, 1], frame);
}

function erspanIII(session: number, frameType: number, frame: Uint8Array, subheader: boolean): Uint8Array {
  const word = ((frameType & 0x1f) << 10) | (subheader ? 1 : 0);
  return concat([0x20, 0x05], be16(session & 0x3ff), be32(0x01020304), [0, 7], be16(word), subheader ? new Array<number>(8).fill(0x11) : [], frame);
}

const A = { src: '10.91.0.2', dst: '100.64.0.1' };
const NODES = { src: '192.168.77.11', dst: '192.168.77.12' };
const innerTcp = ipv4({ ...A, proto: 6 }, tcp({ sport: 40000, dport: 80, flags: 0x02 }, bytesOf('GET / HTTP/1.1\r\n')));
const innerUdp = ipv4({ ...A, proto: 17 }, udp({ sport: 5353, dport: 53 }, bytesOf('query')));
const innerIcmp = ipv4({ ...A, proto: 1 }, icmpEcho({ id: 7, seq: 1 }, bytesOf('ping')));
const v6Tcp = ipv6({ next: 6 }, tcp({ sport: 443, dport: 50000, flags: 0x12 }, bytesOf('tls')));
const v6Udp = ipv6({ next: 17 }, udp({ sport: 546, dport: 547 }, bytesOf('dhcpv6 solicit')));

/** Hop-by-hop with a Jumbo Payload option (payload length 0) then TCP: a BIG TCP jumbogram. */
function jumbogram(): Uint8Array {
  const body = concat([6, 0, 0xc2, 4], be32(8 + 20 + 3), tcp({ sport: 1, dport: 2, seq: 9 }, bytesOf('big')));
  return ipv6({ next: 0, payloadLength: 0 }, body);
}

/** IPv6 fragments: the first (offset 0, M set) with UDP, and a later one (offset 1448). */
const v6FragFirst = ipv6({ next: 44 }, concat([17, 0, 0, 1], be32(0xdeadbeef), udp({ sport: 9, dport: 4789 }, new Uint8Array(24).fill(3))));
const v6FragLater = ipv6({ next: 44 }, concat([17, 0, ...be16(1448)], be32(0xdeadbeef), new Uint8Array(24).fill(4)));

/** IPv4 fragments: a first fragment (MF) and a later one. */
function v4Fragment(offsetUnits: number, more: boolean): Uint8Array {
  const p = ipv4({ ...A, proto: 17, df: false }, udp({ sport: 1000, dport: 2000 }, new Uint8Array(16).fill(5)));
  const frag = (more ? 0x2000 : 0) | (offsetUnits & 0x1fff);
  p[6] = frag >> 8;
  p[7] = frag & 255;
  return p;
}

/** An IPv4 header with options (IHL 6). */
function v4Options(): Uint8Array {
  const p = ipv4({ ...A, proto: 17 }, concat([1, 1, 1, 0], udp({ sport: 7, dport: 7 }, bytesOf('echo'))));
  p[0] = 0x46;
  return p;
}

/** Network-layer packets (IPv4 or IPv6 first byte), one per path through the decoders. */
export const IP_PACKETS: readonly Uint8Array[] = [
  innerTcp,
  innerUdp,
  innerIcmp,
  v4Options(),
  v4Fragment(0, true),
  v4Fragment(185, false),
  // ICMP errors quoting TCP, UDP and an ICMP echo; ICMPv6 packet-too-big quoting UDP after a destination option.
  ipv4({ src: '192.168.77.12', dst: '10.91.0.2', proto: 1 }, concat([3, 3, 0, 0, 0, 0, 0, 0], innerTcp.subarray(0, 28))),
  ipv4({ src: '192.168.77.12', dst: '10.91.0.2', proto: 1 }, concat([11, 0, 0, 0, 0, 0, 0, 0], innerUdp.subarray(0, 28))),
  ipv4({ src: '192.168.77.12', dst: '10.91.0.2', proto: 1 }, concat([3, 1, 0, 0, 0, 0, 0, 0], innerIcmp.subarray(0, 28))),
  ipv6({ next: 58 }, concat([2, 0, 0, 0, 0, 0, 5, 0xdc], ipv6({ next: 60 }, concat([17, 0, 1, 4, 0, 0, 0, 0], udp({ sport: 1, dport: 2 }, bytesOf('x')))))),
  // ICMPv6 unreachable quoting UDP after AH (length in 4-byte units), time exceeded quoting TCP
  // after a fragment header; ICMP quoting a later fragment (no ports).
  ipv6({ next: 58 }, concat([1, 4, 0, 0, 0, 0, 0, 0], ipv6({ next: 51 }, concat([17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], udp({ sport: 3, dport: 4 }, bytesOf('y')))))),
  ipv6({ next: 58 }, concat([3, 0, 0, 0, 0, 0, 0, 0], ipv6({ next: 44 }, concat([6, 0, 0, 1, 0, 0, 0, 9], tcp({ sport: 5, dport: 6 }))))),
  ipv4({ src: '192.168.77.12', dst: '10.91.0.2', proto: 1 }, concat([11, 1, 0, 0, 0, 0, 0, 0], v4Fragment(185, false).subarray(0, 28))),
  // Tunnels: VXLAN, IPIP, GRE (key, checksum, sequence), GRE-TEB, Geneve (Ethernet, options, IP), 6in4, 4in6, 6in6.
  ipv4({ ...NODES, proto: 17 }, udp({ sport: 51000, dport: 4789 }, vxlan(4096, ethernet({}, innerTcp)))),
  ipv4({ ...NODES, proto: 17 }, udp({ sport: 51000, dport: 8472 }, vxlan(1, ethernet({ type: 0x8100 }, concat([0, 5, 0x08, 0x00], innerUdp))))),
  ipv4({ ...NODES, proto: 4 }, innerIcmp),
  ipv4({ ...NODES, proto: 47 }, gre(0x0800, innerUdp, { key: 42 })),
  ipv4({ ...NODES, proto: 47 }, gre(0x86dd, v6Tcp, { key: 0x80000001, seq: 3, checksum: true })),
  ipv4({ ...NODES, proto: 47 }, gre(0x6558, ethernet({}, innerTcp))),
  ipv4({ ...NODES, proto: 17 }, udp({ sport: 51000, dport: 6081 }, geneve(99, 0x6558, ethernet({}, innerIcmp)))),
  ipv4({ ...NODES, proto: 17 }, udp({ sport: 51000, dport: 6081 }, geneve(7, 0x0800, innerTcp, 2))),
  ipv4({ ...NODES, proto: 41 }, v6Tcp),
  ipv6({ next: 4 }, innerUdp),
  ipv6({ next: 41 }, v6Udp),
  // GRE's other payloads: ERSPAN I, II and III (Ethernet, and IP with the subheader), PPTP with
  // PPP IPv4 and a compressed protocol field, a PPTP acknowledgement, PPP in GREv0, Cisco MetaData,
  // keepalives (protocol 0) and a version 2 header.
  ipv4({ ...NODES, proto: 47 }, gre(0x88be, ethernet({}, innerTcp))),
  ipv4({ ...NODES, proto: 47 }, gre(0x88be, erspanII(100, ethernet({}, innerUdp)), { seq: 1 })),
  ipv4({ ...NODES, proto: 47 }, gre(0x22eb, erspanIII(5, 0, ethernet({}, innerIcmp), false), { seq: 2 })),
  ipv4({ ...NODES, proto: 47 }, gre(0x22eb, erspanIII(6, 2, v6Udp, true), { seq: 3 })),
  ipv4({ ...NODES, proto: 47 }, pptp(concat([0xff, 0x03, 0x00, 0x21], innerTcp), 0x1234)),
  ipv4({ ...NODES, proto: 47 }, pptp(concat([0x57], v6Udp), 9, false)),
  ipv4({ ...NODES, proto: 47 }, concat(be16(0x3081), be16(0x880b), be16(0), be16(77), be32(8), be32(9))),
  ipv4({ ...NODES, proto: 47 }, gre(0x880b, concat([0xc0, 0x21, 1, 2, 0, 4]), { key: 5 })),
  ipv4({ ...NODES, proto: 47 }, gre(0x8909, concat([0x08, 0x00, 1, 1, 0, 0, 0, 10], innerUdp), { key: 6 })),
  ipv4({ ...NODES, proto: 47 }, gre(0x0000, new Uint8Array(0), { key: 1 })),
  ipv4({ ...NODES, proto: 47 }, concat([0, 2], be16(0x0800), innerTcp)),
  // IPv6: plain, with hop-by-hop, destination options, routing and AH before ICMPv6 echo, link-local
  // and multicast (hashed addresses), fragments, a jumbogram, no next header.
  v6Tcp,
  v6Udp,
  ipv6({ next: 0 }, concat([60, 0, 1, 4, 0, 0, 0, 0], [43, 0, 1, 4, 0, 0, 0, 0], [51, 0, 0, 0, 0, 0, 0, 0], [58, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [128, 0, 0, 0, 0, 1, 0, 1])),
  ipv6({ next: 58, src: V6_LINK_LOCAL, dst: V6_MULTICAST }, concat([135, 0, 0, 0, 0, 0, 0, 0], V6_DST)),
  v6FragFirst,
  v6FragLater,
  jumbogram(),
  ipv6({ next: 59 }, new Uint8Array(0)),
  ipv4({ src: '169.254.1.1', dst: '224.0.0.251', proto: 17 }, udp({ sport: 5353, dport: 5353 }, bytesOf('mdns'))),
];

/** The packet framed for a link type, the way a capture of that type holds it. */
export function framed(linkType: number, ip: Uint8Array): Uint8Array {
  const v6 = (ip[0] ?? 0) >> 4 === 6;
  const etherType = v6 ? 0x86dd : 0x0800;
  switch (linkType) {
    case LinkTypes.LINKTYPE_NULL:
      return concat(v6 ? [30, 0, 0, 0] : [2, 0, 0, 0], ip); // host (little-endian) order
    case LinkTypes.LINKTYPE_LOOP:
      return concat(v6 ? [0, 0, 0, 24] : [0, 0, 0, 2], ip);
    case LinkTypes.LINKTYPE_ETHERNET:
      // QinQ: an 802.1ad tag, then an 802.1Q tag.
      return concat([1, 0, 0x5e, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xa8, 0, 7, 0x81, 0x00, 0x20, 9], be16(etherType), ip);
    case LinkTypes.LINKTYPE_LINUX_SLL:
      return concat([0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0], be16(etherType), ip);
    case LinkTypes.LINKTYPE_LINUX_SLL2:
      return sll2({ ifindex: 3, packetType: 0, protocol: etherType }, ip);
    default:
      return ip; // RAW, IPV4, IPV6
  }
}

/** Whether a link type carries this IP version at all (LINKTYPE_IPV4 and _IPV6 carry one each). */
export function carries(linkType: number, ip: Uint8Array): boolean {
  const v6 = (ip[0] ?? 0) >> 4 === 6;
  return !((linkType === LinkTypes.LINKTYPE_IPV4 && v6) || (linkType === LinkTypes.LINKTYPE_IPV6 && !v6));
}

export { mutate, mutation, type Mutation } from '../support/packet-mutation.js';
