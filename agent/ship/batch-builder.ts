/**
 * From what the agent knows to what it ships: flow records, judged vanished groups with the
 * kernel's evidence, and kernel drop events, as wire messages (schemas/pathwatch.proto).
 */
import { parseAddress } from '../../core/net/address.js';
import type { DirectionName, FlowRecord } from '../../core/findings/flow-record.js';
import type { Hop } from '../../core/findings/hop.js';
import type { JudgedVanished } from '../flow/judged-groups.js';
import type { KernelDrop } from '../kernel/drop-monitor.js';
import type { KernelEvidence } from '../kernel/kernel-evidence.js';
import { WireDirection, type WireFlowRecord, type WireHop, type WireKernelDrop, type WireKernelEvidence, type WireVanishedGroup } from '../../schemas/wire-types.js';

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
  };
}

export function wireVanished(j: JudgedVanished, kernel: KernelEvidence | undefined): WireVanishedGroup {
  const g = j.group;
  const id = g.identity;
  return {
    iface: g.iface,
    role: g.role,
    src: id.src,
    dst: id.dst,
    proto: id.proto,
    sport: id.sport ?? -1,
    dport: id.dport ?? -1,
    packets: g.packets,
    first_seen_ms: g.firstSeen,
    last_seen_ms: g.lastSeen,
    fingerprints: [...g.fingerprints],
    path: [...g.upstreamPath, ...g.samplePath].map(wireHop),
    expected_exit: j.expectedExit ?? '',
    reverse_exits: j.reverseExits,
    ...(kernel ? { kernel: wireEvidence(kernel) } : {}),
    ...(g.sampleBytes ? { first_bytes: g.sampleBytes.bytes } : {}),
    link_type: g.sampleBytes?.linkType ?? 0,
    first_orig_len: g.sampleBytes?.origLen ?? 0,
    first_bytes_ts_ms: g.sampleBytes ? (g.samplePath.find((h) => h.iface === g.iface && h.direction === 'in')?.ts ?? g.firstSeen) : 0,
  };
}

export function wireKernelDrop(d: KernelDrop): WireKernelDrop {
  return { reason: d.reason, ifindex: d.ifindex, src: d.src, dst: d.dst, proto: d.proto, sport: d.sport, dport: d.dport, ts_ms: d.ts };
}
