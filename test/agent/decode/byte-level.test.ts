/**
 * Byte-level decoder tests, gopacket/Suricata style: every packet is spelled out as bytes with a
 * comment per header field, and the test asserts what the view must hold afterwards. The decoder is
 * the native engine's (native/engine), through the test binding test/support/engine-decoder.ts; the
 * view has PacketView's field names.
 *
 * Checksums are written as 0x0000 where they do not matter: the decoder does not verify them.
 * Address shorthands used in the comments: 10.0.0.1 = 0a 00 00 01, 2001:db8::1 = 20 01 0d b8 ... 01.
 */
import { describe, expect, it } from 'vitest';
import { DECODE_EVENT_NAMES, DecodeEvent, type DecodeEventName } from '../../../agent/decode/decode-events.js';
import { undecodedTunnelName } from '../../../agent/native/engine-names.js';
import { DecodeStatus, EncapKind, engine, EngineDecoder, MAX_ENCAP_DEPTH } from '../../support/engine-decoder.js';
import { bytes, v4, v4words, v6bytes, v6words } from './decode-test-helpers.js';

const LINKTYPE_NULL = 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_LOOP = 108;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_IPV4 = 228;
const LINKTYPE_IPV6 = 229;
const LINKTYPE_LINUX_SLL2 = 276;

interface Decoded {
  status: DecodeStatus;
  dec: EngineDecoder;
  /** Non-zero event counters by name. */
  events: Record<string, number>;
}

/** Decodes one packet with a fresh decoder; `caplen` below the buffer length simulates a snap length. */
function decode(data: Uint8Array, linkType: number, caplen = data.length): Decoded {
  const dec = new EngineDecoder();
  const status = dec.decode(data, 0, caplen, linkType);
  return { status, dec, events: dec.events.toRecord() };
}

function words(a: ArrayLike<number>, from = 0, n = 4): number[] {
  return Array.from({ length: n }, (_, i) => a[from + i] as number);
}

/** The only events counted were these (and each at least once). */
function expectEvents(d: Decoded, ...names: DecodeEventName[]): void {
  expect(Object.keys(d.events).sort()).toEqual([...new Set(names)].sort());
}

// ---------------------------------------------------------------------------------------------
// Reusable header fragments. Each is a literal with one comment per field.
// ---------------------------------------------------------------------------------------------

/** Ethernet II header announcing `type`: dst 02:00:00:00:00:02, src 02:00:00:00:00:01. */
function eth(typeHi: number, typeLo: number): number[] {
  return [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // destination MAC 02:00:00:00:00:02 (unicast)
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source MAC 02:00:00:00:00:01
    typeHi, typeLo, //                     EtherType
  ];
}
const ETH_IPV4 = eth(0x08, 0x00);
const ETH_IPV6 = eth(0x86, 0xdd);

/** A 20-byte IPv4 header 10.0.0.1 -> 10.0.0.2 with the given total length and protocol. */
function ip4hdr(totalLength: number, proto: number, src = [10, 0, 0, 1], dst = [10, 0, 0, 2], id = 0x1234, ttl = 64): number[] {
  return [
    0x45, //                                      version 4, IHL 5 (20 bytes)
    0x00, //                                      DSCP 0, ECN 0
    totalLength >> 8, totalLength & 0xff, //      total length
    id >> 8, id & 0xff, //                        identification
    0x40, 0x00, //                                flags DF, fragment offset 0
    ttl, //                                       TTL
    proto, //                                     protocol
    0x00, 0x00, //                                header checksum (not verified)
    ...src, //                                    source address
    ...dst, //                                    destination address
  ];
}

/** A 40-byte IPv6 header 2001:db8::1 -> 2001:db8::2 with the given payload length and next header. */
function ip6hdr(payloadLength: number, nextHeader: number, src = '2001:db8::1', dst = '2001:db8::2', hopLimit = 64): number[] {
  return [
    0x60, 0x00, 0x00, 0x00, //                        version 6, traffic class 0, flow label 0
    payloadLength >> 8, payloadLength & 0xff, //      payload length
    nextHeader, //                                    next header
    hopLimit, //                                      hop limit
    ...v6bytes(src), //                               source address (16 bytes)
    ...v6bytes(dst), //                               destination address (16 bytes)
  ];
}

/** An 8-byte UDP header with the given ports and length field. */
function udphdr(sport: number, dport: number, length: number): number[] {
  return [
    sport >> 8, sport & 0xff, //   source port
    dport >> 8, dport & 0xff, //   destination port
    length >> 8, length & 0xff, // length (header + payload)
    0x00, 0x00, //                 checksum (0 = none for IPv4)
  ];
}

/** A 20-byte TCP header, ACK only, seq 1, ack 1. */
function tcphdr(sport: number, dport: number, flags = 0x10): number[] {
  return [
    sport >> 8, sport & 0xff, // source port
    dport >> 8, dport & 0xff, // destination port
    0x00, 0x00, 0x00, 0x01, //  sequence number 1
    0x00, 0x00, 0x00, 0x01, //  acknowledgment number 1
    0x50, //                    data offset 5 (20 bytes), reserved 0, NS 0
    flags, //                   flags
    0x20, 0x00, //              window 8192
    0x00, 0x00, //              checksum (not verified)
    0x00, 0x00, //              urgent pointer
  ];
}

/** An 8-byte ICMP / ICMPv6 echo header. */
function echohdr(type: number, id: number, seq: number): number[] {
  return [
    type, //                 type (8 request / 0 reply; ICMPv6 128 / 129)
    0x00, //                 code 0
    0x00, 0x00, //           checksum (not verified)
    id >> 8, id & 0xff, //   identifier
    seq >> 8, seq & 0xff, // sequence number
  ];
}

// =============================================================================================

describe('Ethernet + IPv4 + TCP', () => {
  // 14 + 20 + 20 + 4 = 58 bytes.
  const pkt = bytes(
    [
      0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e, // destination MAC 00:1b:21:3c:4d:5e
      0x00, 0x0c, 0x29, 0x11, 0x22, 0x33, // source MAC 00:0c:29:11:22:33
      0x08, 0x00, //                         EtherType IPv4
    ],
    [
      0x45, //                   version 4, IHL 5
      0x10, //                   DSCP 4 (low delay), ECN 0
      0x00, 0x2c, //             total length 44 = 20 IP + 20 TCP + 4 payload
      0xab, 0xcd, //             identification 0xabcd
      0x40, 0x00, //             flags DF, fragment offset 0
      0x37, //                   TTL 55
      0x06, //                   protocol 6 (TCP)
      0x00, 0x00, //             header checksum
      0xc0, 0xa8, 0x01, 0x0a, // source 192.168.1.10
      0x5d, 0xb8, 0xd8, 0x22, // destination 93.184.216.34
    ],
    [
      0xc3, 0x50, //             source port 50000
      0x01, 0xbb, //             destination port 443
      0x11, 0x22, 0x33, 0x44, // sequence number 0x11223344
      0x55, 0x66, 0x77, 0x88, // acknowledgment number 0x55667788
      0x50, //                   data offset 5 (20 bytes)
      0x18, //                   flags PSH|ACK
      0xfa, 0xf0, //             window 64240
      0x00, 0x00, //             checksum
      0x00, 0x00, //             urgent pointer
    ],
    [0x47, 0x45, 0x54, 0x20], // payload "GET "
  );

  it('fills link, IP and transport fields with offsets into the buffer', () => {
    expect(pkt.length).toBe(58);
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expectEvents(d);
    expect(v.linkType).toBe(1);
    expect(v.macDstOffset).toBe(0);
    expect(v.macSrcOffset).toBe(6);
    expect(v.macDstGroup).toBe(0);
    expect(v.linuxIfindex).toBe(-1);
    expect(v.linuxPacketType).toBe(-1);
    expect(v.linuxHatype).toBe(-1);
    expect(v.vlanDepth).toBe(0);
    expect(v.encapDepth).toBe(0);
    expect(v.ipVersion).toBe(4);
    expect(words(v.src)).toEqual(v4words('192.168.1.10'));
    expect(words(v.dst)).toEqual(v4words('93.184.216.34'));
    expect(v.proto).toBe(6);
    expect(v.ttl).toBe(55);
    expect(v.ipId).toBe(0xabcd);
    expect(v.flowLabel).toBe(0);
    expect(v.ipOffset).toBe(14);
    expect(v.ipLength).toBe(44);
    expect(v.isFragment).toBe(0);
    expect(v.l4Valid).toBe(1);
    expect(v.l4Offset).toBe(34);
    expect(v.sport).toBe(50000);
    expect(v.dport).toBe(443);
    expect(v.tcpFlags).toBe(0x18);
    expect(v.tcpSeq).toBe(0x11223344);
    expect(v.tcpAck).toBe(0x55667788);
    expect(v.payloadOffset).toBe(54);
    expect(v.payloadEnd).toBe(58);
    expect(v.udpLength).toBe(0);
    expect(v.icmpType).toBe(-1);
    expect(v.quotedValid).toBe(0);
    expect(v.truncated).toBe(0);
    expect(v.malformed).toBe(0);
  });

  it('reads the 9-bit flags (NS in the data-offset byte) and unsigned 32-bit sequence numbers', () => {
    const syn = bytes(
      ETH_IPV4,
      ip4hdr(40, 6),
      [
        0x04, 0xd2, //             source port 1234
        0x00, 0x16, //             destination port 22
        0xff, 0xff, 0xff, 0xfe, // sequence number 4294967294 (top bit set)
        0x80, 0x00, 0x00, 0x00, // acknowledgment number 2^31
        0x51, //                   data offset 5, NS = 1
        0xc2, //                   flags CWR|ECE|SYN
        0xff, 0xff, //             window
        0x00, 0x00, //             checksum
        0x00, 0x00, //             urgent pointer
      ],
    );
    const d = decode(syn, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(d.dec.view.tcpFlags).toBe(0x1c2);
    expect(d.dec.view.tcpSeq).toBe(4294967294);
    expect(d.dec.view.tcpAck).toBe(2147483648);
    expect(d.dec.view.payloadOffset).toBe(d.dec.view.payloadEnd);
  });

  it('reads a packet that starts at an offset inside a larger buffer', () => {
    const buf = bytes([0xee, 0xee, 0xee], pkt, [0xee, 0xee]);
    const dec = new EngineDecoder();
    expect(dec.decode(buf, 3, pkt.length, LINKTYPE_ETHERNET)).toBe(DecodeStatus.Ok);
    expect(dec.view.macDstOffset).toBe(3);
    expect(dec.view.ipOffset).toBe(17);
    expect(dec.view.l4Offset).toBe(37);
    expect(dec.view.payloadOffset).toBe(57);
    expect(dec.view.payloadEnd).toBe(61);
  });

  it('flags a group (broadcast/multicast) destination MAC', () => {
    const bcast = bytes(
      [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // destination MAC broadcast
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source MAC
        0x08, 0x00, //                         EtherType IPv4
      ],
      ip4hdr(28, 17, [10, 0, 0, 1], [10, 0, 0, 255]),
      udphdr(68, 67, 8),
    );
    const d = decode(bcast, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(d.dec.view.macDstGroup).toBe(1);
    expect(d.dec.view.udpLength).toBe(8);
  });
});

describe('Ethernet padding', () => {
  it('is cut off by the IPv4 total length so it never reaches the payload', () => {
    // A TCP ACK (40 IP bytes) padded to the 60-byte Ethernet minimum: 14 + 40 + 6 padding.
    const pkt = bytes(
      ETH_IPV4,
      ip4hdr(40, 6), //                       total length 40: no TCP payload
      tcphdr(80, 40000),
      [0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // Ethernet padding
    );
    expect(pkt.length).toBe(60);
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(d.dec.view.ipLength).toBe(40);
    expect(d.dec.view.payloadOffset).toBe(54);
    expect(d.dec.view.payloadEnd).toBe(54);
  });

  it('is cut off by the UDP length too', () => {
    const pkt = bytes(
      ETH_IPV4,
      ip4hdr(30, 17), //           total length 30 = 20 + 8 + 2
      udphdr(5000, 6000, 10), //   UDP length 10: 2 bytes of payload
      [0x68, 0x69], //             payload "hi"
      [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // padding
    );
    expect(pkt.length).toBe(60);
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(d.dec.view.payloadOffset).toBe(42);
    expect(d.dec.view.payloadEnd).toBe(44);
    expect(d.dec.view.udpLength).toBe(10);
  });
});

describe('IPv4 options and fragments', () => {
  it('skips IPv4 options (IHL 6) to find the transport header', () => {
    const pkt = bytes(ETH_IPV4, [
      0x46, //                   version 4, IHL 6 (24 bytes)
      0x00, //                   DSCP/ECN
      0x00, 0x20, //             total length 32 = 24 + 8
      0x00, 0x01, //             identification 1
      0x00, 0x00, //             no flags, offset 0
      0x01, //                   TTL 1
      0x11, //                   protocol 17 (UDP)
      0x00, 0x00, //             checksum
      0x0a, 0x00, 0x00, 0x01, // source 10.0.0.1
      0xe0, 0x00, 0x00, 0x16, // destination 224.0.0.22
      0x94, 0x04, 0x00, 0x00, // option: Router Alert (type 148, length 4, value 0)
    ], udphdr(1000, 2000, 8));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(v.l4Offset).toBe(14 + 24);
    expect(v.sport).toBe(1000);
    expect(v.dport).toBe(2000);
    expect(words(v.dst)).toEqual(v4words('224.0.0.22'));
  });

  // The first fragment of a 3000-byte UDP datagram: offset 0, MF set, carries the UDP header.
  const firstFragment = bytes(ETH_IPV4, [
    0x45, 0x00, //             version 4, IHL 5, DSCP/ECN
    0x00, 0x30, //             total length 48 = 20 + 28 (UDP header + 20 bytes of data)
    0x77, 0x77, //             identification 0x7777
    0x20, 0x00, //             flags MF, fragment offset 0
    0x40, 0x11, //             TTL 64, protocol UDP
    0x00, 0x00, //             checksum
    0x0a, 0x01, 0x06, 0x5c, // source 10.1.6.92
    0x0a, 0x01, 0x04, 0x02, // destination 10.1.4.2
  ], udphdr(1000, 2000, 3008), new Array<number>(20).fill(0x41));

  it('decodes the transport header of a first fragment', () => {
    const d = decode(firstFragment, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expectEvents(d, 'decoder.ipv4.fragment');
    expect(v.isFragment).toBe(1);
    expect(v.moreFragments).toBe(1);
    expect(v.fragOffset).toBe(0);
    expect(v.ipId).toBe(0x7777);
    expect(v.l4Valid).toBe(1);
    expect(v.sport).toBe(1000);
    expect(v.dport).toBe(2000);
    expect(v.udpLength).toBe(3008);
    // The UDP length reaches beyond this fragment: the payload stops at the fragment's end.
    expect(v.payloadEnd).toBe(firstFragment.length);
  });

  it('does not decode a transport header in a non-first fragment', () => {
    const pkt = bytes(ETH_IPV4, [
      0x45, 0x00, //             version 4, IHL 5, DSCP/ECN
      0x00, 0x1c, //             total length 28 = 20 + 8 bytes of fragment data
      0x77, 0x77, //             identification 0x7777
      0x00, 0xb9, //             flags none, fragment offset 185 (x 8 = 1480 bytes)
      0x40, 0x11, //             TTL 64, protocol UDP
      0x00, 0x00, //             checksum
      0x0a, 0x01, 0x06, 0x5c, // source 10.1.6.92
      0x0a, 0x01, 0x04, 0x02, // destination 10.1.4.2
    ], [0x13, 0x88, 0x17, 0x70, 0x00, 0x08, 0x00, 0x00]); // data that looks like a UDP header (ports 5000 > 6000)
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expectEvents(d, 'decoder.ipv4.fragment');
    expect(v.isFragment).toBe(1);
    expect(v.moreFragments).toBe(0);
    expect(v.fragOffset).toBe(1480);
    expect(v.proto).toBe(17);
    expect(v.l4Valid).toBe(0);
    expect(v.l4Offset).toBe(-1);
    expect(v.sport).toBe(0);
    expect(v.dport).toBe(0);
    expect(v.payloadOffset).toBe(-1);
  });

  it('does not enter a UDP tunnel from a first fragment', () => {
    const pkt = bytes(ETH_IPV4, [
      0x45, 0x00, 0x00, 0x30, // version/IHL, DSCP, total length 48
      0x00, 0x09, 0x20, 0x00, // identification 9, flags MF, offset 0
      0x40, 0x11, 0x00, 0x00, // TTL 64, protocol UDP, checksum
      0x0a, 0x00, 0x00, 0x01, // source 10.0.0.1
      0x0a, 0x00, 0x00, 0x02, // destination 10.0.0.2
    ], udphdr(40000, 4789, 1400), [0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, 0x00], new Array<number>(12).fill(0));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(d.dec.view.encapDepth).toBe(0);
    expect(d.dec.view.dport).toBe(4789);
  });
});

describe('VLAN tags', () => {
  it('decodes one 802.1Q tag (PCP and DEI do not leak into the VLAN id)', () => {
    const pkt = bytes(
      [
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // destination MAC
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source MAC
        0x81, 0x00, //                         EtherType 802.1Q
        0xb0, 0xa5, //                         TCI: PCP 5, DEI 1, VID 165
        0x08, 0x00, //                         inner EtherType IPv4
      ],
      ip4hdr(28, 17),
      udphdr(53, 53, 8),
    );
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(v.vlanDepth).toBe(1);
    expect(v.vlanId).toBe(165);
    expect(v.ipOffset).toBe(18);
    expect(v.sport).toBe(53);
  });

  it('decodes stacked 802.1ad + 802.1Q (QinQ) and keeps the outermost VLAN id', () => {
    const pkt = bytes(
      [
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // destination MAC
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source MAC
        0x88, 0xa8, //                         EtherType 802.1ad (S-tag)
        0x00, 0xc8, //                         S-tag TCI: VID 200
        0x81, 0x00, //                         EtherType 802.1Q (C-tag)
        0x07, 0xd1, //                         C-tag TCI: VID 2001
        0x86, 0xdd, //                         inner EtherType IPv6
      ],
      ip6hdr(8, 17),
      udphdr(546, 547, 8),
    );
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(v.vlanDepth).toBe(2);
    expect(v.vlanId).toBe(200);
    expect(v.ipVersion).toBe(6);
    expect(v.ipOffset).toBe(22);
    expect(v.dport).toBe(547);
  });

  it('accepts the old 0x9100 QinQ EtherType', () => {
    const pkt = bytes(eth(0x91, 0x00), [0x00, 0x0a, 0x08, 0x00], ip4hdr(28, 17), udphdr(1, 2, 8)); // TCI VID 10, inner IPv4
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(d.dec.view.vlanId).toBe(10);
  });

  it('stops after 8 tags and counts decoder.vlan.too_many', () => {
    const tags: number[] = [];
    for (let i = 0; i < 9; i++) tags.push(0x00, i + 1, 0x81, 0x00); // TCI VID i+1, next EtherType 802.1Q
    const pkt = bytes(eth(0x81, 0x00), tags, [0x00, 0x0a, 0x08, 0x00], ip4hdr(20, 59));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.NotIp);
    expect(d.events['decoder.vlan.too_many']).toBe(1);
    expect(d.dec.view.vlanId).toBe(1);
  });
});

describe('Linux cooked captures', () => {
  it('SLL: packet type and the sender MAC', () => {
    const pkt = bytes(
      [
        0x00, 0x04, //                                     packet type 4 (outgoing)
        0x00, 0x01, //                                     ARPHRD_ETHER
        0x00, 0x06, //                                     address length 6
        0x00, 0x0c, 0x29, 0xaa, 0xbb, 0xcc, 0x00, 0x00, // address 00:0c:29:aa:bb:cc + 2 bytes padding
        0x08, 0x00, //                                     protocol IPv4
      ],
      ip4hdr(40, 6),
      tcphdr(46656, 80, 0x02),
    );
    const d = decode(pkt, LINKTYPE_LINUX_SLL);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(v.linuxPacketType).toBe(4);
    expect(v.linuxHatype).toBe(1);
    expect(v.linuxIfindex).toBe(-1);
    expect(v.macSrcOffset).toBe(6);
    expect(v.macDstOffset).toBe(-1);
    expect(v.ipOffset).toBe(16);
    expect(v.tcpFlags).toBe(0x02);
  });

  it('SLL: an address length other than 6 gives no MAC', () => {
    const pkt = bytes(
      [
        0x00, 0x00, //                                     packet type 0 (host)
        0x03, 0x04, //                                     ARPHRD 772 (loopback)
        0x00, 0x16, //                                     address length 22 (bogus, seen in real captures)
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // address
        0x08, 0x00, //                                     protocol IPv4
      ],
      ip4hdr(28, 17),
      udphdr(1, 2, 8),
    );
    const d = decode(pkt, LINKTYPE_LINUX_SLL);
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(d.dec.view.linuxPacketType).toBe(0);
    expect(d.dec.view.linuxHatype).toBe(772);
    expect(d.dec.view.macSrcOffset).toBe(-1);
  });

  it('SLL2: interface index, packet type, MAC', () => {
    const pkt = bytes(
      [
        0x86, 0xdd, //                                     protocol IPv6
        0x00, 0x00, //                                     reserved
        0x00, 0x00, 0x01, 0x2c, //                         interface index 300
        0x00, 0x01, //                                     ARPHRD_ETHER
        0x03, //                                           packet type 3 (otherhost)
        0x06, //                                           address length 6
        0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x00, 0x00, // address 0a:0b:0c:0d:0e:0f + padding
      ],
      ip6hdr(8, 58),
      echohdr(128, 9, 1),
    );
    const d = decode(pkt, LINKTYPE_LINUX_SLL2);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(v.linkType).toBe(276);
    expect(v.linuxIfindex).toBe(300);
    expect(v.linuxPacketType).toBe(3);
    expect(v.linuxHatype).toBe(1);
    expect(v.macSrcOffset).toBe(12);
    expect(v.ipVersion).toBe(6);
    expect(v.ipOffset).toBe(20);
    expect(v.icmpType).toBe(128);
    expect(v.icmpId).toBe(9);
    expect(v.icmpSeq).toBe(1);
  });

  it('SLL2: ARP is not IP', () => {
    const pkt = bytes(
      [
        0x08, 0x06, //                                     protocol ARP
        0x00, 0x00, //                                     reserved
        0x00, 0x00, 0x00, 0x01, //                         interface index 1
        0x00, 0x01, //                                     ARPHRD_ETHER
        0x04, //                                           packet type 4 (outgoing)
        0x06, //                                           address length 6
        0x8e, 0x36, 0x06, 0x44, 0xac, 0xaf, 0x00, 0x00, // address
      ],
      new Array<number>(28).fill(0),
    );
    const d = decode(pkt, LINKTYPE_LINUX_SLL2);
    expect(d.status).toBe(DecodeStatus.NotIp);
    expect(d.dec.view.linuxPacketType).toBe(4);
    expect(d.dec.view.linuxIfindex).toBe(1);
  });
});

describe('raw IP link types', () => {
  const v4pkt = bytes(ip4hdr(28, 17, [192, 168, 1, 100], [9, 9, 9, 9]), udphdr(12345, 53, 8));
  const v6pkt = bytes(ip6hdr(8, 17, '2001:db8::1', '2620:fe::9'), udphdr(12345, 53, 8));

  it('LINKTYPE_RAW (101) carries IPv4 or IPv6 by version nibble', () => {
    let d = decode(v4pkt, LINKTYPE_RAW);
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(d.dec.view.ipVersion).toBe(4);
    expect(d.dec.view.ipOffset).toBe(0);
    expect(d.dec.view.macSrcOffset).toBe(-1);
    expect(words(d.dec.view.dst)).toEqual(v4words('9.9.9.9'));
    d = decode(v6pkt, LINKTYPE_RAW);
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(d.dec.view.ipVersion).toBe(6);
    expect(words(d.dec.view.dst)).toEqual(v6words('2620:fe::9'));
    expect(d.dec.view.dport).toBe(53);
  });

  it('LINKTYPE_RAW with version 3 is malformed (decoder.raw.bad_version)', () => {
    const d = decode(new Uint8Array([0x30, 0x30, 0x30, 0x30]), LINKTYPE_RAW);
    expect(d.status).toBe(DecodeStatus.Malformed);
    expectEvents(d, 'decoder.raw.bad_version');
  });

  it('LINKTYPE_IPV4 (228) and LINKTYPE_IPV6 (229)', () => {
    let d = decode(v4pkt, LINKTYPE_IPV4);
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(d.dec.view.linkType).toBe(228);
    expect(words(d.dec.view.src)).toEqual(v4words('192.168.1.100'));
    d = decode(v6pkt, LINKTYPE_IPV6);
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(words(d.dec.view.src)).toEqual(v6words('2001:db8::1'));
  });

  it('LINKTYPE_IPV4 holding IPv6 (and the reverse) is malformed', () => {
    let d = decode(v6pkt, LINKTYPE_IPV4);
    expect(d.status).toBe(DecodeStatus.Malformed);
    expectEvents(d, 'decoder.ipv4.bad_version');
    // The IPv4 packet must be at least 40 bytes: a shorter one is first a truncated IPv6 header.
    const longV4 = bytes(ip4hdr(48, 17, [192, 168, 1, 100], [9, 9, 9, 9]), udphdr(12345, 53, 28), new Array<number>(20).fill(0));
    d = decode(longV4, LINKTYPE_IPV6);
    expect(d.status).toBe(DecodeStatus.Malformed);
    expectEvents(d, 'decoder.ipv6.bad_version');
    d = decode(v4pkt, LINKTYPE_IPV6);
    expect(d.status).toBe(DecodeStatus.Truncated);
    expectEvents(d, 'decoder.ipv6.truncated');
  });

  it('an unknown link type is NotIp and counted', () => {
    const d = decode(v4pkt, 147);
    expect(d.status).toBe(DecodeStatus.NotIp);
    expectEvents(d, 'decoder.link.unsupported');
  });
});

describe('BSD loopback', () => {
  const ip = bytes(ip4hdr(28, 17, [127, 0, 0, 1], [127, 0, 0, 1]), udphdr(1, 2, 8));
  const ip6 = bytes(ip6hdr(8, 17, '::1', '::1'), udphdr(1, 2, 8));

  it('LINKTYPE_NULL: AF_INET in the writer\'s byte order, little or big endian', () => {
    for (const af of [
      [0x02, 0x00, 0x00, 0x00], // AF_INET = 2, little-endian writer
      [0x00, 0x00, 0x00, 0x02], // AF_INET = 2, big-endian writer
    ]) {
      const d = decode(bytes(af, ip), LINKTYPE_NULL);
      expect(d.status).toBe(DecodeStatus.Ok);
      expect(d.dec.view.ipOffset).toBe(4);
      expect(words(d.dec.view.src)).toEqual(v4words('127.0.0.1'));
    }
  });

  it('LINKTYPE_NULL: the BSD AF_INET6 values 24, 28, 30', () => {
    for (const af of [
      [0x18, 0x00, 0x00, 0x00], // 24 (NetBSD/OpenBSD), little-endian
      [0x00, 0x00, 0x00, 0x1c], // 28 (FreeBSD), big-endian
      [0x1e, 0x00, 0x00, 0x00], // 30 (macOS), little-endian
    ]) {
      const d = decode(bytes(af, ip6), LINKTYPE_NULL);
      expect(d.status).toBe(DecodeStatus.Ok);
      expect(d.dec.view.ipVersion).toBe(6);
    }
  });

  it('LINKTYPE_LOOP: network byte order only', () => {
    let d = decode(bytes([0x00, 0x00, 0x00, 0x02], ip), LINKTYPE_LOOP); // AF_INET, big-endian
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(d.dec.view.ipVersion).toBe(4);
    d = decode(bytes([0x02, 0x00, 0x00, 0x00], ip), LINKTYPE_LOOP); //  little-endian: not valid for LOOP
    expect(d.status).toBe(DecodeStatus.NotIp);
    expectEvents(d, 'decoder.null.unknown_family');
  });

  it('an unknown address family is NotIp and counted', () => {
    const d = decode(bytes([0x07, 0x00, 0x00, 0x00], ip), LINKTYPE_NULL); // AF 7
    expect(d.status).toBe(DecodeStatus.NotIp);
    expectEvents(d, 'decoder.null.unknown_family');
  });
});

describe('IPv6 extension headers', () => {
  // IPv6 -> Hop-by-Hop (8) -> Routing type 0 (24) -> Destination Options (8) -> Fragment (8) -> UDP (8) + 4.
  const chain = bytes(
    ETH_IPV6,
    [
      0x6b, 0x8a, 0xbc, 0xde, //         version 6, traffic class 0xb8, flow label 0xabcde
      0x00, 0x3c, //                     payload length 60 = 8 + 24 + 8 + 8 + 8 + 4
      0x00, //                           next header 0 (Hop-by-Hop)
      0x20, //                           hop limit 32
      ...v6bytes('2001:db8::1'), //      source
      ...v6bytes('2001:db8::2'), //      destination
    ],
    [
      0x2b, //                           HBH: next header 43 (Routing)
      0x00, //                           HBH: length 0 (8 bytes)
      0x05, 0x02, 0x00, 0x00, //         option Router Alert (type 5, length 2, value 0)
      0x01, 0x00, //                     option PadN (type 1, length 0)
    ],
    [
      0x3c, //                           Routing: next header 60 (Destination Options)
      0x02, //                           Routing: length 2 (24 bytes)
      0x00, //                           routing type 0
      0x00, //                           segments left 0
      0x00, 0x00, 0x00, 0x00, //         reserved
      ...v6bytes('2001:db8::99'), //     address[0]
    ],
    [
      0x2c, //                           DestOpts: next header 44 (Fragment)
      0x00, //                           DestOpts: length 0 (8 bytes)
      0x01, 0x04, 0x00, 0x00, 0x00, 0x00, // option PadN (type 1, length 4)
    ],
    [
      0x11, //                           Fragment: next header 17 (UDP)
      0x00, //                           reserved
      0x00, 0x01, //                     fragment offset 0, M = 1
      0xde, 0xad, 0xbe, 0xef, //         identification 0xdeadbeef
    ],
    udphdr(5353, 5354, 1000), //         UDP (the datagram continues in later fragments)
    [0x01, 0x02, 0x03, 0x04], //         payload
  );

  it('walks HBH, routing, destination options and fragment headers to UDP', () => {
    expect(chain.length).toBe(14 + 40 + 60);
    const d = decode(chain, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expectEvents(d, 'decoder.ipv6.fragment');
    expect(v.ipVersion).toBe(6);
    expect(v.flowLabel).toBe(0xabcde);
    expect(v.ttl).toBe(32);
    expect(v.ipLength).toBe(100);
    expect(v.proto).toBe(17);
    expect(v.isFragment).toBe(1);
    expect(v.moreFragments).toBe(1);
    expect(v.fragOffset).toBe(0);
    expect(v.ipId).toBe(0xdeadbeef);
    expect(v.l4Valid).toBe(1);
    expect(v.l4Offset).toBe(14 + 40 + 48);
    expect(v.sport).toBe(5353);
    expect(v.dport).toBe(5354);
    expect(v.payloadOffset).toBe(14 + 40 + 56);
    expect(v.payloadEnd).toBe(chain.length);
  });

  it('stops at a non-first IPv6 fragment with the upper protocol known and no ports', () => {
    const pkt = bytes(ETH_IPV6, ip6hdr(16, 44), [
      0x06, //                   Fragment: next header 6 (TCP)
      0x00, //                   reserved
      0x05, 0xa8, //             fragment offset 181 (x 8 = 1448), M = 0
      0x00, 0x00, 0x00, 0x2a, // identification 42
    ], [0, 0, 0, 0, 0, 0, 0, 0]);
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(v.proto).toBe(6);
    expect(v.fragOffset).toBe(1448);
    expect(v.moreFragments).toBe(0);
    expect(v.ipId).toBe(42);
    expect(v.l4Valid).toBe(0);
    expect(v.sport).toBe(0);
  });

  it('treats next header 59 (no next header) as done, not unknown', () => {
    const pkt = bytes(ETH_IPV6, ip6hdr(4, 59), [0, 0, 0, 0]);
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Ok);
    expectEvents(d);
    expect(d.dec.view.proto).toBe(59);
  });

  it('counts an unknown upper protocol', () => {
    const pkt = bytes(ETH_IPV6, ip6hdr(4, 132), [0, 0, 0, 0]); // SCTP: not decoded
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Ok);
    expectEvents(d, 'decoder.ip.unknown_protocol');
    expect(d.dec.view.proto).toBe(132);
  });
});

describe('IPv6 jumbograms (RFC 2675, BIG TCP)', () => {
  const TCP_PAYLOAD = 65600;
  const jumboLength = 8 + 20 + TCP_PAYLOAD; // everything after the fixed IPv6 header: 65628
  const headers = bytes(
    ETH_IPV6,
    ip6hdr(0, 0), //                   payload length 0, next header Hop-by-Hop
    [
      0x06, //                         HBH: next header 6 (TCP)
      0x00, //                         HBH: length 0 (8 bytes)
      0xc2, //                         option Jumbo Payload (type 0xc2)
      0x04, //                         option length 4
      ...[jumboLength >>> 24, (jumboLength >>> 16) & 0xff, (jumboLength >>> 8) & 0xff, jumboLength & 0xff], // jumbo payload length
    ],
    tcphdr(41851, 43913, 0x18),
  );

  it('takes the packet length from the Jumbo Payload option', () => {
    const pkt = bytes(headers, new Uint8Array(TCP_PAYLOAD));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expectEvents(d);
    expect(v.ipLength).toBe(40 + jumboLength);
    expect(v.proto).toBe(6);
    expect(v.sport).toBe(41851);
    expect(v.payloadOffset).toBe(14 + 40 + 8 + 20);
    expect(v.payloadEnd).toBe(pkt.length);
  });

  it('cuts trailing bytes after the jumbogram, and marks a short capture truncated', () => {
    const padded = bytes(headers, new Uint8Array(TCP_PAYLOAD), [0xaa, 0xaa, 0xaa, 0xaa]);
    let d = decode(padded, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(d.dec.view.payloadEnd).toBe(padded.length - 4);
    d = decode(padded, LINKTYPE_ETHERNET, 14 + 40 + 8 + 20 + 100); // snap length: headers + 100 bytes
    expect(d.status).toBe(DecodeStatus.Truncated);
    expect(d.events['decoder.ipv6.truncated']).toBe(1);
    expect(d.dec.view.l4Valid).toBe(1);
    expect(d.dec.view.ipLength).toBe(40 + jumboLength);
  });

  it('counts a jumbo length below 65536 (decoder.ipv6.bad_jumbo)', () => {
    const pkt = bytes(ETH_IPV6, ip6hdr(0, 0), [
      0x11, 0x00, //             HBH: next header UDP, length 0
      0xc2, 0x04, //             Jumbo Payload option, length 4
      0x00, 0x00, 0x00, 0x14, // jumbo payload length 20 (illegal: must exceed 65535)
    ], udphdr(1, 2, 12), [0, 0, 0, 0]);
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.events['decoder.ipv6.bad_jumbo']).toBe(1);
  });

  it('a payload length of 0 without the option (GSO) falls back to the captured length', () => {
    const pkt = bytes(ETH_IPV6, ip6hdr(0, 17), udphdr(7, 9, 12), [1, 2, 3, 4]);
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(d.dec.view.ipLength).toBe(40 + 12);
    expect(d.dec.view.dport).toBe(9);
  });
});

describe('IP-in-IP tunnels', () => {
  it('IPIP (4in4): outer addresses kept as the encap layer, inner packet decoded', () => {
    const pkt = bytes(
      ETH_IPV4,
      [
        0x45, 0x00, 0x00, 0x3c, //  outer: version/IHL, DSCP, total length 60 = 20 + 40
        0x00, 0x01, 0x00, 0x00, //  outer: identification 1, no flags
        0x3f, 0x04, 0x00, 0x00, //  outer: TTL 63, protocol 4 (IPv4), checksum
        0x0a, 0xa2, 0x2a, 0x5d, //  outer source 10.162.42.93
        0x0a, 0xa2, 0x21, 0xa4, //  outer destination 10.162.33.164
      ],
      [
        0x45, 0x00, 0x00, 0x28, //  inner: version/IHL, DSCP, total length 40
        0x43, 0x21, 0x40, 0x00, //  inner: identification 0x4321, DF
        0x35, 0x06, 0x00, 0x00, //  inner: TTL 53, protocol TCP, checksum
        0x1b, 0x24, 0x37, 0x71, //  inner source 27.36.55.113
        0xd2, 0x15, 0xd2, 0xf1, //  inner destination 210.21.210.241
      ],
      tcphdr(49249, 60030, 0x02),
    );
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expectEvents(d);
    expect(v.encapDepth).toBe(1);
    expect(v.encapKind[0]).toBe(EncapKind.IpInIp);
    expect(v.encapOuterVersion[0]).toBe(4);
    expect(words(v.encapOuterSrc, 0)).toEqual(v4words('10.162.42.93'));
    expect(words(v.encapOuterDst, 0)).toEqual(v4words('10.162.33.164'));
    expect(v.encapVni[0]).toBe(-1);
    expect(v.ipVersion).toBe(4);
    expect(words(v.src)).toEqual(v4words('27.36.55.113'));
    expect(words(v.dst)).toEqual(v4words('210.21.210.241'));
    expect(v.ttl).toBe(53);
    expect(v.ipId).toBe(0x4321);
    expect(v.ipOffset).toBe(34);
    expect(v.ipLength).toBe(40);
    expect(v.proto).toBe(6);
    expect(v.sport).toBe(49249);
    expect(v.dport).toBe(60030);
    expect(v.tcpFlags).toBe(0x02);
    expect(v.macDstOffset).toBe(0);
  });

  it('6in4 (protocol 41)', () => {
    const pkt = bytes(
      ETH_IPV4,
      ip4hdr(20 + 40 + 12, 41, [1, 2, 3, 4], [5, 6, 7, 8]), // outer IPv4, protocol 41
      ip6hdr(12, 17, 'dead::beef', 'cafe::babe'), //           inner IPv6
      udphdr(30000, 13000, 12),
      [0x41, 0x42, 0x43, 0x44],
    );
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(v.encapDepth).toBe(1);
    expect(v.encapKind[0]).toBe(EncapKind.IpInIp);
    expect(v.encapOuterVersion[0]).toBe(4);
    expect(words(v.encapOuterSrc, 0)).toEqual(v4words('1.2.3.4'));
    expect(v.ipVersion).toBe(6);
    expect(words(v.src)).toEqual(v6words('dead::beef'));
    expect(words(v.dst)).toEqual(v6words('cafe::babe'));
    expect(v.sport).toBe(30000);
    expect(v.dport).toBe(13000);
    expect(v.ipId).toBe(0);
  });

  it('4in6 (next header 4)', () => {
    const pkt = bytes(
      ETH_IPV6,
      ip6hdr(20 + 12, 4, '2002:4637:d5d3::4637:d5d3', '2001:4860:0:2001::68'), // outer IPv6, next header 4
      ip4hdr(32, 1, [70, 55, 213, 211], [192, 88, 99, 1]), //                     inner IPv4, ICMP
      echohdr(8, 0x99, 3),
      [0x61, 0x62, 0x63, 0x64],
    );
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(v.encapDepth).toBe(1);
    expect(v.encapOuterVersion[0]).toBe(6);
    expect(words(v.encapOuterSrc, 0)).toEqual(v6words('2002:4637:d5d3::4637:d5d3'));
    expect(words(v.encapOuterDst, 0)).toEqual(v6words('2001:4860:0:2001::68'));
    expect(v.ipVersion).toBe(4);
    expect(words(v.src)).toEqual(v4words('70.55.213.211'));
    expect(v.flowLabel).toBe(0);
    expect(v.icmpType).toBe(8);
    expect(v.icmpId).toBe(0x99);
    expect(v.icmpSeq).toBe(3);
  });

  it('caps nesting: 5 nested IPIP headers count decoder.tunnel.too_deep', () => {
    // Outer header + 5 nested IPv4 headers, all protocol 4 but the last (UDP). Addresses 10.0.0.N > 10.0.1.N.
    const headers: number[][] = [];
    const n = 6;
    for (let i = 0; i < n; i++) {
      const last = i === n - 1;
      headers.push(ip4hdr(20 * (n - i) + 8, last ? 17 : 4, [10, 0, 0, i + 1], [10, 0, 1, i + 1]));
    }
    const pkt = bytes(ETH_IPV4, ...headers, udphdr(1, 2, 8));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expectEvents(d, 'decoder.tunnel.too_deep');
    expect(v.encapDepth).toBe(MAX_ENCAP_DEPTH);
    for (let i = 0; i < MAX_ENCAP_DEPTH; i++) expect(words(v.encapOuterSrc, i * 4)).toEqual(v4words(`10.0.0.${i + 1}`));
    // Decoding stopped at the 5th header (the one that would open a 5th layer): it is the packet.
    expect(v.ipVersion).toBe(4);
    expect(words(v.src)).toEqual(v4words('10.0.0.5'));
    expect(v.proto).toBe(4);
    expect(v.l4Valid).toBe(0);
    expect(d.status).toBe(DecodeStatus.Ok);

    // One header fewer fits exactly: 4 layers, the UDP packet inside is decoded.
    const fits = bytes(ETH_IPV4, ...headers.slice(1), udphdr(1, 2, 8));
    const f = decode(fits, LINKTYPE_ETHERNET);
    expectEvents(f);
    expect(f.dec.view.encapDepth).toBe(4);
    expect(words(f.dec.view.src)).toEqual(v4words('10.0.0.6'));
    expect(f.dec.view.dport).toBe(2);
  });
});

/** Outer Ethernet + IPv4 (192.0.2.1 -> 192.0.2.2, protocol 47) around `rest`. */
function overGre(rest: number[] | Uint8Array): Uint8Array {
  return bytes(ETH_IPV4, ip4hdr(20 + rest.length, 47, [192, 0, 2, 1], [192, 0, 2, 2]), rest);
}

describe('GRE', () => {
  const innerIp = bytes(ip4hdr(28, 17, [172, 16, 0, 1], [172, 16, 0, 2]), udphdr(123, 123, 8));

  it('plain GRE (no flags) carrying IPv4', () => {
    const pkt = overGre(bytes([
      0x00, 0x00, // flags C=0 R=0 K=0 S=0, version 0
      0x08, 0x00, // protocol IPv4
    ], innerIp));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expectEvents(d);
    expect(v.encapDepth).toBe(1);
    expect(v.encapKind[0]).toBe(EncapKind.Gre);
    expect(v.encapVni[0]).toBe(-1);
    expect(words(v.encapOuterSrc, 0)).toEqual(v4words('192.0.2.1'));
    expect(words(v.src)).toEqual(v4words('172.16.0.1'));
    expect(v.ipOffset).toBe(14 + 20 + 4);
    expect(v.sport).toBe(123);
  });

  it('GRE with key and sequence number', () => {
    const pkt = overGre(bytes([
      0x30, 0x00, //             flags K=1 S=1, version 0
      0x08, 0x00, //             protocol IPv4
      0x00, 0x00, 0x00, 0x28, // key 40
      0x00, 0x00, 0x00, 0x07, // sequence number 7
    ], innerIp));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(d.dec.view.encapVni[0]).toBe(40);
    expect(d.dec.view.ipOffset).toBe(14 + 20 + 12);
    expect(words(d.dec.view.dst)).toEqual(v4words('172.16.0.2'));
  });

  it('GRE key with the top bit set is kept as a signed 32-bit value', () => {
    const pkt = overGre(bytes([0x20, 0x00, 0x08, 0x00, 0x80, 0x00, 0x00, 0x01], innerIp)); // K=1, IPv4, key 0x80000001
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.dec.view.encapVni[0]).toBe(0x80000001 | 0);
  });

  it('GRE with checksum carrying IPv6', () => {
    const pkt = overGre(bytes([
      0x80, 0x00, // flags C=1, version 0
      0x86, 0xdd, // protocol IPv6
      0xbe, 0xef, // checksum (not verified)
      0x00, 0x00, // reserved1
    ], ip6hdr(8, 17, 'fd00::1', 'fd00::2'), udphdr(9, 10, 8)));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(v.encapKind[0]).toBe(EncapKind.Gre);
    expect(v.ipVersion).toBe(6);
    expect(v.ipOffset).toBe(14 + 20 + 8);
    expect(words(v.src)).toEqual(v6words('fd00::1'));
    expect(v.dport).toBe(10);
  });

  it('GRE transparent Ethernet bridging (0x6558) -> inner Ethernet; MAC offsets stay on the outer frame', () => {
    const pkt = overGre(bytes(
      [
        0x20, 0x00, //                         flags K=1, version 0
        0x65, 0x58, //                         protocol TEB
        0x02, 0x00, 0x00, 0x00, //             key 0x2000000
      ],
      [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // inner destination MAC (broadcast)
        0x00, 0x50, 0x56, 0x01, 0x02, 0x03, // inner source MAC
        0x08, 0x00, //                         inner EtherType IPv4
      ],
      ip4hdr(28, 1, [172, 16, 6, 1], [172, 16, 6, 119]),
      echohdr(8, 5096, 51712),
    ));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(v.encapKind[0]).toBe(EncapKind.Gre);
    expect(v.encapVni[0]).toBe(0x2000000);
    expect(v.macDstOffset).toBe(0);
    expect(v.macDstGroup).toBe(0);
    expect(v.ipOffset).toBe(14 + 20 + 8 + 14);
    expect(words(v.src)).toEqual(v4words('172.16.6.1'));
    expect(v.icmpId).toBe(5096);
    expect(v.icmpSeq).toBe(51712);
  });

  it('GREv1 (PPTP enhanced GRE) carrying PPP LCP is an undecoded tunnel, its call id the key (decoder.ppp.unsupported_protocol)', () => {
    const pkt = overGre([
      0x30, 0x81, //             flags K=1 S=1, A=1, version 1
      0x88, 0x0b, //             protocol PPP
      0x00, 0x04, //             key: payload length 4
      0x01, 0x02, //             key: call id 258
      0x00, 0x00, 0x00, 0x00, // sequence number 0
      0x00, 0x00, 0x00, 0x00, // acknowledgment number 0
      0xff, 0x03, 0xc0, 0x21, // PPP: address, control, protocol LCP
    ]);
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.UndecodedTunnel);
    expectEvents(d, 'decoder.ppp.unsupported_protocol');
    expect(v.encapDepth).toBe(1);
    expect(v.encapKind[0]).toBe(EncapKind.Gre);
    expect(v.encapVni[0]).toBe(258);
    expect(words(v.encapOuterSrc.slice(0, 4))).toEqual(v4words('192.0.2.1'));
    expect(v.ipVersion).toBe(0);
    expect(undecodedTunnelName(v.undecodedTunnel, v.undecodedValue)).toBe('ppp-protocol-0xc021');
  });

  it('GREv1 carrying PPP with IPv4 (protocol compressed to one byte) decodes the inner packet', () => {
    const inner = bytes(ip4hdr(28, 17, [10, 0, 0, 1], [10, 0, 0, 2]), udphdr(5353, 53, 8));
    const pkt = overGre(bytes(
      [0x30, 0x01, 0x88, 0x0b], //  flags K=1 S=1, version 1; protocol PPP
      [0x00, inner.length + 1, 0x00, 0x07], // key: payload length, call id 7
      [0x00, 0x00, 0x00, 0x01], //  sequence number 1
      [0x21], //                    PPP protocol 0x21 (IPv4), compressed, no address/control
      inner,
    ));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(v.encapDepth).toBe(1);
    expect(v.encapVni[0]).toBe(7);
    expect(words(v.src)).toEqual(v4words('10.0.0.1'));
    expect([v.proto, v.sport, v.dport]).toEqual([17, 5353, 53]);
  });

  it('a GREv1 acknowledgement without payload is an undecoded tunnel (pptp-ack), never plain traffic', () => {
    const pkt = overGre([0x20, 0x81, 0x88, 0x0b, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x05]);
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.UndecodedTunnel);
    expect(d.dec.view.encapDepth).toBe(1);
    expect(undecodedTunnelName(d.dec.view.undecodedTunnel, d.dec.view.undecodedValue)).toBe('pptp-ack');
  });

  it('GRE carrying a protocol we do not decode is an undecoded tunnel with its key (decoder.gre.unsupported_protocol)', () => {
    const pkt = overGre([0x20, 0x00, 0x88, 0x47, 0x00, 0x00, 0x00, 0x28, 0x00, 0x01, 0x41, 0xff]); // key 40, MPLS
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.UndecodedTunnel);
    expectEvents(d, 'decoder.gre.unsupported_protocol');
    const v = d.dec.view;
    expect(v.encapDepth).toBe(1);
    expect(v.encapVni[0]).toBe(40);
    expect(v.ipVersion).toBe(0);
    expect(undecodedTunnelName(v.undecodedTunnel, v.undecodedValue)).toBe('gre-protocol-0x8847');
  });

  it('GRE version 2 and GRE with routing are undecoded tunnels (decoder.gre.unsupported_version)', () => {
    for (const [flags, name] of [[[0x00, 0x02], 'gre-version-2'], [[0x40, 0x00], 'gre-routing']] as const) {
      const d = decode(overGre([...flags, 0x08, 0x00, 0, 0, 0, 0]), LINKTYPE_ETHERNET);
      expect(d.status).toBe(DecodeStatus.UndecodedTunnel);
      expectEvents(d, 'decoder.gre.unsupported_version');
      expect(undecodedTunnelName(d.dec.view.undecodedTunnel, d.dec.view.undecodedValue)).toBe(name);
    }
  });

  it('Cisco MetaData (0x8909) carrying IPv4 is decoded through its SGT tag', () => {
    const inner = bytes(ip4hdr(28, 17, [172, 17, 1, 54], [172, 17, 1, 55]), udphdr(1000, 2000, 8));
    const pkt = overGre(bytes([0x20, 0x00, 0x89, 0x09, 0, 0, 0, 0x28], [0x08, 0x00, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00], inner));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(d.dec.view.encapKind[0]).toBe(EncapKind.Gre);
    expect(words(d.dec.view.src)).toEqual(v4words('172.17.1.54'));
  });
});

describe('ERSPAN', () => {
  const mirrored = bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00], ip4hdr(28, 17, [10, 1, 1, 1], [10, 1, 1, 2]), udphdr(4000, 53, 8));

  it('type I (0x88BE without a sequence number): the mirrored Ethernet frame follows GRE', () => {
    const d = decode(overGre(bytes([0x00, 0x00, 0x88, 0xbe], mirrored)), LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expect([v.encapDepth, v.encapKind[0], v.encapVni[0]]).toEqual([1, EncapKind.Erspan, -1]);
    expect(words(v.src)).toEqual(v4words('10.1.1.1'));
    expect([v.proto, v.sport, v.dport]).toEqual([17, 4000, 53]);
  });

  it('type II: the 8-byte header gives the session id', () => {
    const header = [0x10, 0x00, 0x02, 0x9a, 0x00, 0x00, 0x7f, 0xf8]; // version 1, session 666, index 32760
    const d = decode(overGre(bytes([0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 171], header, mirrored)), LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expect([v.encapKind[0], v.encapVni[0]]).toEqual([EncapKind.Erspan, 666]);
    expect(words(v.dst)).toEqual(v4words('10.1.1.2'));
  });

  it('type III: 12 bytes, 8 more with the O flag; frame type 2 is an IP packet, others are undecoded', () => {
    const header = (frameType: number, optional: boolean) => [0x20, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0x00, 0x00, (frameType << 2) & 0x7c, optional ? 1 : 0];
    const ethernet = decode(overGre(bytes([0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1], header(0, true), [1, 2, 3, 4, 5, 6, 7, 8], mirrored)), LINKTYPE_ETHERNET);
    expect(ethernet.status).toBe(DecodeStatus.Ok);
    expect([ethernet.dec.view.encapKind[0], ethernet.dec.view.encapVni[0]]).toEqual([EncapKind.Erspan, 5]);
    expect(words(ethernet.dec.view.src)).toEqual(v4words('10.1.1.1'));
    const ip = decode(overGre(bytes([0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1], header(2, false), mirrored.subarray(14))), LINKTYPE_ETHERNET);
    expect(ip.status).toBe(DecodeStatus.Ok);
    expect(words(ip.dec.view.src)).toEqual(v4words('10.1.1.1'));
    const other = decode(overGre(bytes([0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1], header(7, false), mirrored)), LINKTYPE_ETHERNET);
    expect(other.status).toBe(DecodeStatus.UndecodedTunnel);
    expectEvents(other, 'decoder.erspan.unsupported');
    expect(undecodedTunnelName(other.dec.view.undecodedTunnel, other.dec.view.undecodedValue)).toBe('erspan-frame-type-7');
  });

  it('a mirrored frame that is not IP names its EtherType; a cut header is truncated', () => {
    const arp = bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x06], new Array(28).fill(0));
    const d = decode(overGre(bytes([0x00, 0x00, 0x88, 0xbe], arp)), LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.NotIp);
    expect(d.dec.view.encapDepth).toBe(1);
    expect(undecodedTunnelName(d.dec.view.undecodedTunnel, d.dec.view.undecodedValue)).toBe('not-ip-0x0806');
    const cut = decode(overGre([0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0x00]), LINKTYPE_ETHERNET);
    expect(cut.status).toBe(DecodeStatus.Truncated);
    expectEvents(cut, 'decoder.erspan.truncated');
  });
});

describe('VXLAN', () => {
  /** Outer Ethernet + IPv4 (192.168.203.1 -> 192.168.202.1) + UDP to `port`, then `vx`. */
  function overUdp(port: number, vx: Uint8Array | number[]): Uint8Array {
    return bytes(ETH_IPV4, ip4hdr(20 + 8 + vx.length, 17, [192, 168, 203, 1], [192, 168, 202, 1]), udphdr(45149, port, 8 + vx.length), vx);
  }
  const innerFrame = bytes(
    [
      0x00, 0x16, 0x3e, 0x37, 0xf6, 0x04, // inner destination MAC
      0x00, 0x30, 0x88, 0x01, 0xf1, 0x3a, // inner source MAC
      0x08, 0x00, //                         inner EtherType IPv4
    ],
    ip4hdr(40, 6, [192, 168, 203, 3], [192, 168, 203, 5]),
    tcphdr(33000, 8080, 0x02),
  );

  for (const port of [4789, 8472]) {
    it(`on UDP ${port}: VNI and inner Ethernet/IPv4/TCP`, () => {
      const pkt = overUdp(port, bytes([
        0x08, //             flags: I (VNI valid)
        0x00, 0x00, 0x00, // reserved
        0x00, 0x00, 0x64, // VNI 100
        0x00, //             reserved
      ], innerFrame));
      const d = decode(pkt, LINKTYPE_ETHERNET);
      const v = d.dec.view;
      expect(d.status).toBe(DecodeStatus.Ok);
      expectEvents(d);
      expect(v.encapDepth).toBe(1);
      expect(v.encapKind[0]).toBe(EncapKind.Vxlan);
      expect(v.encapVni[0]).toBe(100);
      expect(words(v.encapOuterSrc, 0)).toEqual(v4words('192.168.203.1'));
      expect(words(v.encapOuterDst, 0)).toEqual(v4words('192.168.202.1'));
      expect(v.macDstOffset).toBe(0);
      expect(v.ipOffset).toBe(14 + 20 + 8 + 8 + 14);
      expect(words(v.src)).toEqual(v4words('192.168.203.3'));
      expect(v.sport).toBe(33000);
      expect(v.dport).toBe(8080);
      expect(v.udpLength).toBe(0);
      expect(v.tcpFlags).toBe(0x02);
    });
  }

  it('a 24-bit VNI uses all three bytes', () => {
    const pkt = overUdp(4789, bytes([0x08, 0x00, 0x00, 0x00, 0xff, 0xff, 0xfe, 0x00], innerFrame)); // VNI 0xfffffe
    expect(decode(pkt, LINKTYPE_ETHERNET).dec.view.encapVni[0]).toBe(0xfffffe);
  });

  it('without the I flag the datagram stays plain UDP (decoder.vxlan.no_vni_flag)', () => {
    const pkt = overUdp(4789, bytes([
      0x00, 0x00, 0x00, 0x00, // flags: none
      0x00, 0x00, 0x64, 0x00, // VNI field 100 (not valid without I)
    ], innerFrame));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expectEvents(d, 'decoder.vxlan.no_vni_flag');
    expect(v.encapDepth).toBe(0);
    expect(v.proto).toBe(17);
    expect(v.dport).toBe(4789);
    expect(v.l4Valid).toBe(1);
    expect(words(v.src)).toEqual(v4words('192.168.203.1'));
    expect(v.payloadOffset).toBe(14 + 20 + 8);
    expect(v.payloadEnd).toBe(pkt.length);
  });

  it('inner ARP: NotIp, with the encapsulation layer recorded', () => {
    const pkt = overUdp(4789, bytes([0x08, 0, 0, 0, 0, 0, 0x64, 0], eth(0x08, 0x06), new Array<number>(28).fill(0)));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.NotIp);
    expect(d.dec.view.encapDepth).toBe(1);
    expect(d.dec.view.encapVni[0]).toBe(100);
    expect(d.dec.view.ipVersion).toBe(0);
  });

  it('other UDP ports are not VXLAN', () => {
    const pkt = overUdp(4790, bytes([0x08, 0, 0, 0, 0, 0, 0x64, 0], innerFrame));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(d.dec.view.encapDepth).toBe(0);
  });
});

describe('Geneve', () => {
  function overGeneve(gv: Uint8Array | number[]): Uint8Array {
    return bytes(ETH_IPV4, ip4hdr(20 + 8 + gv.length, 17, [20, 0, 0, 1], [20, 0, 0, 2]), udphdr(12618, 6081, 8 + gv.length), gv);
  }

  it('with an option, protocol TEB -> inner Ethernet/IPv4/ICMP', () => {
    const pkt = overGeneve(bytes(
      [
        0x02, //                   version 0, option length 2 (8 bytes)
        0x40, //                   O=0, C=1 (critical option present)
        0x65, 0x58, //             protocol type TEB
        0x00, 0x00, 0x0a, //       VNI 10
        0x00, //                   reserved
        0x01, 0x02, //             option class 0x0102 (OVN)
        0x80, //                   option type 0x80 (critical)
        0x01, //                   option length 1 (4 bytes of data)
        0x00, 0x01, 0x00, 0x02, // option data
      ],
      eth(0x08, 0x00),
      ip4hdr(28, 1, [30, 0, 0, 1], [30, 0, 0, 2]),
      echohdr(8, 10578, 23),
    ));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expectEvents(d);
    expect(v.encapDepth).toBe(1);
    expect(v.encapKind[0]).toBe(EncapKind.Geneve);
    expect(v.encapVni[0]).toBe(10);
    expect(words(v.encapOuterDst, 0)).toEqual(v4words('20.0.0.2'));
    expect(v.ipOffset).toBe(14 + 20 + 8 + 16 + 14);
    expect(words(v.src)).toEqual(v4words('30.0.0.1'));
    expect(v.icmpType).toBe(8);
    expect(v.icmpId).toBe(10578);
    expect(v.icmpSeq).toBe(23);
  });

  it('with options, protocol IPv4 -> inner IPv4 directly (no inner Ethernet)', () => {
    const pkt = overGeneve(bytes(
      [
        0x03, //                   version 0, option length 3 (12 bytes)
        0x00, //                   no flags
        0x08, 0x00, //             protocol type IPv4
        0x12, 0x34, 0x56, //       VNI 0x123456
        0x00, //                   reserved
        0x01, 0x32, 0x01, 0x02, // option class 0x0132, type 1, length 2 (8 bytes)
        0x00, 0x00, 0x00, 0x00, // option data
        0x00, 0x00, 0x00, 0x00, // option data
      ],
      ip4hdr(40, 6, [192, 168, 100, 2], [192, 168, 100, 1]),
      tcphdr(2905, 8080, 0x00),
    ));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(v.encapVni[0]).toBe(0x123456);
    expect(v.ipOffset).toBe(14 + 20 + 8 + 20);
    expect(words(v.dst)).toEqual(v4words('192.168.100.1'));
    expect(v.dport).toBe(8080);
  });

  it('a version other than 0 is not decoded (decoder.geneve.bad_version)', () => {
    const pkt = overGeneve([0x40, 0x00, 0x65, 0x58, 0x00, 0x00, 0x0a, 0x00]); // version 1
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Ok);
    expectEvents(d, 'decoder.geneve.bad_version');
    expect(d.dec.view.encapDepth).toBe(0);
    expect(d.dec.view.dport).toBe(6081);
  });

  it('an unsupported protocol type is counted (decoder.geneve.unsupported_protocol)', () => {
    const pkt = overGeneve([0x00, 0x00, 0x88, 0x47, 0x00, 0x00, 0x0a, 0x00]); // MPLS
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expectEvents(d, 'decoder.geneve.unsupported_protocol');
    expect(d.dec.view.encapDepth).toBe(0);
  });
});

describe('ICMP and ICMPv6', () => {
  it('ICMP echo request: id and sequence', () => {
    const pkt = bytes(ETH_IPV4, ip4hdr(28 + 4, 1), [
      0x08, //       type 8 (echo request)
      0x00, //       code 0
      0xf7, 0xff, // checksum
      0x04, 0x0c, // identifier 1036
      0x00, 0x01, // sequence number 1
    ], [0x61, 0x62, 0x63, 0x64]);
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(v.proto).toBe(1);
    expect(v.icmpType).toBe(8);
    expect(v.icmpCode).toBe(0);
    expect(v.icmpId).toBe(1036);
    expect(v.icmpSeq).toBe(1);
    expect(v.l4Valid).toBe(1);
    expect(v.l4Offset).toBe(34);
    expect(v.payloadOffset).toBe(42);
    expect(v.payloadEnd).toBe(46);
    expect(v.sport).toBe(0);
    expect(v.quotedValid).toBe(0);
  });

  it('ICMP destination unreachable quoting IPv4/UDP fills the quoted fields', () => {
    const pkt = bytes(
      ETH_IPV4,
      ip4hdr(20 + 8 + 28, 1, [10, 0, 0, 2], [10, 0, 0, 1]), // the router / host answering
      [
        0x03, //                   type 3 (destination unreachable)
        0x03, //                   code 3 (port unreachable)
        0x00, 0x00, //             checksum
        0x00, 0x00, 0x00, 0x00, // unused
      ],
      [
        0x45, 0x00, 0x00, 0x30, // quoted: version/IHL, DSCP, total length 48
        0xbe, 0xef, 0x00, 0x00, // quoted: identification 0xbeef
        0x40, 0x11, 0x00, 0x00, // quoted: TTL 64, protocol UDP
        0x0a, 0x00, 0x00, 0x01, // quoted source 10.0.0.1
        0x0a, 0x00, 0x00, 0x02, // quoted destination 10.0.0.2
        0x14, 0xe9, 0x04, 0x03, // quoted UDP: source port 5353, destination port 1027
        0x00, 0x1c, 0x00, 0x00, // quoted UDP: length 28, checksum
      ],
    );
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expectEvents(d);
    expect(v.icmpType).toBe(3);
    expect(v.icmpCode).toBe(3);
    expect(v.icmpId).toBe(-1);
    expect(v.icmpSeq).toBe(-1);
    expect(words(v.src)).toEqual(v4words('10.0.0.2'));
    expect(v.quotedValid).toBe(1);
    expect(v.quotedVersion).toBe(4);
    expect(words(v.quotedSrc)).toEqual(v4words('10.0.0.1'));
    expect(words(v.quotedDst)).toEqual(v4words('10.0.0.2'));
    expect(v.quotedProto).toBe(17);
    expect(v.quotedSport).toBe(5353);
    expect(v.quotedDport).toBe(1027);
    expect(v.quotedIpId).toBe(0xbeef);
  });

  it('ICMP time exceeded quoting an ICMP echo uses its id/sequence in place of ports', () => {
    const pkt = bytes(ETH_IPV4, ip4hdr(20 + 8 + 28, 1), [
      0x0b, 0x00, 0x00, 0x00, // type 11 (time exceeded), code 0, checksum
      0x00, 0x00, 0x00, 0x00, // unused
    ], ip4hdr(84, 1, [10, 0, 0, 9], [8, 8, 8, 8], 0x0101, 1), echohdr(8, 0x3344, 0x0005));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.dec.view.quotedProto).toBe(1);
    expect(d.dec.view.quotedSport).toBe(0x3344);
    expect(d.dec.view.quotedDport).toBe(5);
    expect(words(d.dec.view.quotedDst)).toEqual(v4words('8.8.8.8'));
  });

  it('ICMP error quoting less than an IP header counts decoder.icmp.quoted_truncated', () => {
    const pkt = bytes(ETH_IPV4, ip4hdr(20 + 8 + 10, 1), [0x03, 0x01, 0, 0, 0, 0, 0, 0], [0x45, 0, 0, 0x30, 0, 0, 0, 0, 0x40, 0x11]);
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Ok);
    expectEvents(d, 'decoder.icmp.quoted_truncated');
    expect(d.dec.view.quotedValid).toBe(0);
    expect(d.dec.view.icmpType).toBe(3);
  });

  it('ICMPv6 echo request: id and sequence', () => {
    const pkt = bytes(ETH_IPV6, ip6hdr(8 + 4, 58, 'fe80::1', 'fe80::2', 255), [
      0x80, //       type 128 (echo request)
      0x00, //       code 0
      0x00, 0x00, // checksum
      0x18, 0xdc, // identifier 6364
      0x00, 0x02, // sequence number 2
    ], [1, 2, 3, 4]);
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expect(v.proto).toBe(58);
    expect(v.ttl).toBe(255);
    expect(v.icmpType).toBe(128);
    expect(v.icmpId).toBe(6364);
    expect(v.icmpSeq).toBe(2);
    expect(v.payloadOffset).toBe(14 + 40 + 8);
  });

  it('ICMPv6 packet too big quoting IPv6 + destination options + UDP', () => {
    const quoted = bytes(
      ip6hdr(8 + 8 + 1232, 60, 'fe80::dead', 'fe80::beef'), // quoted IPv6, next header Destination Options
      [
        0x11, //                                  DestOpts: next header UDP
        0x00, //                                  DestOpts: length 0 (8 bytes)
        0x01, 0x04, 0x00, 0x00, 0x00, 0x00, //    option PadN
      ],
      udphdr(40000, 443, 1240), //                quoted UDP
      new Array<number>(16).fill(0x55), //        some of the quoted payload
    );
    const pkt = bytes(ETH_IPV6, ip6hdr(8 + quoted.length, 58, 'fe80::beef', 'fe80::dead'), [
      0x02, //                   type 2 (packet too big)
      0x00, //                   code 0
      0x00, 0x00, //             checksum
      0x00, 0x00, 0x05, 0x00, // MTU 1280
    ], quoted);
    const d = decode(pkt, LINKTYPE_ETHERNET);
    const v = d.dec.view;
    expect(d.status).toBe(DecodeStatus.Ok);
    expectEvents(d);
    expect(v.icmpType).toBe(2);
    expect(v.icmpCode).toBe(0);
    expect(v.icmpId).toBe(-1);
    expect(v.quotedValid).toBe(1);
    expect(v.quotedVersion).toBe(6);
    expect(words(v.quotedSrc)).toEqual(v6words('fe80::dead'));
    expect(words(v.quotedDst)).toEqual(v6words('fe80::beef'));
    expect(v.quotedProto).toBe(17);
    expect(v.quotedSport).toBe(40000);
    expect(v.quotedDport).toBe(443);
  });

  it('ICMPv6 error quoting a cut-short IPv6 header counts decoder.icmpv6.quoted_truncated', () => {
    const pkt = bytes(ETH_IPV6, ip6hdr(8 + 20, 58), [0x01, 0x04, 0, 0, 0, 0, 0, 0], ip6hdr(0, 17).slice(0, 20));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Ok);
    expectEvents(d, 'decoder.icmpv6.quoted_truncated');
    expect(d.dec.view.quotedValid).toBe(0);
  });
});

describe('truncated packets: status Truncated, the layer\'s event, fields captured so far kept', () => {
  const tcpPkt = bytes(ETH_IPV4, ip4hdr(20 + 20 + 100, 6), [
    0x1f, 0x90, //             source port 8080
    0xd4, 0x31, //             destination port 54321
    0x00, 0x00, 0x10, 0x00, // sequence number 4096
    0x00, 0x00, 0x20, 0x00, // acknowledgment number 8192
    0x50, 0x11, //             data offset 5, flags FIN|ACK
    0x01, 0x00, 0x00, 0x00, // window, checksum
    0x00, 0x00, //             urgent pointer
  ], new Array<number>(100).fill(0x2e));

  interface Case {
    name: string;
    pkt: Uint8Array;
    linkType: number;
    /** Snap length; absent when the packet is whole and its own length fields cut it short. */
    caplen?: number;
    event: DecodeEventName;
    check?: (d: Decoded) => void;
  }
  const cases: Case[] = [
    {
      name: 'Ethernet header (13 of 14 bytes)',
      pkt: tcpPkt, linkType: LINKTYPE_ETHERNET, caplen: 13, event: 'decoder.ethernet.truncated',
      check: (d) => expect(d.dec.view.ipVersion).toBe(0),
    },
    {
      name: '802.1Q tag (2 of 4 bytes)',
      pkt: bytes(eth(0x81, 0x00), [0x00, 0x64, 0x08, 0x00], ip4hdr(20, 59)), linkType: LINKTYPE_ETHERNET, caplen: 16, event: 'decoder.vlan.truncated',
    },
    {
      name: 'SLL header (15 of 16 bytes)',
      pkt: bytes([0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00], ip4hdr(20, 59)), linkType: LINKTYPE_LINUX_SLL, caplen: 15, event: 'decoder.sll.truncated',
    },
    {
      name: 'SLL2 header (19 of 20 bytes)',
      pkt: bytes([0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0], ip4hdr(20, 59)), linkType: LINKTYPE_LINUX_SLL2, caplen: 19, event: 'decoder.sll2.truncated',
    },
    {
      name: 'NULL family (3 of 4 bytes)',
      pkt: bytes([2, 0, 0, 0], ip4hdr(20, 59)), linkType: LINKTYPE_NULL, caplen: 3, event: 'decoder.null.truncated',
    },
    {
      name: 'IPv4 header (19 of 20 bytes)',
      pkt: tcpPkt, linkType: LINKTYPE_ETHERNET, caplen: 14 + 19, event: 'decoder.ipv4.truncated',
      check: (d) => {
        expect(d.dec.view.ipVersion).toBe(0);
        expect(d.dec.view.macSrcOffset).toBe(6);
      },
    },
    {
      name: 'IPv4 options (IHL 6, 22 bytes captured)',
      pkt: bytes(ETH_IPV4, [0x46, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x94, 0x04, 0, 0], udphdr(1, 2, 8)),
      linkType: LINKTYPE_ETHERNET, caplen: 14 + 22, event: 'decoder.ipv4.truncated',
    },
    {
      name: 'IPv4 payload cut by the snap length (headers complete)',
      pkt: tcpPkt, linkType: LINKTYPE_ETHERNET, caplen: 14 + 20 + 20 + 10, event: 'decoder.ipv4.truncated',
      check: (d) => {
        const v = d.dec.view;
        expect(v.ipVersion).toBe(4);
        expect(v.ipLength).toBe(140);
        expect(v.l4Valid).toBe(1);
        expect(v.sport).toBe(8080);
        expect(v.payloadEnd).toBe(64);
      },
    },
    {
      name: 'TCP header (14 of 20 bytes): ports, seq, ack, flags kept',
      pkt: tcpPkt, linkType: LINKTYPE_ETHERNET, caplen: 14 + 20 + 14, event: 'decoder.tcp.truncated',
      check: (d) => {
        const v = d.dec.view;
        expect(v.ipVersion).toBe(4);
        expect(v.proto).toBe(6);
        expect(v.l4Valid).toBe(0);
        expect(v.l4Offset).toBe(34);
        expect(v.sport).toBe(8080);
        expect(v.dport).toBe(54321);
        expect(v.tcpSeq).toBe(4096);
        expect(v.tcpAck).toBe(8192);
        expect(v.tcpFlags).toBe(0x11);
        expect(v.payloadOffset).toBe(-1);
      },
    },
    {
      name: 'TCP header (6 of 20 bytes): only the ports',
      pkt: tcpPkt, linkType: LINKTYPE_ETHERNET, caplen: 14 + 20 + 6, event: 'decoder.tcp.truncated',
      check: (d) => {
        expect(d.dec.view.sport).toBe(8080);
        expect(d.dec.view.dport).toBe(54321);
        expect(d.dec.view.tcpSeq).toBe(0);
      },
    },
    {
      name: 'TCP options (data offset 8, 24 of 32 bytes)',
      pkt: bytes(ETH_IPV4, ip4hdr(52, 6), [0, 80, 0, 81, 0, 0, 0, 9, 0, 0, 0, 0, 0x80, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 5, 0xb4, 1, 1, 1, 1, 1, 1, 1, 0]),
      linkType: LINKTYPE_ETHERNET, caplen: 14 + 20 + 24, event: 'decoder.tcp.truncated',
      check: (d) => {
        expect(d.dec.view.tcpFlags).toBe(0x02);
        expect(d.dec.view.tcpSeq).toBe(9);
        expect(d.dec.view.l4Valid).toBe(0);
      },
    },
    {
      name: 'UDP header (6 of 8 bytes): ports kept',
      pkt: bytes(ETH_IPV4, ip4hdr(36, 17), udphdr(5060, 5061, 16), new Array<number>(8).fill(0)),
      linkType: LINKTYPE_ETHERNET, caplen: 14 + 20 + 6, event: 'decoder.udp.truncated',
      check: (d) => {
        expect(d.dec.view.sport).toBe(5060);
        expect(d.dec.view.dport).toBe(5061);
        expect(d.dec.view.l4Valid).toBe(0);
      },
    },
    {
      name: 'ICMP header (4 of 8 bytes): type and code kept',
      pkt: bytes(ETH_IPV4, ip4hdr(28, 1), echohdr(0, 1, 2)), linkType: LINKTYPE_ETHERNET, caplen: 14 + 20 + 4, event: 'decoder.icmp.truncated',
      check: (d) => {
        expect(d.dec.view.icmpType).toBe(0);
        expect(d.dec.view.icmpCode).toBe(0);
        expect(d.dec.view.icmpId).toBe(-1);
      },
    },
    {
      name: 'ICMPv6 header (3 of 8 bytes)',
      pkt: bytes(ETH_IPV6, ip6hdr(8, 58), echohdr(129, 1, 2)), linkType: LINKTYPE_ETHERNET, caplen: 14 + 40 + 3, event: 'decoder.icmpv6.truncated',
      check: (d) => expect(d.dec.view.icmpType).toBe(129),
    },
    {
      name: 'IPv6 header (39 of 40 bytes)',
      pkt: bytes(ETH_IPV6, ip6hdr(8, 17), udphdr(1, 2, 8)), linkType: LINKTYPE_ETHERNET, caplen: 14 + 39, event: 'decoder.ipv6.truncated',
      check: (d) => expect(d.dec.view.ipVersion).toBe(0),
    },
    {
      name: 'IPv6 extension header (HBH with 4 of 8 bytes)',
      pkt: bytes(ETH_IPV6, ip6hdr(16, 0, 'fe80::1', 'ff02::16'), [58, 0, 5, 2, 0, 0, 1, 0], echohdr(128, 1, 1)),
      linkType: LINKTYPE_ETHERNET, caplen: 14 + 40 + 4, event: 'decoder.ipv6.ext_truncated',
      check: (d) => {
        expect(d.dec.view.ipVersion).toBe(6);
        expect(words(d.dec.view.dst)).toEqual(v6words('ff02::16'));
        expect(d.dec.view.proto).toBe(0);
      },
    },
    {
      name: 'IPv6 extension header longer than the IPv6 payload length (a bad length, nothing cut)',
      pkt: bytes(ETH_IPV6, ip6hdr(8, 43), [17, 6, 0, 0, 0, 0, 0, 0]), // Routing header claiming 56 bytes
      linkType: LINKTYPE_ETHERNET, event: 'decoder.ipv6.ext_truncated',
      check: (d) => expect(d.dec.view.proto).toBe(43),
    },
    {
      name: 'GRE header (2 of 4 bytes)',
      pkt: bytes(ETH_IPV4, ip4hdr(48, 47), [0, 0, 8, 0], ip4hdr(24, 59), [0, 0, 0, 0]), linkType: LINKTYPE_ETHERNET, caplen: 14 + 20 + 2, event: 'decoder.gre.truncated',
      check: (d) => {
        expect(d.dec.view.ipVersion).toBe(4);
        expect(d.dec.view.proto).toBe(47);
        expect(d.dec.view.encapDepth).toBe(0);
      },
    },
    {
      name: 'GRE key announced but beyond the IPv4 total length (a bad length, nothing cut)',
      pkt: bytes(ETH_IPV4, ip4hdr(20 + 6, 47), [0x20, 0x00, 0x08, 0x00, 0x00, 0x00]), linkType: LINKTYPE_ETHERNET, event: 'decoder.gre.truncated',
    },
    {
      name: 'VXLAN header (4 of 8 bytes)',
      pkt: bytes(ETH_IPV4, ip4hdr(20 + 8 + 8, 17), udphdr(1, 4789, 16), [0x08, 0, 0, 0, 0, 0, 1, 0]),
      linkType: LINKTYPE_ETHERNET, caplen: 14 + 20 + 8 + 4, event: 'decoder.vxlan.truncated',
      check: (d) => {
        expect(d.dec.view.encapDepth).toBe(0);
        expect(d.dec.view.dport).toBe(4789);
      },
    },
    {
      name: 'Geneve options (8 announced, 4 captured)',
      pkt: bytes(ETH_IPV4, ip4hdr(20 + 8 + 16, 17), udphdr(1, 6081, 24), [0x02, 0, 0x65, 0x58, 0, 0, 1, 0, 1, 2, 0x80, 1, 0, 0, 0, 0]),
      linkType: LINKTYPE_ETHERNET, caplen: 14 + 20 + 8 + 12, event: 'decoder.geneve.truncated',
      check: (d) => expect(d.dec.view.encapDepth).toBe(0),
    },
    {
      name: 'inner Ethernet after VXLAN (10 of 14 bytes): the encap layer stays',
      pkt: bytes(ETH_IPV4, ip4hdr(20 + 8 + 8 + 14, 17, [1, 1, 1, 1], [2, 2, 2, 2]), udphdr(1, 4789, 30), [0x08, 0, 0, 0, 0, 0, 7, 0], eth(0x08, 0x00)),
      linkType: LINKTYPE_ETHERNET, caplen: 14 + 20 + 8 + 8 + 10, event: 'decoder.ethernet.truncated',
      check: (d) => {
        expect(d.dec.view.encapDepth).toBe(1);
        expect(d.dec.view.encapVni[0]).toBe(7);
        expect(words(d.dec.view.encapOuterSrc, 0)).toEqual(v4words('1.1.1.1'));
        expect(d.dec.view.ipVersion).toBe(0);
      },
    },
    {
      name: 'inner IPv4 after IPIP (10 of 20 bytes)',
      pkt: bytes(ETH_IPV4, ip4hdr(48, 4), ip4hdr(28, 17, [9, 9, 9, 9], [8, 8, 8, 8]), udphdr(1, 2, 8)),
      linkType: LINKTYPE_ETHERNET, caplen: 14 + 20 + 10, event: 'decoder.ipv4.truncated',
      check: (d) => {
        expect(d.dec.view.encapDepth).toBe(1);
        expect(d.dec.view.ipVersion).toBe(0);
      },
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      if (c.caplen !== undefined) expect(c.caplen).toBeLessThan(c.pkt.length);
      const d = decode(c.pkt, c.linkType, c.caplen);
      expect(d.status).toBe(DecodeStatus.Truncated);
      expect(d.dec.view.truncated).toBe(1);
      expect(d.dec.view.malformed).toBe(0);
      expect(d.events[c.event]).toBeGreaterThanOrEqual(1);
      c.check?.(d);
      if (c.caplen !== undefined) {
        // The whole packet decodes without that event.
        const whole = decode(c.pkt, c.linkType);
        expect(whole.events[c.event] ?? 0).toBe(0);
      }
    });
  }

  it('zero bytes on every link type is Truncated, never Ok', () => {
    for (const lt of [LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LOOP, LINKTYPE_LINUX_SLL, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL2]) {
      expect(decode(new Uint8Array(0), lt).status).toBe(DecodeStatus.Truncated);
    }
  });
});

describe('malformed packets: status Malformed and the event', () => {
  it('IPv4 with version 5 behind EtherType IPv4 (decoder.ipv4.bad_version)', () => {
    const pkt = bytes(ETH_IPV4, [0x55, ...ip4hdr(28, 17).slice(1)], udphdr(1, 2, 8));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Malformed);
    expectEvents(d, 'decoder.ipv4.bad_version');
    expect(d.dec.view.ipVersion).toBe(0);
    expect(d.dec.view.malformed).toBe(1);
  });

  it('IPv4 IHL below 5 (decoder.ipv4.bad_header_length)', () => {
    const pkt = bytes(ETH_IPV4, [0x44, ...ip4hdr(28, 17).slice(1)], udphdr(1, 2, 8)); // IHL 4 = 16 bytes
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Malformed);
    expectEvents(d, 'decoder.ipv4.bad_header_length');
  });

  it('IPv4 total length below the header length (decoder.ipv4.bad_total_length)', () => {
    const pkt = bytes(ETH_IPV4, ip4hdr(16, 17), udphdr(1, 2, 8)); // total length 16 < 20
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Malformed);
    expectEvents(d, 'decoder.ipv4.bad_total_length');
  });

  it('IPv4 IHL 15 with total length 20 in a 34-byte frame is malformed, not truncated', () => {
    // zeek's ipv4-truncated-broken-header.pcap: the frame is all there (caplen = wire length);
    // the header contradicts itself.
    const pkt = bytes(ETH_IPV4, [
      0x4f, 0x00, //             version 4, IHL 15 (60 bytes)
      0x00, 0x14, //             total length 20
      0x6d, 0xec, 0x00, 0x00, // identification, flags/offset
      0x40, 0x06, 0xbc, 0x7e, // TTL 64, protocol TCP, checksum
      0xa3, 0xfd, 0x30, 0xb7, // source 163.253.48.183
      0xc0, 0x96, 0xbb, 0x2b, // destination 192.150.187.43
    ]);
    expect(pkt.length).toBe(34);
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Malformed);
    expectEvents(d, 'decoder.ipv4.bad_total_length');
  });

  it('IPv6 with version 0 behind EtherType IPv6 (decoder.ipv6.bad_version)', () => {
    const pkt = bytes(ETH_IPV6, [0x00, ...ip6hdr(8, 17).slice(1)], udphdr(1, 2, 8));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Malformed);
    expectEvents(d, 'decoder.ipv6.bad_version');
  });

  it('TCP data offset below 5 (decoder.tcp.bad_header_length): addresses and ports kept', () => {
    const pkt = bytes(ETH_IPV4, ip4hdr(40, 6), [0, 80, 0, 81, 0, 0, 0, 1, 0, 0, 0, 0, 0x40, 0x10, 0, 0, 0, 0, 0, 0]); // data offset 4
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Malformed);
    expectEvents(d, 'decoder.tcp.bad_header_length');
    expect(d.dec.view.ipVersion).toBe(4);
    expect(d.dec.view.sport).toBe(80);
    expect(d.dec.view.l4Valid).toBe(0);
  });

  it('UDP length below 8 (decoder.udp.bad_length)', () => {
    const pkt = bytes(ETH_IPV4, ip4hdr(28, 17), [0x00, 0x35, 0x00, 0x35, 0x00, 0x04, 0x00, 0x00]); // UDP length 4
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Malformed);
    expectEvents(d, 'decoder.udp.bad_length');
    expect(d.dec.view.payloadOffset).toBe(d.dec.view.payloadEnd);
  });

  it('a malformed inner packet makes the whole packet Malformed', () => {
    const pkt = bytes(ETH_IPV4, ip4hdr(40, 4), [0x55, ...ip4hdr(20, 59).slice(1)]); // IPIP, inner version 5
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.Malformed);
    expectEvents(d, 'decoder.ipv4.bad_version');
    expect(d.dec.view.encapDepth).toBe(1);
  });
});

describe('non-IP frames', () => {
  it('ARP is NotIp (no anomaly counted)', () => {
    const pkt = bytes(
      [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // destination MAC broadcast
        0x00, 0x80, 0xea, 0x81, 0x88, 0x63, // source MAC
        0x08, 0x06, //                         EtherType ARP
      ],
      [
        0x00, 0x01, //                         hardware type Ethernet
        0x08, 0x00, //                         protocol type IPv4
        0x06, 0x04, //                         hardware size 6, protocol size 4
        0x00, 0x01, //                         opcode request
        0x00, 0x80, 0xea, 0x81, 0x88, 0x63, // sender MAC
        0xac, 0x15, 0x4f, 0x61, //             sender IP 172.21.79.97
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC
        0xac, 0x15, 0x4f, 0x64, //             target IP 172.21.79.100
      ],
    );
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.NotIp);
    expectEvents(d);
    expect(d.dec.view.ipVersion).toBe(0);
    expect(d.dec.view.macDstGroup).toBe(1);
    expect(d.dec.view.macSrcOffset).toBe(6);
  });

  it('ARP behind QinQ is NotIp with the tags recorded', () => {
    const pkt = bytes(eth(0x88, 0xa8), [0x00, 0xc8, 0x81, 0x00, 0x07, 0xd1, 0x08, 0x06], new Array<number>(28).fill(0));
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.NotIp);
    expect(d.dec.view.vlanDepth).toBe(2);
    expect(d.dec.view.vlanId).toBe(200);
  });

  it('an 802.3 length field (LLC/STP) is NotIp and counted as decoder.ethernet.not_ip', () => {
    const pkt = bytes(
      [
        0x01, 0x80, 0xc2, 0x00, 0x00, 0x00, // destination: STP multicast
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source MAC
        0x00, 0x26, //                         802.3 length 38
      ],
      [0x42, 0x42, 0x03], //                  LLC DSAP/SSAP 0x42 (STP), control UI
      new Array<number>(35).fill(0),
    );
    const d = decode(pkt, LINKTYPE_ETHERNET);
    expect(d.status).toBe(DecodeStatus.NotIp);
    expectEvents(d, 'decoder.ethernet.not_ip');
  });
});

describe('decode events', () => {
  it('DecodeEvent.Count matches DECODE_EVENT_NAMES', () => {
    expect(DecodeEvent.Count).toBe(DECODE_EVENT_NAMES.length);
    expect(new EngineDecoder().events.counts.length).toBe(DECODE_EVENT_NAMES.length);
    // The engine counts the same events (the binding reads them by name, so it also says which one is missing).
    expect(engine().decodeEventNames()).toEqual([...DECODE_EVENT_NAMES]);
  });

  it('names are unique and follow decoder.<proto>.<event>', () => {
    expect(new Set(DECODE_EVENT_NAMES).size).toBe(DECODE_EVENT_NAMES.length);
    for (const name of DECODE_EVENT_NAMES) expect(name).toMatch(/^decoder\.[a-z][a-z0-9]*\.[a-z][a-z0-9_]*$/);
  });

  it('ids line up with names (spot checks across the enum)', () => {
    expect(DECODE_EVENT_NAMES[DecodeEvent.LinkUnsupported]).toBe('decoder.link.unsupported');
    expect(DECODE_EVENT_NAMES[DecodeEvent.Ipv4Truncated]).toBe('decoder.ipv4.truncated');
    expect(DECODE_EVENT_NAMES[DecodeEvent.Ipv6BadJumbo]).toBe('decoder.ipv6.bad_jumbo');
    expect(DECODE_EVENT_NAMES[DecodeEvent.GreUnsupportedVersion]).toBe('decoder.gre.unsupported_version');
    expect(DECODE_EVENT_NAMES[DecodeEvent.TunnelTooDeep]).toBe('decoder.tunnel.too_deep');
    expect(DECODE_EVENT_NAMES[DecodeEvent.Icmpv6QuotedTruncated]).toBe('decoder.icmpv6.quoted_truncated');
  });

  it('counters accumulate across packets, get() reads by name, addFrom() sums', () => {
    const dec = new EngineDecoder();
    const frag = bytes(ETH_IPV4, [0x45, 0, 0, 28, 0, 1, 0x00, 0x10, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], [0, 0, 0, 0, 0, 0, 0, 0]); // offset 128
    for (let i = 0; i < 3; i++) dec.decode(frag, 0, frag.length, LINKTYPE_ETHERNET);
    expect(dec.events.get('decoder.ipv4.fragment')).toBe(3);
    expect(dec.events.toRecord()).toEqual({ 'decoder.ipv4.fragment': 3 });
    const other = new EngineDecoder();
    other.decode(frag, 0, frag.length, LINKTYPE_ETHERNET);
    dec.events.addFrom(other.events);
    expect(dec.events.get('decoder.ipv4.fragment')).toBe(4);
  });

  it('v4() helper sanity (10.0.0.1)', () => {
    expect(v4('10.0.0.1')).toBe(0x0a000001);
  });
});
