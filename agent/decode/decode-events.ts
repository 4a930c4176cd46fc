/**
 * Named decode events (Suricata's `decoder.ipv4.trunc_pkt` idea): every anomaly the decoders meet is
 * counted under a stable name that metrics, logs, reports and tests share. Counting is an array
 * increment, so the hot path neither throws nor allocates.
 */

export const DECODE_EVENT_NAMES = [
  'decoder.link.unsupported',
  'decoder.ethernet.truncated',
  'decoder.ethernet.not_ip',
  'decoder.vlan.truncated',
  'decoder.vlan.too_many',
  'decoder.sll.truncated',
  'decoder.sll2.truncated',
  'decoder.null.truncated',
  'decoder.null.unknown_family',
  'decoder.raw.bad_version',
  'decoder.ipv4.truncated',
  'decoder.ipv4.bad_version',
  'decoder.ipv4.bad_header_length',
  'decoder.ipv4.bad_total_length',
  'decoder.ipv4.fragment',
  'decoder.ipv6.truncated',
  'decoder.ipv6.bad_version',
  'decoder.ipv6.ext_truncated',
  'decoder.ipv6.too_many_ext',
  'decoder.ipv6.fragment',
  'decoder.ipv6.bad_jumbo',
  'decoder.ip.unknown_protocol',
  'decoder.gre.truncated',
  'decoder.gre.unsupported_version',
  'decoder.gre.unsupported_protocol',
  'decoder.erspan.truncated',
  'decoder.erspan.unsupported',
  'decoder.ppp.truncated',
  'decoder.ppp.unsupported_protocol',
  'decoder.vxlan.truncated',
  'decoder.vxlan.no_vni_flag',
  'decoder.geneve.truncated',
  'decoder.geneve.bad_version',
  'decoder.geneve.unsupported_protocol',
  'decoder.tunnel.too_deep',
  'decoder.tcp.truncated',
  'decoder.tcp.bad_header_length',
  'decoder.udp.truncated',
  'decoder.udp.bad_length',
  'decoder.icmp.truncated',
  'decoder.icmp.quoted_truncated',
  'decoder.icmpv6.truncated',
  'decoder.icmpv6.quoted_truncated',
] as const;

export type DecodeEventName = (typeof DECODE_EVENT_NAMES)[number];

/** Numeric ids of the events, in DECODE_EVENT_NAMES order. Kept as a const enum so they inline. */
export const enum DecodeEvent {
  LinkUnsupported,
  EthernetTruncated,
  EthernetNotIp,
  VlanTruncated,
  VlanTooMany,
  SllTruncated,
  Sll2Truncated,
  NullTruncated,
  NullUnknownFamily,
  RawBadVersion,
  Ipv4Truncated,
  Ipv4BadVersion,
  Ipv4BadHeaderLength,
  Ipv4BadTotalLength,
  Ipv4Fragment,
  Ipv6Truncated,
  Ipv6BadVersion,
  Ipv6ExtTruncated,
  Ipv6TooManyExt,
  Ipv6Fragment,
  Ipv6BadJumbo,
  IpUnknownProtocol,
  GreTruncated,
  GreUnsupportedVersion,
  GreUnsupportedProtocol,
  ErspanTruncated,
  ErspanUnsupported,
  PppTruncated,
  PppUnsupportedProtocol,
  VxlanTruncated,
  VxlanNoVniFlag,
  GeneveTruncated,
  GeneveBadVersion,
  GeneveUnsupportedProtocol,
  TunnelTooDeep,
  TcpTruncated,
  TcpBadHeaderLength,
  UdpTruncated,
  UdpBadLength,
  IcmpTruncated,
  IcmpQuotedTruncated,
  Icmpv6Truncated,
  Icmpv6QuotedTruncated,
  Count,
}

export class DecodeEventCounters {
  readonly counts = new Float64Array(DecodeEvent.Count);

  count(event: DecodeEvent): void {
    this.counts[event]++;
  }

  get(name: DecodeEventName): number {
    return this.counts[DECODE_EVENT_NAMES.indexOf(name)] ?? 0;
  }

  /** Non-zero counters by name: for reports, metrics and tests (not per packet). */
  toRecord(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < DECODE_EVENT_NAMES.length; i++) {
      const n = this.counts[i] ?? 0;
      if (n > 0) out[DECODE_EVENT_NAMES[i] as string] = n;
    }
    return out;
  }

  addFrom(other: DecodeEventCounters): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] = (this.counts[i] ?? 0) + (other.counts[i] ?? 0);
  }
}
