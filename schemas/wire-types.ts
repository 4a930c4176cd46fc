/**
 * The wire contract (schemas/pathwatch.proto) as TypeScript sees it: the exact object shapes the
 * pbf-compiled readers return and the writers accept (schemas/wire-codec.ts), so agent and
 * collector code can build and read batches without touching protobuf.
 *
 * Field names are the .proto names verbatim, snake_case (pbf does not camelCase them). How pbf maps
 * proto3 types:
 * - 32- and 64-bit integers are JS numbers; 64-bit values above 2^53 lose precision (ours are
 *   counters and epoch milliseconds, far below that). int32/int64 keep their sign (-1 = none).
 * - strings, numbers and bools default to ''/0/false, repeated fields to [], maps to {}.
 * - bytes and message fields are undefined when absent (the reader sets the key to undefined), so
 *   they are optional here; an empty Uint8Array is still sent, undefined is not.
 * - enums are numbers; proto3 enums are open, so an unknown value arrives as its number.
 * Field numbers live only in the .proto; keep these names in step with it (the codec tests check).
 */

/**
 * The times (ms since the epoch) a collector accepts in a batch: from 2000 to 2200. Anything else is
 * a broken clock or a hostile value, and the store's day partitions and retention assume it.
 */
export const STORED_TIMES_MS = { from: 946_684_800_000, until: 7_258_118_400_000 } as const;

/** pathwatch.v1.Direction (the codec checks at load time that these values match the schema). */
export enum WireDirection {
  DIRECTION_UNKNOWN = 0,
  DIRECTION_IN = 1,
  DIRECTION_OUT = 2,
}

/** One POST; (agent_id, boot_id, sequence) identifies it. */
export interface WireBatch {
  agent_id: string;
  boot_id: string;
  sequence: number;
  node: string;
  sent_at_ms: number;
  flows: WireFlowRecord[];
  vanished: WireVanishedGroup[];
  kernel_drops: WireKernelDrop[];
  cross_node: WireCrossNodeHop[];
  capture?: WireCaptureHealth;
  loss?: WireLossReport;
  status?: WireNodeStatus;
  /** "replay" for `pathwatch replay --collector`; '' for a live agent. */
  source: string;
  knowledge?: WireNodeKnowledge;
  counters?: WireNodeCounters;
  capture_loss: WireCaptureLossSpan[];
  /** 0 when the batch does not say. */
  covered_until_ms: number;
  covers_all_interfaces: boolean;
}

export interface WireFlowRecord {
  iface: string;
  direction: WireDirection;
  /** 4 or 16 bytes. */
  src?: Uint8Array;
  dst?: Uint8Array;
  proto: number;
  sport: number;
  dport: number;
  /** none, ipip, vxlan, geneve, gre, erspan */
  encap: string;
  outer_src?: Uint8Array;
  outer_dst?: Uint8Array;
  /** -1 when none. */
  vni: number;
  packets: number;
  bytes: number;
  first_seen_ms: number;
  last_seen_ms: number;
}

export interface WireHop {
  node: string;
  iface: string;
  /** tunnel, pod, uplink, loopback, other */
  role: string;
  direction: WireDirection;
  direction_source: string;
  ts_ms: number;
  encap: string;
  /** Text addresses here (unlike WireFlowRecord's bytes). */
  outer_src: string;
  outer_dst: string;
  /** -1 when none. */
  vni: number;
  ttl: number;
  length: number;
}

export interface WireVanishedGroup {
  iface: string;
  role: string;
  src: string;
  dst: string;
  proto: number;
  /** -1 where the protocol has none. */
  sport: number;
  dport: number;
  /** Packets new since this group was last sent (a group is re-sent as it grows). */
  packets: number;
  first_seen_ms: number;
  last_seen_ms: number;
  fingerprints: string[];
  path: WireHop[];
  /** No longer written or read (the collector judges). */
  expected_exit: string;
  /** No longer written or read (the collector judges). */
  reverse_exits: string[];
  kernel?: WireKernelEvidence;
  /** The first bytes of the first packet as captured. */
  first_bytes?: Uint8Array;
  /** LINKTYPE of first_bytes. */
  link_type: number;
  /** That packet's length on the wire. */
  first_orig_len: number;
  /** When that packet arrived (ms since the epoch). */
  first_bytes_ts_ms: number;
  direction_uncertain: boolean;
  /** aa:bb:cc:dd:ee:ff, or '' when none. */
  arrival_mac_src: string;
  arrival_mac_dst: string;
}

export interface WireNodeKnowledge {
  own_addresses: string[];
  locations: { address: string; iface: string }[];
  exits: { src: string; dst: string; ifaces: string[] }[];
  own_macs: { iface: string; mac: string }[];
}

export interface WireNodeCounters {
  packets: number;
  sightings: number;
  forwarded: number;
  originated: number;
  direction_unknown: number;
  not_unicast: number;
  truncated_unjudged: number;
  capture_ended_unjudged: number;
  local: number;
  vanish_candidates: number;
  vanished_groups_overflow: number;
}

export interface WireCaptureLossSpan {
  from_ms: number;
  until_ms: number;
  packets: number;
}

export interface WireKernelEvidence {
  /** map<string, uint32>: drop reason name -> count. */
  drop_reasons: Record<string, number>;
  has_rp_filter: boolean;
  rp_filter_all: number;
  rp_filter_iface: number;
  rp_filter_effective: number;
  /** -1 when unknown. */
  rp_filter_counter_delta: number;
  route_back_iface: string;
  route_check_error: string;
  /** map<string, string>: drop reason name -> where the kernel freed the packets (symbol+offset). */
  drop_locations: Record<string, string>;
  has_forwarding: boolean;
  forwarding_all: number;
  forwarding_iface: number;
  /** '' when not read; 'none' when no route matches. */
  route_type: string;
  route_dst: string;
  route_dev: string;
  route_via: string;
  netfilter_rules: WireNetfilterRuleGrowth[];
  /** -1 when unknown. */
  conntrack_invalid_delta: number;
  /** '' when not read. */
  mtu_exit_iface: string;
  mtu_exit: number;
  /** '' when the exit is the uplink or it is unknown. */
  mtu_underlay_iface: string;
  mtu_underlay: number;
  /** 0 when unknown. */
  mtu_packet_length: number;
  /** 0 unknown, 1 clear, 2 set. */
  mtu_dont_fragment: number;
  /** -1 when unknown. */
  mtu_frag_fails_delta: number;
  /** '' when not read. */
  neighbour_address: string;
  neighbour_dev: string;
  neighbour_state: string;
  /** 0 unknown, 1 no carrier, 2 carrier. */
  neighbour_carrier: number;
}

export interface WireNetfilterRuleGrowth {
  table: string;
  chain: string;
  /** As iptables-save prints it, without counters. */
  rule: string;
  packets: number;
}

export interface WireKernelDrop {
  reason: string;
  ifindex: number;
  src: string;
  dst: string;
  proto: number;
  sport: number;
  dport: number;
  ts_ms: number;
}

export interface WireCrossNodeHop {
  fingerprint: string;
  /** true: left this node encapsulated; false: arrived encapsulated. */
  departure: boolean;
  outer_peer: string;
  ts_ms: number;
  path: WireHop[];
  src: string;
  dst: string;
  proto: number;
  sport: number;
  dport: number;
}

export interface WireCaptureHealth {
  received: number;
  dropped_by_kernel: number;
  dropped_by_interface: number;
  ebpf_monitor: boolean;
  ebpf_unavailable_reason: string;
  truncated_unjudged: number;
  /** Drop events the monitor's ring buffer had no room for (running total). */
  ebpf_events_lost: number;
}

export interface WireLossReport {
  batches_dropped: number;
  bytes_dropped: number;
}

/** What the node looks like to its agent (sent with the flow batches). */
export interface WireNodeStatus {
  interfaces: WireInterfaceStatus[];
  /** The node's own addresses. */
  addresses: string[];
  agent_version: string;
  /** The kernel's drops since the agent started, per reason and interface. */
  kernel_drops: WireKernelDropTally[];
}

export interface WireKernelDropTally {
  reason: string;
  /** '' when the kernel named no device. */
  iface: string;
  drops: number;
  /** Of those, matched by fingerprint to packets of a vanished group on that interface. */
  matched: number;
}

export interface WireInterfaceStatus {
  name: string;
  /** tunnel, pod, uplink, loopback, other */
  role: string;
  packets: number;
  bytes: number;
}
