/**
 * From the wire shapes (schemas/pathwatch.proto, snake_case) to the domain shapes the explanation
 * core and the store use. Everything from an agent is untrusted: strings are bounded, addresses are
 * re-parsed and re-formatted, numbers are checked; what cannot be made sense of is rejected with a
 * one-line reason (the batch gets a 400).
 */
import { formatIpv6Groups } from '../../core/net/address.js';
import { canonicalIpText } from '../store/ip-address.js';
import type { Hop, PacketIdentity, VanishedGroup } from '../../core/findings/hop.js';
import type { DirectionName } from '../../core/findings/flow-record.js';
import type { InterfaceRole } from '../../core/findings/interface-roles.js';
import type { KernelEvidence } from '../../agent/kernel/kernel-evidence.js';
import { WireDirection, type WireFlowRecord, type WireHop, type WireKernelDrop, type WireKernelEvidence, type WireVanishedGroup } from '../../schemas/wire-types.js';
import type { HopDirection, RowSource, StoredFlow, StoredHop } from '../store/storage.js';

/** A batch whose content makes no sense (400). */
export class WireContentError extends Error {
  override name = 'WireContentError';
}

const MAX_NAME = 256;
const ROLES: readonly InterfaceRole[] = ['tunnel', 'pod', 'uplink', 'loopback', 'other'];
const ENCAPS = new Set(['none', 'ipip', 'vxlan', 'geneve', 'gre']);
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
  // Between 2000 and 2200: anything else is a broken clock or a hostile value.
  if (!Number.isFinite(ms) || ms < 946_684_800_000 || ms > 7_258_118_400_000) throw new WireContentError(`${what} is not a plausible time`);
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

export function kernelEvidenceFromWire(k: WireKernelEvidence | undefined): KernelEvidence | undefined {
  if (!k) return undefined;
  const dropReasons: Record<string, number> = {};
  for (const [reason, n] of Object.entries(k.drop_reasons)) {
    if (!/^[A-Z0-9_]{1,64}$/.test(reason)) throw new WireContentError('kernel drop reasons must be kernel names (A-Z, 0-9, _)');
    dropReasons[reason] = checkedCount('kernel drop reason count', n);
  }
  const rpFilterValue = (n: number): number => (n >= 0 && n <= 2 ? n : 0);
  return {
    dropReasons,
    ...(k.has_rp_filter ? { rpFilter: { all: rpFilterValue(k.rp_filter_all), iface: rpFilterValue(k.rp_filter_iface), effective: rpFilterValue(k.rp_filter_effective) } } : {}),
    ...(k.rp_filter_counter_delta >= 0 ? { rpFilterCounterDelta: checkedCount('rp_filter_counter_delta', k.rp_filter_counter_delta) } : {}),
    ...(k.route_back_iface ? { routeBackIface: checkedName('route_back_iface', k.route_back_iface) } : {}),
    ...(k.route_check_error ? { routeCheckError: k.route_check_error.slice(0, 512).replace(/[\u0000-\u001f\u007f]/g, ' ') } : {}),
  };
}

/**
 * A kernel drop event as the agent's eBPF monitor read it. Only counted today, but checked like every
 * other record so that nothing unchecked reaches the store or a metric later.
 */
export function checkKernelDrop(d: WireKernelDrop): void {
  if (!/^[A-Z0-9_]{1,64}$/.test(d.reason)) throw new WireContentError('kernel drop reason must be a kernel name (A-Z, 0-9, _)');
  if (!Number.isInteger(d.ifindex) || d.ifindex < 0 || d.ifindex > 0xffff_ffff) throw new WireContentError('kernel drop ifindex must be 0-4294967295');
  optionalAddress('kernel drop src', d.src);
  optionalAddress('kernel drop dst', d.dst);
  if (!Number.isInteger(d.proto) || d.proto < 0 || d.proto > 255) throw new WireContentError('kernel drop proto must be 0-255');
  for (const port of [d.sport, d.dport]) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new WireContentError('kernel drop ports must be 0-65535');
  }
  checkedTime('kernel drop ts_ms', d.ts_ms);
}

/** A vanished group as the explanation core takes it, with the agent's expected and reverse exits. */
export interface ReceivedVanished {
  readonly group: VanishedGroup;
  readonly expectedExit: string | null;
  readonly reverseExits: readonly string[];
  readonly kernel: KernelEvidence | undefined;
}

export function vanishedFromWire(node: string, v: WireVanishedGroup): ReceivedVanished {
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
  const iface = checkedName('vanished iface', v.iface);
  const path = v.path.map(hopFromWire);
  const group: VanishedGroup = {
    key: `${iface}|${src}|${dst}|${v.proto}|${identity.sport}|${identity.dport}`,
    node,
    nodeIndex: 0,
    iface,
    ifaceId: 0,
    role: role(v.role),
    identity,
    srcKey: 0,
    dstKey: 0,
    packets: checkedCount('vanished packets', v.packets),
    firstSeen,
    lastSeen,
    directionUncertain: false,
    fingerprints: v.fingerprints.slice(0, 16).map((f) => f.slice(0, 32)),
    // Hops on other nodes (lent by the agent's stitching) come first; this node's follow.
    samplePath: path.filter((h) => h.node === node),
    upstreamPath: path.filter((h) => h.node !== node),
    arrivalMacSrc: -1,
    arrivalMacDst: -1,
  };
  return {
    group,
    expectedExit: v.expected_exit ? checkedName('expected_exit', v.expected_exit) : null,
    reverseExits: v.reverse_exits.slice(0, 64).map((x) => checkedName('reverse_exits', x)),
    kernel: kernelEvidenceFromWire(v.kernel),
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
