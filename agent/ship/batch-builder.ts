/**
 * From what the agent knows to what it ships, as wire messages (schemas/pathwatch.proto): flow
 * records, its findings (vanish candidates with the kernel's evidence, the knowledge to judge them,
 * counters, tunnel hops, capture loss), and kernel drop events.
 */
import { parseAddress } from '../../core/net/address.js';
import type { DirectionName, FlowRecord } from '../../core/findings/flow-record.js';
import type { Hop } from '../../core/findings/hop.js';
import type { KernelEvidence } from '../../core/findings/kernel-evidence.js';
import type { CaptureLossSpan, NodeCounters, NodeKnowledgeFacts, TunnelArrival, TunnelDeparture, VanishCandidate } from '../../core/findings/node-findings.js';
import {
  WireDirection,
  type WireCaptureLossSpan,
  type WireCrossNodeHop,
  type WireFlowRecord,
  type WireHop,
  type WireKernelEvidence,
  type WireNodeCounters,
  type WireNodeKnowledge,
  type WireVanishedGroup,
} from '../../schemas/wire-types.js';

const scratch = new Uint32Array(4);

/** Address text to its 4 or 16 network-order bytes (empty for no address). */
export function addressBytes(text: string): Uint8Array {
  const v = parseAddress(text, scratch);
  if (v === 0) return new Uint8Array(0);
  const n = v === 4 ? 1 : 4;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const w = scratch[i] as number;
    out[i * 4] = w >>> 24;
    out[i * 4 + 1] = (w >>> 16) & 255;
    out[i * 4 + 2] = (w >>> 8) & 255;
    out[i * 4 + 3] = w & 255;
  }
  return out;
}

export function wireDirection(d: DirectionName): WireDirection {
  return d === 'in' ? WireDirection.DIRECTION_IN : d === 'out' ? WireDirection.DIRECTION_OUT : WireDirection.DIRECTION_UNKNOWN;
}

export function wireFlow(r: FlowRecord): WireFlowRecord {
  return {
    iface: r.iface,
    direction: wireDirection(r.direction),
    src: addressBytes(r.src),
    dst: addressBytes(r.dst),
    proto: r.proto,
    sport: r.sport,
    dport: r.dport,
    encap: r.encap,
    outer_src: addressBytes(r.outerSrc),
    outer_dst: addressBytes(r.outerDst),
    vni: r.vni,
    packets: r.packets,
    bytes: r.bytes,
    first_seen_ms: r.firstSeen,
    last_seen_ms: r.lastSeen,
  };
}

export function wireHop(h: Hop): WireHop {
  return {
    node: h.node,
    iface: h.iface,
    role: h.role,
    direction: wireDirection(h.direction),
    direction_source: h.directionSource,
    ts_ms: h.ts,
    encap: h.encap,
    outer_src: h.outerSrc ?? '',
    outer_dst: h.outerDst ?? '',
    vni: h.vni ?? -1,
    ttl: h.ttl,
    length: h.length,
  };
}

export function wireEvidence(k: KernelEvidence): WireKernelEvidence {
  return {
    drop_reasons: { ...(k.dropReasons ?? {}) },
    has_rp_filter: k.rpFilter !== undefined,
    rp_filter_all: k.rpFilter?.all ?? 0,
    rp_filter_iface: k.rpFilter?.iface ?? 0,
    rp_filter_effective: k.rpFilter?.effective ?? 0,
    rp_filter_counter_delta: k.rpFilterCounterDelta ?? -1,
    route_back_iface: k.routeBackIface ?? '',
    route_check_error: k.routeCheckError ?? '',
    drop_locations: { ...(k.dropLocations ?? {}) },
    has_forwarding: k.forwarding !== undefined,
    forwarding_all: k.forwarding?.all ?? 0,
    forwarding_iface: k.forwarding?.iface ?? 0,
    route_type: k.route?.type ?? '',
    route_dst: k.route?.dst ?? '',
    route_dev: k.route?.dev ?? '',
    route_via: k.route?.via ?? '',
    netfilter_rules: (k.netfilterRules ?? []).map((r) => ({ table: r.table, chain: r.chain, rule: r.rule, packets: r.packets })),
    conntrack_invalid_delta: k.conntrackInvalidDelta ?? -1,
    mtu_exit_iface: k.mtu?.exitIface ?? '',
    mtu_exit: k.mtu?.exitMtu ?? 0,
    mtu_underlay_iface: k.mtu?.underlayIface ?? '',
    mtu_underlay: k.mtu?.underlayMtu ?? 0,
    mtu_packet_length: k.mtu?.packetLength ?? 0,
    mtu_dont_fragment: k.mtu?.dontFragment === undefined || k.mtu.dontFragment === null ? 0 : k.mtu.dontFragment ? 2 : 1,
    mtu_frag_fails_delta: k.mtu?.fragFailsDelta ?? -1,
    neighbour_address: k.neighbour?.address ?? '',
    neighbour_dev: k.neighbour?.dev ?? '',
    neighbour_state: k.neighbour?.state ?? '',
    neighbour_carrier: k.neighbour?.carrier === undefined || k.neighbour.carrier === null ? 0 : k.neighbour.carrier ? 2 : 1,
  };
}

/** A vanish candidate as the wire carries it (the collector judges it with the batch's knowledge). */
export function wireCandidate(c: VanishCandidate): WireVanishedGroup {
  const id = c.identity;
  return {
    iface: c.iface,
    role: c.role,
    src: id.src,
    dst: id.dst,
    proto: id.proto,
    sport: id.sport ?? -1,
    dport: id.dport ?? -1,
    packets: c.packets,
    first_seen_ms: c.firstSeen,
    last_seen_ms: c.lastSeen,
    fingerprints: [...c.fingerprints],
    path: [...c.upstreamPath, ...c.path].map(wireHop),
    expected_exit: '',
    reverse_exits: [],
    ...(c.kernel ? { kernel: wireEvidence(c.kernel) } : {}),
    ...(c.sample ? { first_bytes: c.sample.bytes } : {}),
    link_type: c.sample?.linkType ?? 0,
    first_orig_len: c.sample?.origLen ?? 0,
    first_bytes_ts_ms: c.sample?.ts ?? 0,
    direction_uncertain: c.directionUncertain,
    arrival_mac_src: c.arrivalMacSrc ?? '',
    arrival_mac_dst: c.arrivalMacDst ?? '',
  };
}

export function wireKnowledge(k: NodeKnowledgeFacts): WireNodeKnowledge {
  return {
    own_addresses: [...k.ownAddresses],
    locations: k.locations.map((l) => ({ address: l.address, iface: l.iface })),
    exits: k.exits.map((e) => ({ src: e.src, dst: e.dst, ifaces: [...e.ifaces] })),
    own_macs: k.ownMacs.map((m) => ({ iface: m.iface, mac: m.mac })),
  };
}

export function wireCounters(c: NodeCounters): WireNodeCounters {
  return {
    packets: c.packets,
    sightings: c.sightings,
    forwarded: c.forwarded,
    originated: c.originated,
    direction_unknown: c.directionUnknown,
    not_unicast: c.notUnicast,
    truncated_unjudged: c.truncatedUnjudged,
    capture_ended_unjudged: c.captureEndedUnjudged,
    local: c.local,
    vanish_candidates: c.vanishCandidates,
    vanished_groups_overflow: c.vanishedGroupsOverflow,
  };
}

export function wireCaptureLoss(spans: readonly CaptureLossSpan[]): WireCaptureLossSpan[] {
  return spans.map((s) => ({ from_ms: s.from, until_ms: s.until, packets: s.packets }));
}

/** Encapsulated departures and arrivals, for the collector's stitching across nodes. */
export function wireTunnelHops(departures: readonly TunnelDeparture[], arrivals: readonly TunnelArrival[]): WireCrossNodeHop[] {
  return [
    ...departures.map((d) => ({
      fingerprint: d.fingerprint,
      departure: true,
      outer_peer: d.outerDst,
      ts_ms: d.ts,
      path: d.path.map(wireHop),
      src: d.identity.src,
      dst: d.identity.dst,
      proto: d.identity.proto,
      sport: d.identity.sport ?? -1,
      dport: d.identity.dport ?? -1,
    })),
    ...arrivals.map((a) => ({ fingerprint: a.fingerprint, departure: false, outer_peer: a.outerSrc, ts_ms: a.ts, path: [], src: '', dst: '', proto: 0, sport: -1, dport: -1 })),
  ];
}

