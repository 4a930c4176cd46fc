/**
 * NodeFindings from the native matcher's compact results (pipelineTake, pipelineKnowledge in
 * native/addon/sighting_pipeline_napi.c): the same objects, in the same order, as
 * NodeHopMatcher.takeFindings and knowledgeFor build. Objects are made here, at take time only.
 */
import type { DirectionSourceName, Hop, PacketIdentity } from '../../core/findings/hop.js';
import type { InterfaceRole } from '../../core/findings/interface-roles.js';
import type { NodeCounters, NodeFindings, NodeKnowledgeFacts, PacketSample, TunnelArrival, TunnelDeparture, VanishCandidate, AddressLocation, PairExits, InterfaceMac } from '../../core/findings/node-findings.js';
import { directionName } from '../../core/findings/flow-record.js';
import { addressKey, formatAddress, parseAddress } from '../../core/net/address.js';
import { formatMac } from '../../core/net/mac.js';
import type { InterfaceRegistry, NodeInfo } from '../flow/interface-registry.js';
import { OTHER_KERNEL_REASONS } from '../../core/findings/kernel-evidence.js';
import { ENCAP_NAMES, fingerprintToHex } from './engine-names.js';
import type { NativeKnowledgeAnswers, NativeTaken } from './pipeline-native.js';

const COUNTER_NAMES: readonly (keyof NodeCounters)[] = [
  'packets',
  'sightings',
  'forwarded',
  'originated',
  'directionUnknown',
  'notUnicast',
  'truncatedUnjudged',
  'captureEndedUnjudged',
  'local',
  'vanishCandidates',
  'vanishedGroupsOverflow',
];
const TAKE_HEAD = COUNTER_NAMES.length + 3;
const GROUP_HEAD = 42;
/** Per group: two (reason, packets, location high, location low) and the packets of other reasons. */
const GROUP_KERNEL = 33;
const GROUP_KERNEL_REASONS = 2;

const HOP_WORDS = 18;
const DEPARTURE_HEAD = 21;
const ARRIVAL_WORDS = 7;
const MAX_OWN_ADDRESSES = 4096;
const DIRECTION_SOURCES: readonly DirectionSourceName[] = ['unknown', 'pcapng-flags', 'linux-packet-type', 'learned-mac', 'addresses', 'hop-order'];

/** One question per candidate for the node's knowledge (the order of knowledge.factsFor). */
export interface NativeQuestion {
  readonly srcKey: number;
  readonly dstKey: number;
  readonly src: string;
  readonly dst: string;
  readonly ifaceId: number;
}

/** How a live agent names the kernel drops the engine matched to a group's packets. */
export interface KernelDropNaming {
  /** The reason's name from the tracepoint's format (`REASON_<n>` when it has none). */
  reasonName(code: number): string;
  /** Whether the reason alone does not say why (NOT_SPECIFIED): then where the kernel freed the packet is kept. */
  isGeneric(name: string): boolean;
}

/** The kernel's drops matched to a group's packets, as KernelEvidence's reasons and (hex) locations; undefined when none. */
function kernelMatches(n: Float64Array, w: number, naming: KernelDropNaming): VanishCandidate['kernel'] {
  const dropReasons: Record<string, number> = {};
  const dropLocations: Record<string, string> = {};
  let any = false;
  for (let k = 0; k < GROUP_KERNEL_REASONS; k++) {
    const r = w + GROUP_KERNEL + 4 * k;
    const packets = n[r + 1] as number;
    if (packets <= 0) continue;
    const name = naming.reasonName(n[r] as number);
    dropReasons[name] = (dropReasons[name] ?? 0) + packets;
    if (naming.isGeneric(name)) dropLocations[name] = `0x${((BigInt(n[r + 2] as number) << 32n) | BigInt(n[r + 3] as number)).toString(16)}`;
    any = true;
  }
  const other = n[w + GROUP_KERNEL + 4 * GROUP_KERNEL_REASONS] as number;
  if (other > 0) {
    dropReasons[OTHER_KERNEL_REASONS] = other;
    any = true;
  }
  if (!any) return undefined;
  return Object.keys(dropLocations).length > 0 ? { dropReasons, dropLocations } : { dropReasons };
}

/** What NodeFindings needs beside the numbers, asked of the engine after the take. */
export type AskKnowledge = (questions: Float64Array) => NativeKnowledgeAnswers;

export function nativeNodeFindings(taken: NativeTaken, registry: InterfaceRegistry, node: NodeInfo, coveredUntil: number, ask: AskKnowledge, kernelNaming?: KernelDropNaming): NodeFindings {
  const n = taken.numbers;
  const name = (id: number): string => registry.interfaces[id]?.name ?? `if${id}`;
  const words = new Uint32Array(4);
  const address = (version: number, at: number): string => {
    for (let k = 0; k < 4; k++) words[k] = n[at + k] as number;
    return formatAddress(version, words);
  };
  const key = (version: number, at: number): number => {
    for (let k = 0; k < 4; k++) words[k] = n[at + k] as number;
    return addressKey(version, words);
  };
  const hops = (at: number, count: number): Hop[] => {
    const out: Hop[] = [];
    for (let i = 0; i < count; i++) {
      const h = at + i * HOP_WORDS;
      const ifaceId = n[h] as number;
      const iface = registry.interfaces[ifaceId];
      const kind = n[h + 4] as number;
      const encap = kind >= 0;
      const ov = n[h + 5] as number;
      const vni = n[h + 14] as number;
      out.push({
        node: node.name,
        iface: iface?.name ?? `if${ifaceId}`,
        role: iface?.role ?? 'other',
        direction: directionName(n[h + 1] as number),
        directionSource: DIRECTION_SOURCES[n[h + 2] as number] ?? 'unknown',
        ts: n[h + 3] as number,
        encap: encap ? (ENCAP_NAMES[kind] ?? 'none') : 'none',
        outerSrc: encap ? address(ov, h + 6) : null,
        outerDst: encap ? address(ov, h + 10) : null,
        vni: encap && vni >= 0 ? vni : null,
        ttl: n[h + 15] as number,
        length: n[h + 16] as number,
      });
    }
    return out;
  };
  const identity = (at: number): PacketIdentity => {
    const v = n[at] as number;
    const proto = n[at + 9] as number;
    const hasPorts = proto === 6 || proto === 17 || proto === 132;
    return { ipVersion: v, src: address(v, at + 1), dst: address(v, at + 5), proto, sport: hasPorts ? (n[at + 10] as number) : null, dport: hasPorts ? (n[at + 11] as number) : null };
  };

  const counters = {} as NodeCounters;
  COUNTER_NAMES.forEach((c, i) => (counters[c] = n[i] as number));
  const groupCount = n[COUNTER_NAMES.length] as number;
  const departureWords = n[COUNTER_NAMES.length + 1] as number;
  const arrivalWords = n[COUNTER_NAMES.length + 2] as number;

  interface Taken {
    readonly candidate: VanishCandidate;
    readonly question: NativeQuestion;
    readonly hash: number;
  }
  const groups: Taken[] = [];
  let at = TAKE_HEAD;
  for (let g = 0; g < groupCount; g++) {
    const w = at;
    const ifaceId = n[w] as number;
    const v = n[w + 2] as number;
    const proto = n[w + 11] as number;
    const hasPorts = proto === 6 || proto === 17 || proto === 132;
    const id: PacketIdentity = { ipVersion: v, src: address(v, w + 3), dst: address(v, w + 7), proto, sport: hasPorts ? (n[w + 12] as number) : null, dport: hasPorts ? (n[w + 13] as number) : null };
    const fingerprints: string[] = [];
    for (let k = 0; k < (n[w + 18] as number); k++) fingerprints.push(fingerprintToHex(n[w + 19 + k] as number));
    const hopCount = n[w + 32] as number;
    let sample: PacketSample | undefined;
    if (n[w + 26] === 1) {
      const from = n[w + 27] as number;
      sample = { bytes: taken.bytes.slice(from, from + (n[w + 28] as number)), linkType: n[w + 30] as number, origLen: n[w + 29] as number, ts: n[w + 31] as number };
    }
    const kernel = kernelNaming ? kernelMatches(n, w, kernelNaming) : undefined;
    const candidate: VanishCandidate = {
      iface: name(ifaceId),
      role: (registry.interfaces[ifaceId]?.role ?? 'other') as InterfaceRole,
      identity: id,
      packets: n[w + 15] as number,
      firstSeen: n[w + 16] as number,
      lastSeen: n[w + 17] as number,
      directionUncertain: n[w + 14] === 1,
      fingerprints,
      path: hops(w + GROUP_HEAD, hopCount),
      upstreamPath: [],
      arrivalMacSrc: formatMac(n[w + 24] as number),
      arrivalMacDst: formatMac(n[w + 25] as number),
      ...(sample ? { sample } : {}),
      ...(kernel ? { kernel } : {}),
    };
    groups.push({ candidate, hash: n[w + 1] as number, question: { srcKey: key(v, w + 3), dstKey: key(v, w + 7), src: id.src, dst: id.dst, ifaceId } });
    at += GROUP_HEAD + hopCount * HOP_WORDS;
  }
  // CandidateGroups.take: its Map's buckets in the order their hashes first appeared, each in the
  // order of its groups, then sorted (stably) by first sighting.
  const firstOfHash = new Map<number, number>();
  groups.forEach((g, i) => {
    if (!firstOfHash.has(g.hash)) firstOfHash.set(g.hash, i);
  });
  const inBuckets = groups.map((g, i) => ({ g, bucket: firstOfHash.get(g.hash) as number, i }));
  inBuckets.sort((a, b) => a.bucket - b.bucket || a.i - b.i);
  const ordered = inBuckets.map((x) => x.g).sort((a, b) => a.candidate.firstSeen - b.candidate.firstSeen);

  const departures: TunnelDeparture[] = [];
  const depEnd = at + departureWords;
  while (at < depEnd) {
    const count = n[at + 19] as number;
    departures.push({ fingerprint: fingerprintToHex(n[at] as number), outerDst: address(n[at + 1] as number, at + 2), ts: n[at + 6] as number, path: hops(at + DEPARTURE_HEAD, count), identity: identity(at + 7) });
    at += DEPARTURE_HEAD + count * HOP_WORDS;
  }
  const arrivals: TunnelArrival[] = [];
  const arrEnd = at + arrivalWords;
  for (; at < arrEnd; at += ARRIVAL_WORDS) arrivals.push({ fingerprint: fingerprintToHex(n[at] as number), outerSrc: address(n[at + 1] as number, at + 2), ts: n[at + 6] as number });

  return {
    node: node.name,
    interfaces: registry
      .interfacesOf(node)
      .map((i) => ({ name: i.name, role: i.role }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    coversAllInterfaces: node.coversAllInterfaces,
    candidates: ordered.map((g) => g.candidate),
    knowledge: nativeFacts(
      ordered.map((g) => g.question),
      ask,
      name,
    ),
    counters,
    departures,
    arrivals,
    captureLoss: [],
    coveredUntil,
  };
}

/** knowledgeFor(candidates): the node's knowledge now about these candidates' addresses. */
export function nativeKnowledgeFor(candidates: readonly VanishCandidate[], registry: InterfaceRegistry, node: NodeInfo, ask: AskKnowledge): NodeKnowledgeFacts {
  const words = new Uint32Array(4);
  const key = (text: string): number => addressKey(parseAddress(text, words), words);
  const questions = candidates.map((c) => ({ srcKey: key(c.identity.src), dstKey: key(c.identity.dst), src: c.identity.src, dst: c.identity.dst, ifaceId: registry.interface(node.name, c.iface).id }));
  return nativeFacts(questions, ask, (id) => registry.interfaces[id]?.name ?? `if${id}`);
}

/** NodeKnowledge.factsFor over the engine's answers. */
function nativeFacts(asked: readonly NativeQuestion[], ask: AskKnowledge, ifaceName: (id: number) => string): NodeKnowledgeFacts {
  // The engine answers the exits from dst back to src; each question asked the other way round too
  // gives the exits from src to dst (which packets of the pair did leave: causes/ reads both).
  const questions = [...asked, ...asked.map((x) => ({ ...x, srcKey: x.dstKey, dstKey: x.srcKey, src: x.dst, dst: x.src }))];
  const q = new Float64Array(questions.length * 3);
  questions.forEach((x, i) => {
    q[3 * i] = x.srcKey;
    q[3 * i + 1] = x.dstKey;
    q[3 * i + 2] = x.ifaceId;
  });
  const { answers: a, own } = ask(q);
  const words = new Uint32Array(4);
  const ownText: string[] = [];
  for (let i = 0; i < own.length; i += 5) {
    for (let k = 0; k < 4; k++) words[k] = own[i + 1 + k] as number;
    ownText.push(formatAddress(own[i] as number, words));
  }
  const ownAddresses = ownText.sort().slice(0, MAX_OWN_ADDRESSES);
  const locations = new Map<string, AddressLocation>();
  const exits = new Map<string, PairExits>();
  const macs = new Map<string, InterfaceMac>();
  questions.forEach((x, i) => {
    const srcAt = a[5 * i] as number;
    const dstAt = a[5 * i + 1] as number;
    if (srcAt >= 0 && !locations.has(x.src)) locations.set(x.src, { address: x.src, iface: ifaceName(srcAt) });
    if (dstAt >= 0 && !locations.has(x.dst)) locations.set(x.dst, { address: x.dst, iface: ifaceName(dstAt) });
    const e1 = a[5 * i + 2] as number;
    const e2 = a[5 * i + 3] as number;
    const back = e1 < 0 ? [] : e2 >= 0 ? [e1, e2] : [e1];
    if (back.length > 0) exits.set(`${x.dst} ${x.src}`, { src: x.dst, dst: x.src, ifaces: back.map(ifaceName) });
    const mac = formatMac(a[5 * i + 4] as number);
    const iface = ifaceName(x.ifaceId);
    if (mac !== null) macs.set(iface, { iface, mac });
  });
  const byText = (p: string, r: string): number => (p < r ? -1 : p > r ? 1 : 0);
  return {
    ownAddresses,
    locations: [...locations.values()].sort((p, r) => byText(p.address, r.address)),
    exits: [...exits.values()].sort((p, r) => byText(p.src, r.src) || byText(p.dst, r.dst)),
    ownMacs: [...macs.values()].sort((p, r) => byText(p.iface, r.iface)),
  };
}
