/**
 * Synthetic `tcpdump -i any` capture of one Calico node, with a known answer.
 *
 * Output: a classic pcap file (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-03.html),
 * little-endian with nanosecond timestamps (magic a1b23c4d), snaplen 262144, LINKTYPE_LINUX_SLL2 (276):
 *
 *   file header (24 bytes)   magic 4d 3c b2 a1 | version 2.4 | thiszone 0 | sigfigs 0 | snaplen | 276
 *   per packet  (16 bytes)   ts_sec | ts_nsec | caplen | origlen      (all little-endian)
 *               (20 bytes)   SLL2 header (big-endian, see wire.ts writeSll2)
 *               (caplen-20)  network-layer packet: IPv4, IPv6, ARP, or 802.1Q tag + IPv4
 *
 * The scenario (DESIGN.md's story, at scale): "this-node" (node-model.ts) forwards traffic between
 * its uplink, its tunnels and ~200 pod veths. Every forwarded packet is captured on each interface it
 * crosses, as the kernel's packet taps see it:
 *
 *   kind              share  sightings (ifindex, SLL2 packet type)
 *   ipip-in            ~42%  eth0 in (outer IPv4 proto 4 + inner) -> tunl0 in (inner, +2..20 us)
 *                            -> cali out (inner, TTL-1, +3..30 us after tunl0)
 *   ipip-in-vanished  ~0.1%  the same without the cali sighting: rp_filter dropped it on tunl0
 *   asymmetric-reply          for half of the vanished flows: the pod's traffic back to that source
 *                            leaves by eth0 without encapsulation (cali in -> eth0 out): the
 *                            asymmetric path that makes strict rp_filter drop the forward direction
 *   ipip-out            ~8%  cali in -> tunl0 out (TTL-1) -> eth0 out encapsulated
 *   vxlan-in           ~15%  eth0 in (UDP 4789, VNI 4096, inner Ethernet) -> vxlan.calico in -> cali out
 *   pod-to-external    ~15%  cali in -> eth0 out (TTL-1), a fifth of the flows 802.1Q-tagged (VLAN 100)
 *   ipv6-pod-to-pod    ~10%  cali A in -> cali B out (hop limit - 1); TCP, UDP, ICMPv6 echo
 *   node-local-in       ~4%  eth0 in, to 172.31.0.10 (delivered locally: never leaves)
 *   node-local-out    ~3.5%  eth0 out, from 172.31.0.10
 *   loopback            ~1%  lo out -> lo in
 *   arp               ~0.8%  broadcast requests on eth0; pods asking for 169.254.1.1 and the proxy reply
 *   multicast         ~0.6%  mDNS on eth0; pods' IPv6 neighbor solicitations on cali
 *   otherhost         ~0.1%  unicast between two other hosts, flooded to eth0 (packet type 3)
 *
 * Only the ipip-in-vanished packets entered the node, were not for it, and did not leave: they are
 * the expected drop groups of the truth file. Everything else either left, was for the node, or is
 * multicast, broadcast, ARP or another host's.
 *
 * Flows are drawn from per-kind pools with a skew (heavy flows and a long tail) and churn (pool entries
 * are replaced over time), so a 2M-packet capture has tens of thousands of distinct addresses and a
 * realistic mix of repeated and new 5-tuples. Payloads are copied from a random pool at random offsets;
 * IP IDs count up per flow, TCP sequence numbers advance with the payload: the same packet seen on two
 * interfaces is byte-identical apart from TTL, checksum and encapsulation, and different packets differ.
 *
 * About 5% of packets longer than 96 bytes are recorded cut at 96 bytes (caplen < origlen), as a
 * capture with a small snap length would record them, although the file header says 262144.
 *
 * Timestamps never decrease: sightings of one packet are scheduled in the future and kept in a min-heap
 * until the event clock passes them, so later events' packets interleave with earlier ones' as on a
 * busy node. The average rate is packetsPerSecond (default 500k).
 */

import {
  ARPHRD_ETHER,
  ARPHRD_LOOPBACK,
  ARPHRD_TUNNEL,
  ETHERNET_HEADER_LEN,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_VLAN,
  IPV4_HEADER_LEN,
  IPV6_HEADER_LEN,
  PACKET_BROADCAST,
  PACKET_HOST,
  PACKET_MULTICAST,
  PACKET_OTHERHOST,
  PACKET_OUTGOING,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_IPIP,
  PROTO_TCP,
  PROTO_UDP,
  PayloadPool,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  UDP_HEADER_LEN,
  VXLAN_HEADER_LEN,
  foldChecksum,
  put16,
  put32,
  putLe32,
  putMac,
  setIpv4Checksum,
  sum16,
  sumIpv6,
  sumWord32,
  writeArp,
  writeEthernet,
  writeIpv4,
  writeIpv6,
  writeSll2,
  writeUdp,
  writeVxlan,
} from './wire.js';
import {
  CALICO_POD_GATEWAY_IPV4,
  FIRST_POD_IFINDEX,
  IFINDEX_ETH0,
  IFINDEX_LO,
  IFINDEX_TUNL0,
  IFINDEX_VXLAN,
  IPIP_NODE_COUNT,
  LOCAL_POD_COUNT,
  LOOPBACK_IPV4,
  MDNS_IPV4,
  NODE_IPV4,
  NODE_NAME,
  NodeModel,
  PODS_PER_REMOTE_NODE,
  REMOTE_NODE_COUNT,
  TUNL0_IPV4,
  VICTIM_HOSTS_PER_NODE,
  VPC_DNS_IPV4,
  VXLAN_IPV4,
  VXLAN_PORT,
  VXLAN_VNI,
  formatIpv4,
  ip4,
  type InterfaceInfo,
} from './node-model.js';
import { Prng } from './prng.js';

// ---------------------------------------------------------------------------------------------------
// Public surface
// ---------------------------------------------------------------------------------------------------

export const LINKTYPE_LINUX_SLL2 = 276;
export const FILE_SNAPLEN = 262144;
/** The snap length the truncated ~5% of packets were "recorded" with. */
export const SHORT_SNAPLEN = 96;
export const TRUTH_FORMAT = 'pathwatch-bench-truth/1';
/**
 * Bump whenever a change to the generator changes its output for a given seed and packet count:
 * run-bench reuses a cached capture only when this matches.
 */
export const GENERATOR_VERSION = 1;

export interface GenerateOptions {
  /** Exact number of packets to write. */
  readonly packets: number;
  /** Seed of the deterministic generator (default 1). Same seed and packets, same bytes. */
  readonly seed?: number;
  /** First packet's time, epoch milliseconds (default 2026-01-01T00:00:00Z). */
  readonly startTimeMs?: number;
  /** Average capture rate (default 500,000 packets per second of capture time). */
  readonly packetsPerSecond?: number;
  /** Output chunk size (default 4 MiB). */
  readonly chunkBytes?: number;
  /**
   * Share of packets recorded cut at SHORT_SNAPLEN bytes (default 0.05). 0 gives a capture where every
   * packet is whole, to tell truncation problems apart from others.
   */
  readonly truncateRate?: number;
}

/**
 * Receives the file in order. The chunk is only valid during the call (its buffer is reused); a sink
 * that keeps bytes must copy them. fs.writeSync is the intended sink.
 */
export type WriteChunk = (chunk: Uint8Array) => void;

export const TRAFFIC_KINDS = [
  'ipip-in',
  'ipip-in-vanished',
  'ipip-out',
  'vxlan-in',
  'pod-to-external',
  'ipv6-pod-to-pod',
  'node-local-in',
  'node-local-out',
  'loopback',
  'arp',
  'multicast',
  'otherhost',
  'asymmetric-reply',
] as const;
export type TrafficKind = (typeof TRAFFIC_KINDS)[number];

/** One expected drop group: the vanished packets of one inner 5-tuple. */
export interface DropGroupTruth {
  readonly src: string;
  readonly dst: string;
  readonly proto: 'tcp' | 'udp' | 'icmp';
  /** null for ICMP, as in DropEvent. */
  readonly sport: number | null;
  readonly dport: number | null;
  /** Inner packets that vanished (each was captured twice: eth0 encapsulated, then tunl0). */
  readonly packets: number;
  /** The interface the packets were last seen on (DropEvent.iface). */
  readonly iface: 'tunl0';
  /** Packets of the reverse direction that left by eth0 unencapsulated (each captured on cali, then eth0). */
  readonly asymmetricReplies: number;
  /**
   * What a file-only replay can conclude: "reverse-path" (confidence "possible") when the asymmetric
   * return path was seen, else "vanished".
   */
  readonly expectedVerdict: 'reverse-path' | 'vanished';
  readonly firstSeen: string;
  readonly lastSeen: string;
}

export interface CaptureTruth {
  readonly format: typeof TRUTH_FORMAT;
  readonly generator: {
    readonly version: number;
    readonly seed: number;
    readonly packets: number;
    readonly packetsPerSecond: number;
    readonly startTimeMs: number;
    readonly magic: 'a1b23c4d';
    readonly linkType: number;
    readonly snapLen: number;
    readonly truncatedSnapLen: number;
    readonly truncateRate: number;
  };
  readonly file: {
    readonly bytes: number;
    readonly firstPacket: string;
    readonly lastPacket: string;
    readonly captureSeconds: number;
  };
  readonly node: {
    readonly name: string;
    readonly ownAddresses: readonly string[];
    readonly interfaces: readonly InterfaceInfo[];
  };
  /** Values for `pathwatch replay --ifname` (one flag per value). */
  readonly ifnameArgs: readonly string[];
  readonly packets: {
    readonly total: number;
    /** Recorded with caplen 96 < origlen. */
    readonly truncated: number;
    /** Captured packets (sightings) per kind; sums to total. */
    readonly byKind: Readonly<Record<TrafficKind, number>>;
  };
  /** Distinct packets (each sighted one or more times) per kind. */
  readonly innerPackets: { readonly byKind: Readonly<Record<TrafficKind, number>> };
  readonly vanished: {
    readonly innerPackets: number;
    readonly sightings: number;
    readonly asymmetricReplyPackets: number;
    /** Sorted by packets, descending, then by src. */
    readonly groups: readonly DropGroupTruth[];
  };
}

/**
 * Write a capture of exactly options.packets packets through writeChunk and return its truth.
 * Deterministic: same options, same bytes.
 */
export function generateCapture(options: GenerateOptions, writeChunk: WriteChunk): CaptureTruth {
  const packets = options.packets;
  if (!Number.isSafeInteger(packets) || packets < 1) throw new RangeError(`packets must be a positive integer, got ${packets}`);
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
  const truncateRate = options.truncateRate ?? DEFAULT_TRUNCATE_RATE;
  if (!(truncateRate >= 0 && truncateRate <= 1)) throw new RangeError(`truncateRate must be in [0, 1], got ${truncateRate}`);
  const gen = new Generator({
    packets,
    seed,
    truncateRate,
    startTimeMs: options.startTimeMs ?? Date.UTC(2026, 0, 1),
    packetsPerSecond: options.packetsPerSecond ?? 500_000,
    chunkBytes: options.chunkBytes ?? 4 * 1024 * 1024,
    writeChunk,
  });
  return gen.run();
}

// ---------------------------------------------------------------------------------------------------
// Scenario parameters
// ---------------------------------------------------------------------------------------------------

const K_IPIP_IN = 0;
const K_IPIP_VANISHED = 1;
const K_IPIP_OUT = 2;
const K_VXLAN_IN = 3;
const K_POD_EXTERNAL = 4;
const K_IPV6_POD = 5;
const K_LOCAL_IN = 6;
const K_LOCAL_OUT = 7;
const K_LOOPBACK = 8;
const K_ARP = 9;
const K_MULTICAST = 10;
const K_OTHERHOST = 11;
const K_ASYMMETRIC = 12;

/**
 * Events drawn per kind: weight = intended share of packets / packets per event. The derived kinds
 * (vanished, asymmetric-reply) have no weight of their own.
 */
const EVENT_WEIGHTS: readonly (readonly [kind: number, weight: number, maxPackets: number, meanPackets: number])[] = [
  [K_IPIP_IN, 14, 4, 3],
  [K_IPIP_OUT, 8 / 3, 3, 3],
  [K_VXLAN_IN, 5, 3, 3],
  [K_POD_EXTERNAL, 7.5, 2, 2],
  [K_IPV6_POD, 5, 2, 2],
  [K_LOCAL_IN, 4, 1, 1],
  [K_LOCAL_OUT, 3.5, 1, 1],
  [K_LOOPBACK, 0.5, 2, 2],
  [K_ARP, 0.55, 2, 1.5],
  [K_MULTICAST, 0.6, 1, 1],
  [K_OTHERHOST, 0.1, 1, 1],
];

/** Share of ipip-in packets that vanish (the brief's ~0.5%). */
const VANISH_RATE = 0.005;
/** Mean vanished packets per drop group; sets how many victim flows there are. */
const PACKETS_PER_DROP_GROUP = 25;
const MAX_VICTIMS = IPIP_NODE_COUNT * VICTIM_HOSTS_PER_NODE;
/** Chance that a vanished packet of an asymmetric victim flow is followed by one reply. */
const REPLY_CHANCE = 0.5;
/** Chance per use that a flow-pool entry is replaced by a new flow. */
const CHURN = 1 / 32;
export const DEFAULT_TRUNCATE_RATE = 0.05;
const MDNS_NAME_COUNT = 3;
const VLAN_ID = 100;

const SLOT_BYTES = 2048;
const PCAP_FILE_HEADER_LEN = 24;
const PCAP_RECORD_HEADER_LEN = 16;

const TCP_SERVICE_PORTS = [80, 443, 8080, 8443, 9090, 6379, 5432, 3306, 9092, 2379, 3000, 5000, 8000, 9200, 27017];
const EXTERNAL_TCP_PORTS = [443, 443, 443, 80, 22, 8443];
const NODE_TCP_PORTS = [10250, 179, 5473, 9099, 22, 6443];

// ---------------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------------

/** One captured packet waiting in the time-ordered heap. */
class Slot {
  readonly buf = Buffer.alloc(SLOT_BYTES);
  tsNs = 0;
  order = 0;
  caplen = 0;
  origlen = 0;
}

/**
 * A flow: the invariant part of a sequence of packets. IPv4 flows hold addresses in src/dst; IPv6
 * flows hold word indexes into NodeModel.ipv6.
 */
class Flow {
  v6 = false;
  src = 0;
  dst = 0;
  /** Remote node (IPIP/VXLAN peer, or the sender for node-local traffic), -1 when none. */
  node = -1;
  /** Local pod (the veth the packet enters or leaves by), and the second pod for pod-to-pod. */
  pod = 0;
  pod2 = 0;
  /** SLL2 address for eth0 sightings of incoming packets: the sending neighbour's MAC offset. */
  mac = 0;
  proto = PROTO_TCP;
  sport = 0;
  dport = 0;
  /** TTL / hop limit of the packet as it arrives at this node (before any forwarding here). */
  ttl = 64;
  ipId = 0;
  seq = 0;
  ack = 0;
  tsOffset = 0;
  /** ICMP: echo request (true) or reply. */
  icmpRequest = true;
  icmpId = 0;
  icmpSeq = 0;
  /** DNS name index; qtype A, AAAA or PTR. */
  dnsName = 0;
  dnsType = 1;
  /** VXLAN outer UDP source port: Linux derives it from the inner flow hash, so it is per flow. */
  tunnelPort = 0;
  vlan = 0;
}

class FlowPool {
  private readonly flows: Flow[] = [];

  constructor(
    size: number,
    private readonly rng: Prng,
    private readonly make: (f: Flow) => void,
  ) {
    for (let i = 0; i < size; i++) {
      const f = new Flow();
      make(f);
      this.flows.push(f);
    }
  }

  pick(): Flow {
    const f = this.flows[this.rng.skewed(this.flows.length)]!;
    if (this.rng.chance(CHURN)) this.make(f);
    return f;
  }
}

/** A flow whose packets all vanish on tunl0, and its statistics. */
interface Victim {
  readonly flow: Flow;
  /** The pod's traffic back to the source, leaving by eth0; null when this victim has no asymmetry. */
  readonly reply: Flow | null;
  packets: number;
  replies: number;
  firstNs: number;
  lastNs: number;
}

interface GeneratorConfig {
  readonly packets: number;
  readonly seed: number;
  readonly startTimeMs: number;
  readonly packetsPerSecond: number;
  readonly chunkBytes: number;
  readonly truncateRate: number;
  readonly writeChunk: WriteChunk;
}

class Generator {
  private readonly rng: Prng;
  private readonly model: NodeModel;
  private readonly pool: PayloadPool;
  private readonly dnsNames: Uint8Array;
  private readonly dnsNameOffsets: number[] = [];

  /** Scratch for the packet being built (the innermost IP packet), copied into each sighting. */
  private readonly inner = Buffer.alloc(SLOT_BYTES);
  private innerLen = 0;
  private innerV6 = false;

  private readonly heap: Slot[] = [];
  private readonly free: Slot[] = [];
  private order = 0;

  private readonly out: Buffer;
  private outPos = 0;
  private fileBytes = 0;

  /** Event clock: nanoseconds since startTimeMs's whole second. */
  private now: number;
  private readonly baseSec: number;
  private readonly meanEventGapNs: number;
  private readonly kindThresholds: number[] = [];

  private scheduled = 0;
  private written = 0;
  private truncated = 0;
  private truncateDebt = 0;
  private firstTsNs = -1;
  private lastTsNs = 0;
  private readonly packetsByKind = new Float64Array(TRAFFIC_KINDS.length);
  private readonly eventsByKind = new Float64Array(TRAFFIC_KINDS.length);

  private readonly victims: Victim[] = [];
  /** For one-off packets (mDNS) that belong to no pool. */
  private readonly scratchFlow = new Flow();
  private readonly ipipIn: FlowPool;
  private readonly ipipOut: FlowPool;
  private readonly vxlanIn: FlowPool;
  private readonly external: FlowPool;
  private readonly v6Pods: FlowPool;
  private readonly localIn: FlowPool;
  private readonly localOut: FlowPool;
  private readonly loopback: FlowPool;
  private readonly otherhost: FlowPool;

  constructor(private readonly cfg: GeneratorConfig) {
    this.rng = new Prng(cfg.seed);
    this.model = new NodeModel(cfg.seed);
    const rng = this.rng;
    this.pool = new PayloadPool(1 << 20, (b) => {
      for (let i = 0; i < b.length; i += 4) put32(b, i, rng.next());
    });
    this.dnsNames = buildDnsNames(this.dnsNameOffsets);

    this.out = Buffer.alloc(Math.max(cfg.chunkBytes, 64 * 1024));
    this.baseSec = Math.floor(cfg.startTimeMs / 1000);
    this.now = (cfg.startTimeMs % 1000) * 1e6;

    let total = 0;
    let packetWeight = 0;
    for (const [, w, , mean] of EVENT_WEIGHTS) {
      total += w;
      packetWeight += w * mean;
    }
    let cum = 0;
    for (const [, w] of EVENT_WEIGHTS) {
      cum += w;
      this.kindThresholds.push(Math.min(4294967296, Math.round((cum / total) * 4294967296)));
    }
    // Events arrive with uniform gaps of mean (packets per event / rate): the packet rate averages out.
    this.meanEventGapNs = (packetWeight / total / cfg.packetsPerSecond) * 1e9;

    const m = this.model;
    this.ipipIn = new FlowPool(8192, rng, (f) => {
      f.v6 = false;
      f.node = rng.below(IPIP_NODE_COUNT);
      f.src = m.remotePodIpv4[f.node * PODS_PER_REMOTE_NODE + rng.below(PODS_PER_REMOTE_NODE)]!;
      f.pod = rng.below(LOCAL_POD_COUNT);
      f.dst = m.podIpv4[f.pod]!;
      f.mac = m.macRemoteNode(f.node);
      f.ttl = 63; // the sending node already routed it once
      this.podTrafficL4(f);
    });
    this.ipipOut = new FlowPool(2048, rng, (f) => {
      f.v6 = false;
      f.node = rng.below(IPIP_NODE_COUNT);
      f.pod = rng.below(LOCAL_POD_COUNT);
      f.src = m.podIpv4[f.pod]!;
      f.dst = m.remotePodIpv4[f.node * PODS_PER_REMOTE_NODE + rng.below(PODS_PER_REMOTE_NODE)]!;
      f.mac = m.macPod(f.pod);
      f.ttl = 64;
      this.podTrafficL4(f);
    });
    this.vxlanIn = new FlowPool(4096, rng, (f) => {
      f.v6 = false;
      f.node = IPIP_NODE_COUNT + rng.below(REMOTE_NODE_COUNT - IPIP_NODE_COUNT);
      f.src = m.remotePodIpv4[f.node * PODS_PER_REMOTE_NODE + rng.below(PODS_PER_REMOTE_NODE)]!;
      f.pod = rng.below(LOCAL_POD_COUNT);
      f.dst = m.podIpv4[f.pod]!;
      f.mac = m.macRemoteNode(f.node);
      f.ttl = 63;
      f.tunnelPort = rng.range(32768, 60999);
      this.podTrafficL4(f);
    });
    this.external = new FlowPool(16384, rng, (f) => {
      f.v6 = false;
      f.pod = rng.below(LOCAL_POD_COUNT);
      f.src = m.podIpv4[f.pod]!;
      f.dst = (ip4(198, 18, 0, 0) + rng.below(1 << 17)) >>> 0;
      f.mac = m.macPod(f.pod);
      f.ttl = 64;
      // A fifth of the destinations sit behind a tagged uplink VLAN.
      f.vlan = rng.chance(0.2) ? VLAN_ID : 0;
      const r = rng.below(100);
      if (r < 75) this.tcpL4(f, EXTERNAL_TCP_PORTS[rng.below(EXTERNAL_TCP_PORTS.length)]!, true);
      else if (r < 90) this.dnsL4(f, true);
      else this.icmpL4(f, true);
    });
    this.v6Pods = new FlowPool(2048, rng, (f) => {
      f.v6 = true;
      f.pod = rng.below(LOCAL_POD_COUNT);
      f.pod2 = (f.pod + 1 + rng.below(LOCAL_POD_COUNT - 1)) % LOCAL_POD_COUNT;
      f.src = m.v6Pod(f.pod);
      f.dst = m.v6Pod(f.pod2);
      f.mac = m.macPod(f.pod);
      f.ttl = 64;
      f.ipId = 0;
      f.tsOffset = rng.next();
      const r = rng.below(100);
      if (r < 60) this.tcpL4(f, TCP_SERVICE_PORTS[rng.below(TCP_SERVICE_PORTS.length)]!, rng.chance(0.5));
      else if (r < 85) this.dnsL4(f, rng.chance(0.5));
      else this.icmpL4(f, rng.chance(0.5));
    });
    this.localIn = new FlowPool(2048, rng, (f) => {
      f.v6 = false;
      f.dst = NODE_IPV4;
      if (rng.chance(0.6)) {
        f.node = rng.below(REMOTE_NODE_COUNT);
        f.src = m.remoteNodeIpv4[f.node]!;
        f.mac = m.macRemoteNode(f.node);
        f.ttl = 64;
      } else {
        // Clients outside the VPC (SSH, API, kubelet): routed through the gateway.
        f.node = -1;
        f.src = (ip4(100, 64, 0, 0) + 256 + rng.below((1 << 22) - 512)) >>> 0;
        f.mac = m.macGateway;
        f.ttl = rng.range(44, 60);
      }
      if (rng.chance(0.9)) this.tcpL4(f, NODE_TCP_PORTS[rng.below(NODE_TCP_PORTS.length)]!, true);
      else this.icmpL4(f, true);
    });
    this.localOut = new FlowPool(1024, rng, (f) => {
      f.v6 = false;
      f.src = NODE_IPV4;
      f.mac = m.macEth0;
      f.ttl = 64;
      const r = rng.below(100);
      if (r < 55) {
        f.node = rng.below(REMOTE_NODE_COUNT);
        f.dst = m.remoteNodeIpv4[f.node]!;
        this.tcpL4(f, NODE_TCP_PORTS[rng.below(NODE_TCP_PORTS.length)]!, rng.chance(0.5));
      } else if (r < 80) {
        f.dst = (ip4(198, 18, 0, 0) + rng.below(1 << 17)) >>> 0;
        this.tcpL4(f, 443, true);
      } else {
        f.dst = VPC_DNS_IPV4;
        this.dnsL4(f, true);
      }
    });
    this.loopback = new FlowPool(64, rng, (f) => {
      f.v6 = false;
      f.src = LOOPBACK_IPV4;
      f.dst = LOOPBACK_IPV4;
      f.ttl = 64;
      this.tcpL4(f, [10248, 9099, 10256, 2379][rng.below(4)]!, rng.chance(0.5));
    });
    this.otherhost = new FlowPool(128, rng, (f) => {
      f.v6 = false;
      f.node = rng.below(REMOTE_NODE_COUNT);
      const other = (f.node + 1 + rng.below(REMOTE_NODE_COUNT - 1)) % REMOTE_NODE_COUNT;
      f.src = m.remoteNodeIpv4[f.node]!;
      f.dst = m.remoteNodeIpv4[other]!;
      f.mac = m.macRemoteNode(f.node);
      f.ttl = 64;
      this.tcpL4(f, NODE_TCP_PORTS[rng.below(NODE_TCP_PORTS.length)]!, true);
    });

    // Victims: enough flows that a group averages PACKETS_PER_DROP_GROUP vanished packets; the first
    // half also send traffic back by the asymmetric path.
    const ipipInWeight = EVENT_WEIGHTS.find((e) => e[0] === K_IPIP_IN)![1];
    const expectedVanished = (cfg.packets / (packetWeight / total)) * (ipipInWeight / total) * VANISH_RATE;
    const victimCount = Math.max(4, Math.min(MAX_VICTIMS, Math.round(expectedVanished / PACKETS_PER_DROP_GROUP)));
    const asymmetricCount = Math.ceil(victimCount / 2);
    for (let v = 0; v < victimCount; v++) {
      const pod = m.victimPod(v);
      const f = new Flow();
      f.node = pod.node;
      f.src = pod.ipv4;
      f.pod = rng.below(LOCAL_POD_COUNT);
      f.dst = m.podIpv4[f.pod]!;
      f.mac = m.macRemoteNode(pod.node);
      f.ttl = 63;
      const p = v % 4;
      if (p < 2) this.tcpL4(f, TCP_SERVICE_PORTS[rng.below(TCP_SERVICE_PORTS.length)]!, true);
      else if (p === 2) this.dnsL4(f, true);
      else this.icmpL4(f, true);
      let reply: Flow | null = null;
      if (v < asymmetricCount) {
        reply = new Flow();
        reply.node = pod.node;
        reply.pod = f.pod;
        reply.src = f.dst;
        reply.dst = f.src;
        reply.mac = m.macPod(f.pod);
        reply.ttl = 64;
        reply.proto = f.proto;
        reply.sport = f.dport;
        reply.dport = f.sport;
        reply.ipId = rng.below(65536);
        reply.seq = rng.next();
        reply.ack = rng.next();
        reply.tsOffset = rng.next();
        reply.icmpRequest = false;
        reply.icmpId = f.icmpId;
        reply.dnsName = f.dnsName;
        reply.dnsType = f.dnsType;
      }
      this.victims.push({ flow: f, reply, packets: 0, replies: 0, firstNs: 0, lastNs: 0 });
    }
  }

  run(): CaptureTruth {
    this.writeFileHeader();
    const n = this.cfg.packets;
    while (this.scheduled < n) {
      this.now += this.rng.below(Math.max(1, Math.round(2 * this.meanEventGapNs)) + 1);
      this.drain(this.now);
      let which = this.pickEvent();
      // Near the end, only single-packet events fit: never cut an event short, or its missing
      // sightings would look like vanished packets that the truth does not list.
      if (this.scheduled + EVENT_WEIGHTS[which]![2] > n) which = EVENT_WEIGHTS.findIndex((e) => e[0] === K_LOCAL_IN);
      this.runEvent(EVENT_WEIGHTS[which]![0]);
    }
    this.drain(Number.POSITIVE_INFINITY);
    this.flush();
    return this.truth();
  }

  // ----- event selection ---------------------------------------------------------------------------

  private pickEvent(): number {
    const r = this.rng.next();
    const t = this.kindThresholds;
    for (let i = 0; i < t.length - 1; i++) if (r < t[i]!) return i;
    return t.length - 1;
  }

  private runEvent(kind: number): void {
    switch (kind) {
      case K_IPIP_IN:
        if (this.rng.chance(VANISH_RATE)) this.eventVanished();
        else this.eventIpipIn();
        return;
      case K_IPIP_OUT:
        return this.eventIpipOut();
      case K_VXLAN_IN:
        return this.eventVxlanIn();
      case K_POD_EXTERNAL:
        return this.eventPodToExternal();
      case K_IPV6_POD:
        return this.eventIpv6PodToPod();
      case K_LOCAL_IN:
        return this.eventLocalIn();
      case K_LOCAL_OUT:
        return this.eventLocalOut();
      case K_LOOPBACK:
        return this.eventLoopback();
      case K_ARP:
        return this.eventArp();
      case K_MULTICAST:
        return this.eventMulticast();
      case K_OTHERHOST:
        return this.eventOtherhost();
      default:
        throw new Error(`unknown event kind ${kind}`);
    }
  }

  // ----- events: one packet and all of its sightings -----------------------------------------------

  private eventIpipIn(): void {
    const f = this.ipipIn.pick();
    this.eventsByKind[K_IPIP_IN]!++;
    this.buildInner(f);
    const m = this.model;
    let t = this.now;
    this.emitIpip(t, PACKET_HOST, f.mac, m.remoteNodeIpv4[f.node]!, NODE_IPV4, 0, K_IPIP_IN);
    t += this.rng.range(2_000, 20_000);
    this.emitInner(t, IFINDEX_TUNL0, ARPHRD_TUNNEL, PACKET_HOST, -1, 0, K_IPIP_IN);
    t += this.rng.range(3_000, 30_000);
    this.emitInner(t, FIRST_POD_IFINDEX + f.pod, ARPHRD_ETHER, PACKET_OUTGOING, m.macCaliHost, 1, K_IPIP_IN);
  }

  /** An IPIP packet that strict rp_filter drops after decapsulation: seen on eth0 and tunl0 only. */
  private eventVanished(): void {
    const v = this.victims[this.rng.below(this.victims.length)]!;
    const f = v.flow;
    this.eventsByKind[K_IPIP_VANISHED]!++;
    this.buildInner(f);
    const m = this.model;
    let t = this.now;
    this.emitIpip(t, PACKET_HOST, f.mac, m.remoteNodeIpv4[f.node]!, NODE_IPV4, 0, K_IPIP_VANISHED);
    t += this.rng.range(2_000, 20_000);
    this.emitInner(t, IFINDEX_TUNL0, ARPHRD_TUNNEL, PACKET_HOST, -1, 0, K_IPIP_VANISHED);
    if (v.packets === 0) v.firstNs = this.now;
    v.lastNs = this.now;
    v.packets++;

    const r = v.reply;
    if (r !== null && this.rng.chance(REPLY_CHANCE)) {
      this.eventsByKind[K_ASYMMETRIC]!++;
      v.replies++;
      this.buildInner(r);
      let tr = t + this.rng.range(50_000, 500_000);
      this.emitInner(tr, FIRST_POD_IFINDEX + r.pod, ARPHRD_ETHER, PACKET_HOST, r.mac, 0, K_ASYMMETRIC);
      tr += this.rng.range(3_000, 30_000);
      // Routed to the remote pod's address through the uplink, not the tunnel: the asymmetric path.
      this.emitInner(tr, IFINDEX_ETH0, ARPHRD_ETHER, PACKET_OUTGOING, m.macEth0, 1, K_ASYMMETRIC);
    }
  }

  private eventIpipOut(): void {
    const f = this.ipipOut.pick();
    this.eventsByKind[K_IPIP_OUT]!++;
    this.buildInner(f);
    const m = this.model;
    let t = this.now;
    this.emitInner(t, FIRST_POD_IFINDEX + f.pod, ARPHRD_ETHER, PACKET_HOST, f.mac, 0, K_IPIP_OUT);
    t += this.rng.range(2_000, 10_000);
    this.emitInner(t, IFINDEX_TUNL0, ARPHRD_TUNNEL, PACKET_OUTGOING, -1, 1, K_IPIP_OUT);
    t += this.rng.range(1_000, 10_000);
    this.emitIpip(t, PACKET_OUTGOING, m.macEth0, NODE_IPV4, m.remoteNodeIpv4[f.node]!, 1, K_IPIP_OUT);
  }

  private eventVxlanIn(): void {
    const f = this.vxlanIn.pick();
    this.eventsByKind[K_VXLAN_IN]!++;
    this.buildInner(f);
    const m = this.model;
    let t = this.now;
    this.emitVxlan(t, f, K_VXLAN_IN);
    t += this.rng.range(2_000, 20_000);
    this.emitInner(t, IFINDEX_VXLAN, ARPHRD_ETHER, PACKET_HOST, m.macRemoteVtep(f.node), 0, K_VXLAN_IN);
    t += this.rng.range(3_000, 30_000);
    this.emitInner(t, FIRST_POD_IFINDEX + f.pod, ARPHRD_ETHER, PACKET_OUTGOING, m.macCaliHost, 1, K_VXLAN_IN);
  }

  private eventPodToExternal(): void {
    const f = this.external.pick();
    this.eventsByKind[K_POD_EXTERNAL]!++;
    this.buildInner(f);
    let t = this.now;
    this.emitInner(t, FIRST_POD_IFINDEX + f.pod, ARPHRD_ETHER, PACKET_HOST, f.mac, 0, K_POD_EXTERNAL);
    t += this.rng.range(3_000, 30_000);
    if (f.vlan !== 0) this.emitVlan(t, f.vlan, K_POD_EXTERNAL);
    else this.emitInner(t, IFINDEX_ETH0, ARPHRD_ETHER, PACKET_OUTGOING, this.model.macEth0, 1, K_POD_EXTERNAL);
  }

  private eventIpv6PodToPod(): void {
    const f = this.v6Pods.pick();
    this.eventsByKind[K_IPV6_POD]!++;
    this.buildInner(f);
    let t = this.now;
    this.emitInner(t, FIRST_POD_IFINDEX + f.pod, ARPHRD_ETHER, PACKET_HOST, f.mac, 0, K_IPV6_POD);
    t += this.rng.range(3_000, 30_000);
    this.emitInner(t, FIRST_POD_IFINDEX + f.pod2, ARPHRD_ETHER, PACKET_OUTGOING, this.model.macCaliHost, 1, K_IPV6_POD);
  }

  private eventLocalIn(): void {
    const f = this.localIn.pick();
    this.eventsByKind[K_LOCAL_IN]!++;
    this.buildInner(f);
    this.emitInner(this.now, IFINDEX_ETH0, ARPHRD_ETHER, PACKET_HOST, f.mac, 0, K_LOCAL_IN);
  }

  private eventLocalOut(): void {
    const f = this.localOut.pick();
    this.eventsByKind[K_LOCAL_OUT]!++;
    this.buildInner(f);
    this.emitInner(this.now, IFINDEX_ETH0, ARPHRD_ETHER, PACKET_OUTGOING, f.mac, 0, K_LOCAL_OUT);
  }

  private eventLoopback(): void {
    const f = this.loopback.pick();
    this.eventsByKind[K_LOOPBACK]!++;
    this.buildInner(f);
    const m = this.model;
    // On lo the same skb is tapped leaving and again entering.
    this.emitInner(this.now, IFINDEX_LO, ARPHRD_LOOPBACK, PACKET_OUTGOING, m.macZero, 0, K_LOOPBACK);
    this.emitInner(this.now + this.rng.range(500, 3_000), IFINDEX_LO, ARPHRD_LOOPBACK, PACKET_HOST, m.macZero, 0, K_LOOPBACK);
  }

  private eventArp(): void {
    const m = this.model;
    const rng = this.rng;
    this.eventsByKind[K_ARP]!++;
    if (rng.chance(0.5)) {
      // A neighbour on the VPC subnet asks for someone: broadcast, padded to the 60-byte Ethernet minimum.
      const node = rng.below(REMOTE_NODE_COUNT);
      const s = this.slot(this.now);
      let o = writeSll2(s.buf, 0, ETHERTYPE_ARP, IFINDEX_ETH0, ARPHRD_ETHER, PACKET_BROADCAST, m.macs, m.macRemoteNode(node));
      o += writeArp(s.buf, o, 1, m.macs, m.macRemoteNode(node), m.remoteNodeIpv4[node]!, -1, ip4(172, 31, 0, rng.range(1, 254)));
      s.buf.fill(0, o, o + 18);
      this.commit(s, o + 18, K_ARP);
    } else {
      // A pod resolves Calico's fake gateway 169.254.1.1; the host answers by proxy ARP with ee:ee:...
      const pod = rng.below(LOCAL_POD_COUNT);
      const ifindex = FIRST_POD_IFINDEX + pod;
      const s = this.slot(this.now);
      let o = writeSll2(s.buf, 0, ETHERTYPE_ARP, ifindex, ARPHRD_ETHER, PACKET_BROADCAST, m.macs, m.macPod(pod));
      o += writeArp(s.buf, o, 1, m.macs, m.macPod(pod), m.podIpv4[pod]!, -1, CALICO_POD_GATEWAY_IPV4);
      this.commit(s, o, K_ARP);
      const r = this.slot(this.now + rng.range(5_000, 40_000));
      let p = writeSll2(r.buf, 0, ETHERTYPE_ARP, ifindex, ARPHRD_ETHER, PACKET_OUTGOING, m.macs, m.macCaliHost);
      p += writeArp(r.buf, p, 2, m.macs, m.macCaliHost, CALICO_POD_GATEWAY_IPV4, m.macPod(pod), m.podIpv4[pod]!);
      this.commit(r, p, K_ARP);
    }
  }

  private eventMulticast(): void {
    const m = this.model;
    const rng = this.rng;
    this.eventsByKind[K_MULTICAST]!++;
    if (rng.chance(0.6)) {
      // mDNS query from a neighbour (224.0.0.251:5353, TTL 255).
      const f = this.scratchFlow;
      f.v6 = false;
      f.node = rng.below(REMOTE_NODE_COUNT);
      f.src = m.remoteNodeIpv4[f.node]!;
      f.dst = MDNS_IPV4;
      f.ttl = 255;
      f.ipId = rng.below(65536);
      f.proto = PROTO_UDP;
      f.sport = 5353;
      f.dport = 5353;
      f.dnsName = this.dnsNameOffsets.length - 1 - MDNS_NAME_COUNT + rng.below(MDNS_NAME_COUNT);
      f.dnsType = 12;
      this.buildInner(f);
      this.emitInner(this.now, IFINDEX_ETH0, ARPHRD_ETHER, PACKET_MULTICAST, m.macRemoteNode(f.node), 0, K_MULTICAST);
    } else {
      this.buildNeighborSolicitation(rng.below(LOCAL_POD_COUNT));
    }
  }

  private eventOtherhost(): void {
    const f = this.otherhost.pick();
    this.eventsByKind[K_OTHERHOST]!++;
    this.buildInner(f);
    this.emitInner(this.now, IFINDEX_ETH0, ARPHRD_ETHER, PACKET_OTHERHOST, f.mac, 0, K_OTHERHOST);
  }

  // ----- flow setup ---------------------------------------------------------------------------------

  /** Pod-to-pod traffic mix: TCP 70%, DNS 15%, ICMP echo 15%, either direction of the conversation. */
  private podTrafficL4(f: Flow): void {
    const r = this.rng.below(100);
    if (r < 70) this.tcpL4(f, TCP_SERVICE_PORTS[this.rng.below(TCP_SERVICE_PORTS.length)]!, this.rng.chance(0.5));
    else if (r < 85) this.dnsL4(f, this.rng.chance(0.7));
    else this.icmpL4(f, this.rng.chance(0.7));
  }

  private tcpL4(f: Flow, servicePort: number, toServer: boolean): void {
    const eph = this.rng.range(32768, 60999);
    f.proto = PROTO_TCP;
    f.sport = toServer ? eph : servicePort;
    f.dport = toServer ? servicePort : eph;
    f.seq = this.rng.next();
    f.ack = this.rng.next();
    f.ipId = this.rng.below(65536);
    f.tsOffset = this.rng.next();
  }

  private dnsL4(f: Flow, query: boolean): void {
    const eph = this.rng.range(32768, 60999);
    f.proto = PROTO_UDP;
    f.sport = query ? eph : 53;
    f.dport = query ? 53 : eph;
    f.ipId = this.rng.below(65536);
    f.dnsName = this.rng.below(this.dnsNameOffsets.length - 1 - MDNS_NAME_COUNT);
    f.dnsType = f.v6 || this.rng.chance(0.3) ? 28 : 1;
  }

  private icmpL4(f: Flow, request: boolean): void {
    f.proto = f.v6 ? PROTO_ICMPV6 : PROTO_ICMP;
    f.sport = 0;
    f.dport = 0;
    f.icmpRequest = request;
    f.icmpId = this.rng.below(65536);
    f.icmpSeq = this.rng.range(1, 1000);
    f.ipId = this.rng.below(65536);
  }

  // ----- the innermost packet -------------------------------------------------------------------------

  /** Build the next packet of flow f into this.inner, with the TTL it has on arrival at the node. */
  private buildInner(f: Flow): void {
    const b = this.inner;
    const ipLen = f.v6 ? IPV6_HEADER_LEN : IPV4_HEADER_LEN;
    const proto = f.proto;
    // Pseudo-header sum without the length (RFC 793 / RFC 8200 section 8.1): addresses and protocol.
    const pseudo = f.v6
      ? sumIpv6(this.model.ipv6, f.src) + sumIpv6(this.model.ipv6, f.dst) + proto
      : sumWord32(f.src) + sumWord32(f.dst) + proto;
    let l4Len: number;
    if (proto === PROTO_TCP) l4Len = this.writeTcp(b, ipLen, f, pseudo);
    else if (proto === PROTO_UDP) l4Len = this.writeDns(b, ipLen, f, pseudo);
    else l4Len = this.writeIcmpEcho(b, ipLen, f, pseudo);
    if (f.v6) {
      writeIpv6(b, 0, l4Len, proto, f.ttl, f.tsOffset & 0xfffff, this.model.ipv6, f.src, this.model.ipv6, f.dst);
    } else {
      writeIpv4(b, 0, ipLen + l4Len, f.ipId, true, f.ttl, proto, f.src, f.dst);
      f.ipId = (f.ipId + 1) & 0xffff;
    }
    this.innerLen = ipLen + l4Len;
    this.innerV6 = f.v6;
  }

  /**
   * TCP (RFC 9293): mostly ACK and PSH|ACK with timestamps (32-byte header, as Linux sends), some
   * handshake, FIN and RST segments. Payload 0-1400 bytes from the payload pool.
   */
  private writeTcp(b: Buffer, o: number, f: Flow, pseudo: number): number {
    const rng = this.rng;
    const r = rng.below(100);
    let flags: number;
    let payload = 0;
    if (r < 3) flags = TCP_SYN;
    else if (r < 6) flags = TCP_SYN | TCP_ACK;
    else if (r < 9) flags = TCP_FIN | TCP_ACK;
    else if (r < 11) flags = TCP_RST | TCP_ACK;
    else if (r < 50) {
      flags = TCP_ACK;
      payload = rng.chance(0.3) ? 1400 : 0;
    } else {
      flags = TCP_PSH | TCP_ACK;
      const u = rng.fraction();
      payload = 1 + Math.floor(u * u * 1400);
    }
    if (flags & TCP_SYN) f.seq = rng.next();
    const tsVal = (Math.floor(this.now / 1e6) + f.tsOffset) >>> 0;
    put16(b, o, f.sport);
    put16(b, o + 2, f.dport);
    put32(b, o + 4, f.seq);
    put32(b, o + 8, flags & TCP_ACK ? f.ack : 0);
    let h = 20;
    if (flags & TCP_SYN) {
      // MSS 1410 (IPIP MTU 1480 - 40 - 20 for options' worth), SACK permitted, timestamps, window scale 7.
      const opt = o + 20;
      b[opt] = 2;
      b[opt + 1] = 4;
      put16(b, opt + 2, 1410);
      b[opt + 4] = 4;
      b[opt + 5] = 2;
      b[opt + 6] = 8;
      b[opt + 7] = 10;
      put32(b, opt + 8, tsVal);
      put32(b, opt + 12, flags & TCP_ACK ? (tsVal - rng.below(50)) >>> 0 : 0);
      b[opt + 16] = 1;
      b[opt + 17] = 3;
      b[opt + 18] = 3;
      b[opt + 19] = 7;
      h = 40;
    } else if (!(flags & TCP_RST)) {
      const opt = o + 20;
      b[opt] = 1;
      b[opt + 1] = 1;
      b[opt + 2] = 8;
      b[opt + 3] = 10;
      put32(b, opt + 4, tsVal);
      put32(b, opt + 8, (tsVal - rng.below(50)) >>> 0);
      h = 32;
    }
    b[o + 12] = (h / 4) << 4;
    b[o + 13] = flags;
    put16(b, o + 14, flags & TCP_SYN ? 64240 : 502 + rng.below(64));
    put16(b, o + 16, 0);
    put16(b, o + 18, 0);
    let sum = pseudo + h + payload + sum16(b, o, h);
    if (payload > 0) sum += this.pool.copyOut(b, o + h, 2 * this.rng.below((this.pool.bytes.length - 1400) >>> 1), payload);
    put16(b, o + 16, foldChecksum(sum));
    f.seq = (f.seq + payload + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0)) >>> 0;
    if (flags & TCP_ACK) f.ack = (f.ack + rng.below(3000)) >>> 0;
    return h + payload;
  }

  /**
   * UDP DNS (RFC 1035): a query for one name, or its answer with one record, after a UDP header.
   * Port 53 as the source means a response; 5353 is an mDNS query.
   */
  private writeDns(b: Buffer, o: number, f: Flow, pseudo: number): number {
    const rng = this.rng;
    const d = o + UDP_HEADER_LEN;
    const response = f.sport === 53;
    put16(b, d, rng.below(65536));
    put16(b, d + 2, response ? 0x8180 : f.sport === 5353 ? 0 : 0x0100);
    put16(b, d + 4, 1);
    put16(b, d + 6, response ? 1 : 0);
    put16(b, d + 8, 0);
    put16(b, d + 10, 0);
    const nameStart = this.dnsNameOffsets[f.dnsName]!;
    const nameLen = this.dnsNameOffsets[f.dnsName + 1]! - nameStart;
    b.set(this.dnsNames.subarray(nameStart, nameStart + nameLen), d + 12);
    let p = d + 12 + nameLen;
    put16(b, p, f.dnsType);
    put16(b, p + 2, 1);
    p += 4;
    if (response) {
      // Answer: pointer to the question's name, TTL 30, a ClusterIP (A) or a ULA service address (AAAA).
      put16(b, p, 0xc00c);
      put16(b, p + 2, f.dnsType);
      put16(b, p + 4, 1);
      put32(b, p + 6, 30);
      if (f.dnsType === 28) {
        put16(b, p + 10, 16);
        put32(b, p + 12, 0xfd000010);
        put32(b, p + 16, 0x00960000);
        put32(b, p + 20, 0);
        put32(b, p + 24, rng.below(65536));
        p += 28;
      } else {
        put16(b, p + 10, 4);
        put32(b, p + 12, ip4(10, 96, rng.below(256), rng.range(1, 254)));
        p += 16;
      }
    }
    const udpLen = p - o;
    writeUdp(b, o, f.sport, f.dport, udpLen);
    const c = foldChecksum(pseudo + udpLen + sum16(b, o, udpLen));
    // 0 means "no checksum" for UDP over IPv4, so a computed 0 is sent as 0xffff (RFC 768).
    put16(b, o + 6, c === 0 ? 0xffff : c);
    return udpLen;
  }

  /**
   * ICMP / ICMPv6 echo (RFC 792, RFC 4443) as Linux ping sends it: id, seq, then 56 data bytes: a
   * struct timeval (16 bytes, little-endian on x86_64) and the bytes 0x10..0x37.
   */
  private writeIcmpEcho(b: Buffer, o: number, f: Flow, pseudo: number): number {
    const v6 = f.proto === PROTO_ICMPV6;
    b[o] = v6 ? (f.icmpRequest ? 128 : 129) : f.icmpRequest ? 8 : 0;
    b[o + 1] = 0;
    put16(b, o + 2, 0);
    put16(b, o + 4, f.icmpId);
    put16(b, o + 6, f.icmpSeq);
    f.icmpSeq = (f.icmpSeq + 1) & 0xffff;
    const nowSec = this.baseSec + Math.floor(this.now / 1e9);
    const usec = Math.floor((this.now % 1e9) / 1000);
    putLe32(b, o + 8, nowSec);
    putLe32(b, o + 12, 0);
    putLe32(b, o + 16, usec);
    putLe32(b, o + 20, 0);
    for (let i = 16; i < 56; i++) b[o + 8 + i] = i;
    const len = 64;
    // ICMPv6 checksums cover a pseudo-header; ICMPv4 checksums do not.
    const sum = sum16(b, o, len) + (v6 ? pseudo + len : 0);
    put16(b, o + 2, foldChecksum(sum));
    return len;
  }

  /** A pod's neighbor solicitation for Calico's link-local gateway, seen entering its cali as multicast. */
  private buildNeighborSolicitation(pod: number): void {
    const m = this.model;
    const b = this.inner;
    const o = IPV6_HEADER_LEN;
    const len = 32;
    b[o] = 135;
    b[o + 1] = 0;
    put16(b, o + 2, 0);
    put32(b, o + 4, 0);
    for (let i = 0; i < 4; i++) put32(b, o + 8 + 4 * i, m.ipv6[m.v6CaliGateway + i]!);
    b[o + 24] = 1; // source link-layer address option, 8 bytes
    b[o + 25] = 1;
    putMac(b, o + 26, m.macs, m.macPod(pod));
    const src = m.v6PodLinkLocal(pod);
    const dst = m.v6CaliGatewaySolicited;
    const pseudo = sumIpv6(m.ipv6, src) + sumIpv6(m.ipv6, dst) + PROTO_ICMPV6 + len;
    put16(b, o + 2, foldChecksum(pseudo + sum16(b, o, len)));
    writeIpv6(b, 0, len, PROTO_ICMPV6, 255, 0, m.ipv6, src, m.ipv6, dst);
    this.innerLen = IPV6_HEADER_LEN + len;
    this.innerV6 = true;
    this.emitInner(this.now, FIRST_POD_IFINDEX + pod, ARPHRD_ETHER, PACKET_MULTICAST, m.macPod(pod), 0, K_MULTICAST);
  }

  // ----- sightings: SLL2 header + (encapsulation) + the inner packet ------------------------------

  /** Copy the inner packet to s.buf[o], lowering its TTL / hop limit by ttlDelta (forwarding). */
  private copyInner(s: Slot, o: number, ttlDelta: number): number {
    this.inner.copy(s.buf, o, 0, this.innerLen);
    if (ttlDelta !== 0) {
      if (this.innerV6) s.buf[o + 7] = s.buf[o + 7]! - ttlDelta;
      else {
        s.buf[o + 8] = s.buf[o + 8]! - ttlDelta;
        setIpv4Checksum(s.buf, o);
      }
    }
    return this.innerLen;
  }

  private emitInner(tsNs: number, ifindex: number, arphrd: number, packetType: number, mac: number, ttlDelta: number, kind: number): void {
    const s = this.slot(tsNs);
    const proto = this.innerV6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
    let o = writeSll2(s.buf, 0, proto, ifindex, arphrd, packetType, this.model.macs, mac);
    o += this.copyInner(s, o, ttlDelta);
    this.commit(s, o, kind);
  }

  /** eth0 sighting of an IPIP packet: outer IPv4 (proto 4, TTL 64, DF) around the inner packet. */
  private emitIpip(tsNs: number, packetType: number, mac: number, outerSrc: number, outerDst: number, ttlDelta: number, kind: number): void {
    const s = this.slot(tsNs);
    let o = writeSll2(s.buf, 0, ETHERTYPE_IPV4, IFINDEX_ETH0, ARPHRD_ETHER, packetType, this.model.macs, mac);
    o += writeIpv4(s.buf, o, IPV4_HEADER_LEN + this.innerLen, this.rng.below(65536), true, 64, PROTO_IPIP, outerSrc, outerDst);
    o += this.copyInner(s, o, ttlDelta);
    this.commit(s, o, kind);
  }

  /** eth0 sighting of a VXLAN packet: IPv4 / UDP 4789 (checksum 0, as Linux sends) / VXLAN / Ethernet / inner. */
  private emitVxlan(tsNs: number, f: Flow, kind: number): void {
    const m = this.model;
    const s = this.slot(tsNs);
    const b = s.buf;
    let o = writeSll2(b, 0, ETHERTYPE_IPV4, IFINDEX_ETH0, ARPHRD_ETHER, PACKET_HOST, m.macs, f.mac);
    const udpLen = UDP_HEADER_LEN + VXLAN_HEADER_LEN + ETHERNET_HEADER_LEN + this.innerLen;
    o += writeIpv4(b, o, IPV4_HEADER_LEN + udpLen, this.rng.below(65536), true, 64, PROTO_UDP, m.remoteNodeIpv4[f.node]!, NODE_IPV4);
    o += writeUdp(b, o, f.tunnelPort, VXLAN_PORT, udpLen);
    o += writeVxlan(b, o, VXLAN_VNI);
    o += writeEthernet(b, o, m.macs, m.macVxlanLocal, m.macRemoteVtep(f.node), ETHERTYPE_IPV4);
    o += this.copyInner(s, o, 0);
    this.commit(s, o, kind);
  }

  /** eth0 sighting of a tagged frame: SLL2 protocol 0x8100, then the tag (TCI, EtherType) and the packet. */
  private emitVlan(tsNs: number, vlan: number, kind: number): void {
    const s = this.slot(tsNs);
    let o = writeSll2(s.buf, 0, ETHERTYPE_VLAN, IFINDEX_ETH0, ARPHRD_ETHER, PACKET_OUTGOING, this.model.macs, this.model.macEth0);
    put16(s.buf, o, vlan & 0x0fff);
    put16(s.buf, o + 2, this.innerV6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
    o += 4;
    o += this.copyInner(s, o, 1);
    this.commit(s, o, kind);
  }

  // ----- time-ordered output ------------------------------------------------------------------------

  private slot(tsNs: number): Slot {
    const s = this.free.pop() ?? new Slot();
    s.tsNs = tsNs;
    s.order = this.order++;
    return s;
  }

  private commit(s: Slot, len: number, kind: number): void {
    s.origlen = len;
    s.caplen = len;
    if (this.rng.chance(this.cfg.truncateRate)) this.truncateDebt++;
    // Only packets longer than the short snap length can be cut; the debt carries the 5% over to them.
    if (this.truncateDebt > 0 && len > SHORT_SNAPLEN) {
      this.truncateDebt--;
      s.caplen = SHORT_SNAPLEN;
      this.truncated++;
    }
    this.packetsByKind[kind]!++;
    this.scheduled++;
    this.heapPush(s);
  }

  private drain(untilNs: number): void {
    const h = this.heap;
    while (h.length > 0 && h[0]!.tsNs <= untilNs) this.writeRecord(this.heapPop());
  }

  private writeRecord(s: Slot): void {
    if (this.outPos + PCAP_RECORD_HEADER_LEN + s.caplen > this.out.length) this.flush();
    const out = this.out;
    const sec = Math.floor(s.tsNs / 1e9);
    const p = this.outPos;
    out.writeUInt32LE(this.baseSec + sec, p);
    out.writeUInt32LE(s.tsNs - sec * 1e9, p + 4);
    out.writeUInt32LE(s.caplen, p + 8);
    out.writeUInt32LE(s.origlen, p + 12);
    s.buf.copy(out, p + PCAP_RECORD_HEADER_LEN, 0, s.caplen);
    this.outPos = p + PCAP_RECORD_HEADER_LEN + s.caplen;
    if (this.firstTsNs < 0) this.firstTsNs = s.tsNs;
    this.lastTsNs = s.tsNs;
    this.written++;
    this.free.push(s);
  }

  private writeFileHeader(): void {
    const out = this.out;
    out.writeUInt32LE(0xa1b23c4d, 0); // nanosecond-resolution magic
    out.writeUInt16LE(2, 4);
    out.writeUInt16LE(4, 6);
    out.writeInt32LE(0, 8);
    out.writeUInt32LE(0, 12);
    out.writeUInt32LE(FILE_SNAPLEN, 16);
    out.writeUInt32LE(LINKTYPE_LINUX_SLL2, 20);
    this.outPos = PCAP_FILE_HEADER_LEN;
  }

  private flush(): void {
    if (this.outPos === 0) return;
    this.cfg.writeChunk(this.out.subarray(0, this.outPos));
    this.fileBytes += this.outPos;
    this.outPos = 0;
  }

  private static before(a: Slot, b: Slot): boolean {
    return a.tsNs < b.tsNs || (a.tsNs === b.tsNs && a.order < b.order);
  }

  private heapPush(s: Slot): void {
    const h = this.heap;
    let i = h.length;
    h.push(s);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!Generator.before(s, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = s;
  }

  private heapPop(): Slot {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && Generator.before(h[r]!, h[l]!) ? r : l;
        if (!Generator.before(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  // ----- truth ---------------------------------------------------------------------------------------

  private iso(tsNs: number): string {
    return new Date(this.baseSec * 1000 + Math.floor(tsNs / 1e6)).toISOString();
  }

  private truth(): CaptureTruth {
    const byKind = (counts: Float64Array): Record<TrafficKind, number> => {
      const r = {} as Record<TrafficKind, number>;
      TRAFFIC_KINDS.forEach((k, i) => {
        r[k] = counts[i]!;
      });
      return r;
    };
    const groups: DropGroupTruth[] = [];
    let vanished = 0;
    let replies = 0;
    for (const v of this.victims) {
      if (v.packets === 0) continue;
      const f = v.flow;
      vanished += v.packets;
      replies += v.replies;
      const icmp = f.proto === PROTO_ICMP;
      groups.push({
        src: formatIpv4(f.src),
        dst: formatIpv4(f.dst),
        proto: icmp ? 'icmp' : f.proto === PROTO_TCP ? 'tcp' : 'udp',
        sport: icmp ? null : f.sport,
        dport: icmp ? null : f.dport,
        packets: v.packets,
        iface: 'tunl0',
        asymmetricReplies: v.replies,
        expectedVerdict: v.replies > 0 ? 'reverse-path' : 'vanished',
        firstSeen: this.iso(v.firstNs),
        lastSeen: this.iso(v.lastNs),
      });
    }
    groups.sort((a, b) => b.packets - a.packets || (a.src < b.src ? -1 : a.src > b.src ? 1 : 0));
    const m = this.model;
    return {
      format: TRUTH_FORMAT,
      generator: {
        version: GENERATOR_VERSION,
        seed: this.cfg.seed,
        packets: this.cfg.packets,
        packetsPerSecond: this.cfg.packetsPerSecond,
        startTimeMs: this.cfg.startTimeMs,
        magic: 'a1b23c4d',
        linkType: LINKTYPE_LINUX_SLL2,
        snapLen: FILE_SNAPLEN,
        truncatedSnapLen: SHORT_SNAPLEN,
        truncateRate: this.cfg.truncateRate,
      },
      file: {
        bytes: this.fileBytes,
        firstPacket: this.iso(this.firstTsNs),
        lastPacket: this.iso(this.lastTsNs),
        captureSeconds: (this.lastTsNs - this.firstTsNs) / 1e9,
      },
      node: {
        name: NODE_NAME,
        ownAddresses: [NODE_IPV4, TUNL0_IPV4, VXLAN_IPV4, LOOPBACK_IPV4].map(formatIpv4),
        interfaces: m.interfaces,
      },
      ifnameArgs: m.ifnameArgs(),
      packets: { total: this.written, truncated: this.truncated, byKind: byKind(this.packetsByKind) },
      innerPackets: { byKind: byKind(this.eventsByKind) },
      vanished: {
        innerPackets: vanished,
        sightings: 2 * vanished,
        asymmetricReplyPackets: replies,
        groups,
      },
    };
  }
}

/**
 * DNS names in wire format (length-prefixed labels, root label last), concatenated; offsets[i] is
 * where name i starts and offsets[last] the end. Service names of a cluster, plus mDNS service types.
 */
function buildDnsNames(offsets: number[]): Uint8Array {
  const services = ['api', 'web', 'auth', 'cart', 'users', 'orders', 'search', 'redis', 'postgres', 'kafka', 'metrics', 'grafana'];
  const namespaces = ['default', 'shop', 'payments', 'monitoring', 'kube-system', 'data'];
  const names: string[] = [];
  for (const ns of namespaces) for (const svc of services) for (let i = 0; i < 8; i++) names.push(`${svc}-${i}.${ns}.svc.cluster.local`);
  // The last MDNS_NAME_COUNT names are mDNS service types.
  names.push('_services._dns-sd._udp.local', '_http._tcp.local', '_workstation._tcp.local');
  const bytes: number[] = [];
  for (const n of names) {
    offsets.push(bytes.length);
    for (const label of n.split('.')) {
      bytes.push(label.length);
      for (let i = 0; i < label.length; i++) bytes.push(label.charCodeAt(i));
    }
    bytes.push(0);
  }
  offsets.push(bytes.length);
  return Uint8Array.from(bytes);
}
