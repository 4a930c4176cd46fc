/**
 * From the wire shapes (schemas/pathwatch.proto, snake_case) to the domain shapes the judgement
 * core and the store use: a batch becomes the node's findings (NodeFindings, the seam's data, as
 * the engine makes it in process) and flow rows. Everything from an agent is untrusted: strings are
 * bounded, addresses are re-parsed and re-formatted, numbers are checked; what cannot be made sense
 * of is rejected with a one-line reason (the batch gets a 400).
 */
import { formatIpv6Groups } from '../../core/net/address.js';
import { canonicalIpText } from '../store/ip-address.js';
import type { Hop, PacketIdentity } from '../../core/findings/hop.js';
import { emptyCounters, type CaptureLossSpan, type NodeCounters, type NodeFindings, type NodeKnowledgeFacts, type TunnelArrival, type TunnelDeparture, type VanishCandidate } from '../../core/findings/node-findings.js';
import type { DirectionName } from '../../core/findings/flow-record.js';
import type { InterfaceRole } from '../../core/findings/interface-roles.js';
import { netfilterRuleProblem, type KernelEvidence, type MtuEvidence, type NeighbourEvidence } from '../../core/findings/kernel-evidence.js';
import { isIP } from 'node:net';
import {
  WireDirection,
  type WireBatch,
  type WireCaptureHealth,
  type WireCaptureLossSpan,
  type WireFlowRecord,
  type WireHop,
  type WireKernelDrop,
  type WireKernelDropTally,
  type WireKernelEvidence,
  type WireNodeCounters,
  type WireNodeKnowledge,
  type WireVanishedGroup,
  STORED_TIMES_MS,
} from '../../schemas/wire-types.js';
import type { HopDirection, RowSource, StoredFlow, StoredHop } from '../store/storage.js';

/** A batch whose content makes no sense (400). */
export class WireContentError extends Error {
  override name = 'WireContentError';
}

const MAX_NAME = 256;
const ROLES: readonly InterfaceRole[] = ['tunnel', 'pod', 'uplink', 'loopback', 'other'];
const ENCAPS = new Set(['none', 'ipip', 'vxlan', 'geneve', 'gre', 'erspan']);
const DIRECTION_SOURCES = new Set(['pcapng-flags', 'linux-packet-type', 'learned-mac', 'addresses', 'hop-order', 'unknown']);

/** A node or interface name: printable, bounded. */
export function checkedName(what: string, value: string): string {
  if (value.length === 0 || value.length > MAX_NAME || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new WireContentError(`${what} must be 1-${MAX_NAME} printable characters`);
  }
  return value;
}

/** An IP address in canonical text form (IPv6 compressed, lower case). */
export function checkedAddress(what: string, value: string): string {
  const canonical = canonicalIpText(value);
  if (canonical === undefined) throw new WireContentError(`${what} is not an IP address`);
  return canonical;
}

/** 4 or 16 bytes to text. */
export function addressFromBytes(what: string, bytes: Uint8Array | undefined): string {
  if (bytes?.length === 4) return bytes.join('.');
  if (bytes?.length === 16) {
    const groups: number[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
    return formatIpv6Groups(groups);
  }
  throw new WireContentError(`${what} must be 4 or 16 bytes`);
}

function optionalAddress(what: string, value: string | Uint8Array | undefined): string {
  if (value === undefined || value === '' || (value instanceof Uint8Array && value.length === 0)) return '';
  return typeof value === 'string' ? checkedAddress(what, value) : addressFromBytes(what, value);
}

function checkedTime(what: string, ms: number): number {
  if (!Number.isFinite(ms) || ms < STORED_TIMES_MS.from || ms > STORED_TIMES_MS.until) throw new WireContentError(`${what} is not a plausible time`);
  return ms;
}

function checkedCount(what: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new WireContentError(`${what} must be a non-negative integer`);
  return n;
}

function checkedPort(what: string, n: number): number | null {
  if (n === -1) return null;
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new WireContentError(`${what} must be a port or -1`);
  return n;
}

function role(value: string): InterfaceRole {
  return (ROLES as readonly string[]).includes(value) ? (value as InterfaceRole) : 'other';
}

function direction(d: number): DirectionName {
  return d === WireDirection.DIRECTION_IN ? 'in' : d === WireDirection.DIRECTION_OUT ? 'out' : 'unknown';
}

export function hopFromWire(h: WireHop): Hop {
  return {
    node: checkedName('hop node', h.node),
    iface: checkedName('hop iface', h.iface),
    role: role(h.role),
    direction: direction(h.direction),
    directionSource: (DIRECTION_SOURCES.has(h.direction_source) ? h.direction_source : 'unknown') as Hop['directionSource'],
    ts: checkedTime('hop ts_ms', h.ts_ms),
    encap: ENCAPS.has(h.encap) ? h.encap : 'none',
    outerSrc: optionalAddress('hop outer_src', h.outer_src) || null,
    outerDst: optionalAddress('hop outer_dst', h.outer_dst) || null,
    vni: h.vni >= 0 && h.vni < 1 << 24 ? h.vni : null,
    ttl: h.ttl & 0xff,
    length: checkedCount('hop length', h.length),
  };
}

export function storedHop(h: Hop): StoredHop {
  return {
    node: h.node,
    iface: h.iface,
    role: h.role,
    direction: h.direction,
    // The store keeps milliseconds; the path's order is the order of its hops.
    tsMs: Math.round(h.ts),
    encap: h.encap,
    outerSrc: h.outerSrc ?? '',
    outerDst: h.outerDst ?? '',
    vni: h.vni ?? -1,
    ttl: h.ttl,
    length: h.length,
  };
}

/** A kernel drop reason's name as the kernel spells it (SKB_DROP_REASON_ without its prefix). */
const KERNEL_REASON = /^[A-Z0-9_]{1,64}$/;
/**
 * Distinct reasons per group: the kernel has some 120, and a group's packets meet few of them; the
 * bound keeps a hostile map from making objects by the thousand.
 */
const MAX_KERNEL_REASONS = 256;
/** `symbol+0xoffset` (kallsyms names reach 512 bytes on new kernels, but ours are far shorter) or an address. */
const MAX_LOCATION = 256;
/** Netfilter rules per group (the agent sends the 8 that grew most) and a rule's text. */
const MAX_NETFILTER_RULES = 16;

function checkedNetfilterRule(table: string, chain: string, rule: string): { table: string; chain: string; rule: string } {
  const problem = netfilterRuleProblem(table, chain, rule);
  if (problem !== null) throw new WireContentError(problem);
  return { table, chain, rule };
}

/** A one-line printable text of 1 to `max` characters (shown in evidence and remedies as it is). */
function checkedLine(what: string, text: string, max: number): string {
  if (text.length === 0 || text.length > max || /[\u0000-\u001f\u007f]/.test(text)) throw new WireContentError(`${what} must be 1-${max} printable characters`);
  return text;
}

/**
 * An interface name that goes into a remedy's command line: what Linux allows (at most 15
 * characters) narrowed to characters no shell reads as anything but a word.
 */
function checkedRemedyIfname(what: string, value: string): string {
  if (!/^[A-Za-z0-9_.@+-]{1,15}$/.test(value)) throw new WireContentError(`${what} must be an interface name (1-15 of A-Z a-z 0-9 _ . @ + -)`);
  return value;
}

/** An MTU as Linux allows one (68 to 65535 for IPv4; 0 is never sent for a read value). */
function checkedMtu(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 68 || n > 65535) throw new WireContentError(`${what} must be an MTU (68-65535)`);
  return n;
}

function mtuFromWire(k: WireKernelEvidence): MtuEvidence | undefined {
  if (k.mtu_exit_iface === '') return undefined;
  const underlay = k.mtu_underlay_iface === '' ? null : checkedRemedyIfname('mtu_underlay_iface', k.mtu_underlay_iface);
  if (k.mtu_packet_length > 65535) throw new WireContentError('mtu_packet_length must be an IPv4 total length (0-65535)');
  if (k.mtu_dont_fragment > 2) throw new WireContentError('mtu_dont_fragment must be 0, 1 or 2');
  return {
    exitIface: checkedRemedyIfname('mtu_exit_iface', k.mtu_exit_iface),
    exitMtu: checkedMtu('mtu_exit', k.mtu_exit),
    underlayIface: underlay,
    underlayMtu: underlay === null ? null : checkedMtu('mtu_underlay', k.mtu_underlay),
    packetLength: k.mtu_packet_length === 0 ? null : k.mtu_packet_length,
    dontFragment: k.mtu_dont_fragment === 0 ? null : k.mtu_dont_fragment === 2,
    fragFailsDelta: k.mtu_frag_fails_delta >= 0 ? checkedCount('mtu_frag_fails_delta', k.mtu_frag_fails_delta) : null,
  };
}

const NEIGHBOUR_STATE = /^(?:none|[A-Z_]{1,16})$/;

function neighbourFromWire(k: WireKernelEvidence): NeighbourEvidence | undefined {
  if (k.neighbour_state === '') return undefined;
  if (!NEIGHBOUR_STATE.test(k.neighbour_state)) throw new WireContentError('neighbour_state must be an iproute2 state name (A-Z, _) or none');
  if (isIP(k.neighbour_address) === 0) throw new WireContentError('neighbour_address must be an IP address');
  if (k.neighbour_carrier > 2) throw new WireContentError('neighbour_carrier must be 0, 1 or 2');
  return {
    address: k.neighbour_address,
    dev: checkedRemedyIfname('neighbour_dev', k.neighbour_dev),
    state: k.neighbour_state,
    carrier: k.neighbour_carrier === 0 ? null : k.neighbour_carrier === 2,
  };
}

export function kernelEvidenceFromWire(k: WireKernelEvidence | undefined): KernelEvidence | undefined {
  if (!k) return undefined;
  const dropReasons: Record<string, number> = {};
  const reasons = Object.entries(k.drop_reasons);
  if (reasons.length > MAX_KERNEL_REASONS) throw new WireContentError(`kernel drop reasons: at most ${MAX_KERNEL_REASONS}`);
  for (const [reason, n] of reasons) {
    if (!KERNEL_REASON.test(reason)) throw new WireContentError('kernel drop reasons must be kernel names (A-Z, 0-9, _)');
    dropReasons[reason] = checkedCount('kernel drop reason count', n);
  }
  const dropLocations: Record<string, string> = {};
  const locations = Object.entries(k.drop_locations);
  if (locations.length > MAX_KERNEL_REASONS) throw new WireContentError(`kernel drop locations: at most ${MAX_KERNEL_REASONS}`);
  for (const [reason, where] of locations) {
    if (!KERNEL_REASON.test(reason)) throw new WireContentError('kernel drop locations must be keyed by kernel reason names (A-Z, 0-9, _)');
    // Shown in evidence lines and the UI as they are: printable, one line, bounded.
    if (where.length === 0 || where.length > MAX_LOCATION || /[\u0000-\u001f\u007f]/.test(where)) {
      throw new WireContentError(`kernel drop locations must be 1-${MAX_LOCATION} printable characters`);
    }
    dropLocations[reason] = where;
  }
  const rpFilterValue = (n: number): number => (n >= 0 && n <= 2 ? n : 0);
  if (k.netfilter_rules.length > MAX_NETFILTER_RULES) throw new WireContentError(`kernel netfilter rules: at most ${MAX_NETFILTER_RULES}`);
  const netfilterRules = k.netfilter_rules.map((r) => ({
    ...checkedNetfilterRule(r.table, r.chain, r.rule),
    packets: checkedCount('netfilter rule packets', r.packets),
  }));
  const route =
    k.route_type === ''
      ? undefined
      : {
          type: checkedLine('route type', k.route_type, 16),
          dst: k.route_dst === '' ? '' : checkedLine('route dst', k.route_dst, 64),
          dev: k.route_dev === '' ? null : checkedName('route dev', k.route_dev),
          via: k.route_via === '' ? null : checkedLine('route via', k.route_via, 64),
        };
  const conntrackInvalidDelta = k.conntrack_invalid_delta >= 0 ? checkedCount('conntrack_invalid_delta', k.conntrack_invalid_delta) : undefined;
  const mtu = mtuFromWire(k);
  const neighbour = neighbourFromWire(k);
  return {
    dropReasons,
    ...(conntrackInvalidDelta !== undefined ? { conntrackInvalidDelta } : {}),
    ...(mtu ? { mtu } : {}),
    ...(neighbour ? { neighbour } : {}),
    ...(k.has_forwarding ? { forwarding: { all: k.forwarding_all === 0 ? 0 : 1, iface: k.forwarding_iface === 0 ? 0 : 1 } } : {}),
    ...(route ? { route } : {}),
    ...(netfilterRules.length > 0 ? { netfilterRules } : {}),
    ...(locations.length > 0 ? { dropLocations } : {}),
    ...(k.has_rp_filter ? { rpFilter: { all: rpFilterValue(k.rp_filter_all), iface: rpFilterValue(k.rp_filter_iface), effective: rpFilterValue(k.rp_filter_effective) } } : {}),
    ...(k.rp_filter_counter_delta >= 0 ? { rpFilterCounterDelta: checkedCount('rp_filter_counter_delta', k.rp_filter_counter_delta) } : {}),
    ...(k.route_back_iface ? { routeBackIface: checkedName('route_back_iface', k.route_back_iface) } : {}),
    ...(k.route_check_error ? { routeCheckError: k.route_check_error.slice(0, 512).replace(/[\u0000-\u001f\u007f]/g, ' ') } : {}),
  };
}

/**
 * A kernel drop event as the eBPF monitor of an agent before issue 15 read it (newer agents send
 * tallies in their status instead). Only counted, but checked like every other record so that
 * nothing unchecked reaches the store or a metric later.
 */
export function checkKernelDrop(d: WireKernelDrop): void {
  if (!KERNEL_REASON.test(d.reason)) throw new WireContentError('kernel drop reason must be a kernel name (A-Z, 0-9, _)');
  if (!Number.isInteger(d.ifindex) || d.ifindex < 0 || d.ifindex > 0xffff_ffff) throw new WireContentError('kernel drop ifindex must be 0-4294967295');
  optionalAddress('kernel drop src', d.src);
  optionalAddress('kernel drop dst', d.dst);
  if (!Number.isInteger(d.proto) || d.proto < 0 || d.proto > 255) throw new WireContentError('kernel drop proto must be 0-255');
  for (const port of [d.sport, d.dport]) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new WireContentError('kernel drop ports must be 0-65535');
  }
  checkedTime('kernel drop ts_ms', d.ts_ms);
}

/** The kernel's drops on one interface for one reason since the agent started ('' when no device). */
export interface KernelDropTally {
  readonly reason: string;
  readonly iface: string;
  readonly drops: number;
  /** Of those, matched by fingerprint to packets of a vanished group on that interface. */
  readonly matched: number;
}

/** Tallies kept per status, as many as interfaces: agents keep at most 4096 (reason, device) pairs. */
const MAX_TALLIES = 4096;

/**
 * A node's kernel drop tallies. Reasons become metric labels, so they must be kernel names; beyond
 * MAX_TALLIES the rest is cut, as for interfaces, rather than the batch (its flows and drops) refused.
 */
export function kernelDropTalliesFromWire(tallies: readonly WireKernelDropTally[]): KernelDropTally[] {
  return tallies.slice(0, MAX_TALLIES).map((t) => {
    if (!KERNEL_REASON.test(t.reason)) throw new WireContentError('kernel drop tally reasons must be kernel names (A-Z, 0-9, _)');
    return {
      reason: t.reason,
      iface: t.iface.slice(0, MAX_NAME),
      drops: checkedCount('kernel drop tally drops', t.drops),
      matched: checkedCount('kernel drop tally matched', t.matched),
    };
  });
}

/** The capture health as the agent sent it; its running total of lost kernel drop events must be a count. */
export function captureHealthFromWire(c: WireCaptureHealth): WireCaptureHealth {
  return { ...c, ebpf_events_lost: checkedCount('capture ebpf_events_lost', c.ebpf_events_lost) };
}

/** Bounds on what one batch may hold beyond its records (knowledge facts, loss spans). */
const MAX_FACTS = 4096;
const MAX_LOSS_SPANS = 256;
const MAX_PATH_HOPS = 64;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function optionalMac(what: string, value: string): string | null {
  if (value === '') return null;
  if (!MAC.test(value)) throw new WireContentError(`${what} must be a MAC address (aa:bb:cc:dd:ee:ff)`);
  return value;
}

function bounded<T>(what: string, list: readonly T[], max: number): readonly T[] {
  if (list.length > max) throw new WireContentError(`${what}: at most ${max}`);
  return list;
}

/** One vanish candidate of the node; its path's hops on other nodes are the ones it borrowed upstream. */
export function candidateFromWire(node: string, v: WireVanishedGroup): VanishCandidate {
  const src = checkedAddress('vanished src', v.src);
  const dst = checkedAddress('vanished dst', v.dst);
  if (!Number.isInteger(v.proto) || v.proto < 0 || v.proto > 255) throw new WireContentError('vanished proto must be 0-255');
  const identity: PacketIdentity = {
    ipVersion: src.includes(':') ? 6 : 4,
    src,
    dst,
    proto: v.proto,
    sport: checkedPort('vanished sport', v.sport),
    dport: checkedPort('vanished dport', v.dport),
  };
  const firstSeen = checkedTime('vanished first_seen_ms', v.first_seen_ms);
  const lastSeen = checkedTime('vanished last_seen_ms', v.last_seen_ms);
  if (lastSeen < firstSeen) throw new WireContentError('vanished last_seen_ms is before first_seen_ms');
  const path = bounded('vanished path', v.path, MAX_PATH_HOPS).map(hopFromWire);
  const kernel = kernelEvidenceFromWire(v.kernel);
  return {
    iface: checkedName('vanished iface', v.iface),
    role: role(v.role),
    identity,
    packets: checkedCount('vanished packets', v.packets),
    firstSeen,
    lastSeen,
    directionUncertain: v.direction_uncertain,
    fingerprints: v.fingerprints.slice(0, 16).map((f) => f.slice(0, 32)),
    // This node's hops follow the ones lent from other nodes.
    path: path.filter((h) => h.node === node),
    upstreamPath: path.filter((h) => h.node !== node),
    arrivalMacSrc: optionalMac('vanished arrival_mac_src', v.arrival_mac_src),
    arrivalMacDst: optionalMac('vanished arrival_mac_dst', v.arrival_mac_dst),
    ...(kernel ? { kernel } : {}),
  };
}

export function knowledgeFromWire(k: WireNodeKnowledge | undefined): NodeKnowledgeFacts {
  if (!k) return { ownAddresses: [], locations: [], exits: [], ownMacs: [] };
  return {
    ownAddresses: bounded('knowledge own_addresses', k.own_addresses, MAX_FACTS).map((a) => checkedAddress('knowledge own address', a)),
    locations: bounded('knowledge locations', k.locations, MAX_FACTS).map((l) => ({ address: checkedAddress('knowledge location address', l.address), iface: checkedName('knowledge location iface', l.iface) })),
    exits: bounded('knowledge exits', k.exits, MAX_FACTS).map((e) => ({
      src: checkedAddress('knowledge exit src', e.src),
      dst: checkedAddress('knowledge exit dst', e.dst),
      ifaces: bounded('knowledge exit ifaces', e.ifaces, 8).map((i) => checkedName('knowledge exit iface', i)),
    })),
    ownMacs: bounded('knowledge own_macs', k.own_macs, MAX_FACTS).map((m) => ({
      iface: checkedName('knowledge own_mac iface', m.iface),
      mac: optionalMac('knowledge own_mac', m.mac) ?? '',
    })).filter((m) => m.mac !== ''),
  };
}

export function countersFromWire(c: WireNodeCounters | undefined): NodeCounters {
  if (!c) return emptyCounters();
  return {
    packets: checkedCount('counters packets', c.packets),
    sightings: checkedCount('counters sightings', c.sightings),
    forwarded: checkedCount('counters forwarded', c.forwarded),
    originated: checkedCount('counters originated', c.originated),
    directionUnknown: checkedCount('counters direction_unknown', c.direction_unknown),
    notUnicast: checkedCount('counters not_unicast', c.not_unicast),
    truncatedUnjudged: checkedCount('counters truncated_unjudged', c.truncated_unjudged),
    captureEndedUnjudged: checkedCount('counters capture_ended_unjudged', c.capture_ended_unjudged),
    local: checkedCount('counters local', c.local),
    vanishCandidates: checkedCount('counters vanish_candidates', c.vanish_candidates),
    vanishedGroupsOverflow: checkedCount('counters vanished_groups_overflow', c.vanished_groups_overflow),
  };
}

function captureLossFromWire(spans: readonly WireCaptureLossSpan[]): CaptureLossSpan[] {
  return bounded('capture_loss', spans, MAX_LOSS_SPANS).map((s) => {
    const from = checkedTime('capture_loss from_ms', s.from_ms);
    const until = checkedTime('capture_loss until_ms', s.until_ms);
    if (until < from) throw new WireContentError('capture_loss until_ms is before from_ms');
    return { from, until, packets: checkedCount('capture_loss packets', s.packets) };
  });
}

/** The batch's encapsulated hops, for stitching across nodes. */
function tunnelHopsFromWire(batch: WireBatch): { departures: TunnelDeparture[]; arrivals: TunnelArrival[] } {
  const departures: TunnelDeparture[] = [];
  const arrivals: TunnelArrival[] = [];
  for (const h of batch.cross_node) {
    if (!/^[0-9a-f]{1,16}$/.test(h.fingerprint)) throw new WireContentError('cross_node fingerprint must be hex');
    const ts = checkedTime('cross_node ts_ms', h.ts_ms);
    if (!h.departure) {
      arrivals.push({ fingerprint: h.fingerprint, outerSrc: optionalAddress('cross_node outer_peer', h.outer_peer), ts });
      continue;
    }
    const src = checkedAddress('cross_node src', h.src);
    if (!Number.isInteger(h.proto) || h.proto < 0 || h.proto > 255) throw new WireContentError('cross_node proto must be 0-255');
    const port = (n: number): number | null => (Number.isInteger(n) && n >= 0 && n <= 65535 ? n : null);
    departures.push({
      fingerprint: h.fingerprint,
      outerDst: checkedAddress('cross_node outer_peer', h.outer_peer),
      ts,
      path: bounded('cross_node path', h.path, MAX_PATH_HOPS).map(hopFromWire),
      identity: { ipVersion: src.includes(':') ? 6 : 4, src, dst: checkedAddress('cross_node dst', h.dst), proto: h.proto, sport: port(h.sport), dport: port(h.dport) },
    });
  }
  return { departures, arrivals };
}

/** A batch as the node's findings (the seam's data): what the engine makes in process. */
export function findingsFromWire(node: string, batch: WireBatch): NodeFindings {
  return {
    node,
    interfaces: (batch.status?.interfaces ?? []).slice(0, MAX_FACTS).map((i) => ({ name: checkedName('status interface', i.name), role: role(i.role) })),
    coversAllInterfaces: batch.covers_all_interfaces,
    candidates: batch.vanished.map((v) => candidateFromWire(node, v)),
    knowledge: knowledgeFromWire(batch.knowledge),
    counters: countersFromWire(batch.counters),
    ...tunnelHopsFromWire(batch),
    captureLoss: captureLossFromWire(batch.capture_loss),
    coveredUntil: batch.covered_until_ms > 0 ? checkedTime('covered_until_ms', batch.covered_until_ms) : -Infinity,
  };
}

export function flowFromWire(node: string, f: WireFlowRecord, source: RowSource): StoredFlow {
  const dir: HopDirection = direction(f.direction);
  if (!Number.isInteger(f.proto) || f.proto < 0 || f.proto > 255) throw new WireContentError('flow proto must be 0-255');
  const port = (n: number): number => (Number.isInteger(n) && n >= 0 && n <= 65535 ? n : 0);
  const firstSeenMs = checkedTime('flow first_seen_ms', f.first_seen_ms);
  return {
    node,
    iface: checkedName('flow iface', f.iface),
    direction: dir,
    src: addressFromBytes('flow src', f.src),
    dst: addressFromBytes('flow dst', f.dst),
    proto: f.proto,
    sport: port(f.sport),
    dport: port(f.dport),
    encap: ENCAPS.has(f.encap) ? f.encap : 'none',
    outerSrc: optionalAddress('flow outer_src', f.outer_src),
    outerDst: optionalAddress('flow outer_dst', f.outer_dst),
    vni: f.vni >= 0 && f.vni < 1 << 24 ? f.vni : -1,
    packets: checkedCount('flow packets', f.packets),
    bytes: checkedCount('flow bytes', f.bytes),
    firstSeenMs: Math.floor(firstSeenMs),
    lastSeenMs: Math.ceil(Math.max(firstSeenMs, checkedTime('flow last_seen_ms', f.last_seen_ms))),
    source,
  };
}
