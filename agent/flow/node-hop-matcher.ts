/**
 * Within-node matching: the sightings of one packet on one node's interfaces, gathered by
 * fingerprint for a correlation window, then evaluated. A packet that arrived (in on any
 * interface; an encapsulated arrival on the uplink counts once with its decapsulated twin on the
 * tunnel) and did not leave (out on any interface) is a vanish candidate, grouped by (interface,
 * src, dst, protocol, ports). Whether a candidate really vanished depends on what the node's
 * traffic teaches overall and is decided above the seam (core/judge), from the NodeFindings this
 * matcher hands out with takeFindings().
 *
 * Per packet this costs one hash lookup and a few typed-array writes; objects are made only for a
 * candidate group's first packet and for the encapsulated hops reported for cross-node stitching.
 */
import { Direction } from '../capture/capture-record.js';
import type { DirectionSourceName, Hop, PacketIdentity } from '../../core/findings/hop.js';
import { emptyCounters, type NodeCounters, type NodeFindings, type NodeKnowledgeFacts, type TunnelArrival, type TunnelDeparture, type VanishCandidate } from '../../core/findings/node-findings.js';
import { directionName } from '../../core/findings/flow-record.js';
import { addressKey, formatAddress, isNonUnicastOrLinkLocal, parseAddress } from '../../core/net/address.js';
import { formatMac } from '../../core/net/mac.js';
import { ENCAP_NAMES } from '../decode/packet-view.js';
import { CandidateGroups, SAMPLE_FINGERPRINTS, type CandidateGroup } from './candidate-groups.js';
import { inferFromHopOrder, inferFromKnowledge } from './direction-inference.js';
import { fingerprintToHex } from './fingerprint.js';
import type { FlowTable } from './flow-table.js';
import type { InterfaceRegistry, NodeInfo } from './interface-registry.js';
import { NodeKnowledge } from './node-knowledge.js';
import { OpenPacketTable } from './open-packet-table.js';
import type { PacketBytesRing } from './packet-bytes-ring.js';
import { SIGHTING_FINGERPRINT, type Sighting } from './sighting.js';
import { SightingStore } from './sighting-store.js';

import { DEFAULT_HOP_MATCHER_CONFIG, type HopMatcherConfig } from '../native/pipeline-config.js';
export { DEFAULT_HOP_MATCHER_CONFIG, type HopMatcherConfig };

const MAX_GROUP_SIGHTINGS = 64;
const DIRECTION_SOURCES: readonly DirectionSourceName[] = ['unknown', 'pcapng-flags', 'linux-packet-type', 'learned-mac', 'addresses', 'hop-order'];

/**
 * Order of stages inside the kernel for sightings with equal timestamps: an encapsulated arrival,
 * then the decapsulated arrival, then a plain departure, then an encapsulated departure. Unknown
 * directions sort as arrivals.
 */
function stageRank(store: SightingStore, s: number): number {
  const encap = store.encapDepth(s) !== 0;
  if (store.dir(s) === Direction.Out) return encap ? 3 : 2;
  return encap ? 0 : 1;
}

/** One packet's sightings counted by stage (see evaluate). */
interface StageTally {
  inPlain: number;
  inTunnel: number;
  inEncap: number;
  outPlain: number;
  outTunnel: number;
  outEncap: number;
  /** Departures before the packet first arrived: the node sending it, not forwarding an arrival. */
  outFirst: number;
  unknown: number;
  /** The sighting it vanished after (its last arrival; a decapsulated one over its encapsulated twin). */
  lastArrival: number;
  /** An arrival whose fingerprint is strong enough to trust (not cut short by the snap length). */
  strongArrival: boolean;
  /** A link-layer group or another host's frame among the arrivals: never forwarded anyway. */
  linkGroup: number;
}

export class NodeHopMatcher {
  readonly knowledge: NodeKnowledge;
  /** Counters since the last takeFindings(). */
  private counters: NodeCounters = emptyCounters();
  private readonly groups: CandidateGroups;
  private departures: TunnelDeparture[] = [];
  private arrivals: TunnelArrival[] = [];
  private readonly store = new SightingStore();
  private readonly open = new OpenPacketTable();
  private readonly order = new Int32Array(MAX_GROUP_SIGHTINGS);
  private readonly tally: StageTally = { inPlain: 0, inTunnel: 0, inEncap: 0, outPlain: 0, outTunnel: 0, outEncap: 0, outFirst: 0, unknown: 0, lastArrival: -1, strongArrival: false, linkGroup: 0 };
  private readonly scratchWords = new Uint32Array(4);
  /** expire()'s time bound, in a typed array so that comparing with it per packet boxes nothing. */
  private readonly bound = new Float64Array(1);
  /** Per interface id: 0 not looked up yet, 1 not a tunnel, 2 a tunnel. */
  private tunnelFlags = new Uint8Array(64);

  constructor(
    readonly node: NodeInfo,
    private readonly registry: InterfaceRegistry,
    private readonly flows: FlowTable,
    private readonly config: HopMatcherConfig = DEFAULT_HOP_MATCHER_CONFIG,
    /** Where the pipeline keeps recent packets' first bytes, when it does. */
    private readonly packetBytes?: PacketBytesRing,
  ) {
    this.knowledge = new NodeKnowledge(() => node.coversAllInterfaces);
    this.groups = new CandidateGroups(config.maxVanishedGroups);
  }

  /** Records one sighting (its fingerprint already computed). */
  observe(s: Sighting): void {
    const open = this.open;
    this.counters.sightings++;
    let e = open.find(s, this.config.windowMs);
    if (e < 0) e = open.create(s);
    else if (open.resolved(e)) return; // already seen leaving: nothing more to learn from it
    const store = this.store;
    const i = store.alloc();
    store.write(i, s);
    const tail = open.tail(e);
    if (tail < 0) open.setChain(e, i, i);
    else {
      store.setNext(tail, i);
      open.setChain(e, open.head(e), i);
    }
    // A packet sampled for cross-node stitching is evaluated at expiry, where its hops are reported.
    if (s.direction !== Direction.Unknown && !s.weak && this.registry.nodes.length === 1 && !this.sampledForTunnelHops(s.numbers[SIGHTING_FINGERPRINT] as number)) {
      this.countStage(e, s.direction, s.view.encapDepth !== 0, s.ifaceId);
    }
  }

  /**
   * Keeps the entry's stage counts; once the packet has arrived and left (as many departures as
   * arrivals, an encapsulated hop and its decapsulated twin counting once), it is forwarded: its
   * sightings are released now, while they are in cache, instead of being judged at expiry. Only
   * for one node: several nodes need every hop for stitching. A departure before any arrival is the
   * node sending the packet (one that comes back, echoed, is a new arrival): not counted here.
   */
  private countStage(e: number, dir: Direction, encap: boolean, ifaceId: number): void {
    const stages = this.open.stageBytes;
    const o = this.open.stageOffset(e);
    if (dir === Direction.Out && stages[o] === 0 && stages[o + 1] === 0 && stages[o + 2] === 0) return;
    const b = o + (dir === Direction.Out ? 3 : 0) + (encap ? 2 : this.isTunnel(ifaceId) ? 1 : 0);
    if ((stages[b] as number) < 255) stages[b] = (stages[b] as number) + 1;
    const inTunnel = stages[o + 1] as number;
    const arrivals = (stages[o] as number) + inTunnel + Math.max(0, (stages[o + 2] as number) - inTunnel);
    const outTunnel = stages[o + 4] as number;
    const departures = (stages[o + 3] as number) + outTunnel + Math.max(0, (stages[o + 5] as number) - outTunnel);
    if (arrivals > 0 && departures >= arrivals) {
      const open = this.open;
      for (let s = open.head(e); s >= 0; ) {
        const next = this.store.next(s);
        this.store.release(s);
        s = next;
      }
      open.markResolved(e);
      this.counters.forwarded++;
    }
  }

  private isTunnel(ifaceId: number): boolean {
    let flags = this.tunnelFlags;
    if (ifaceId >= flags.length) {
      flags = new Uint8Array(Math.max(ifaceId + 1, flags.length * 2));
      flags.set(this.tunnelFlags);
      this.tunnelFlags = flags;
    }
    let f = flags[ifaceId] as number;
    if (f === 0) {
      f = this.registry.interfaces[ifaceId]?.role === 'tunnel' ? 2 : 1;
      flags[ifaceId] = f;
    }
    return f === 2;
  }

  /** Whether a live agent samples this packet for cross-node stitching (one in N by fingerprint). */
  private sampledForTunnelHops(fingerprint: number): boolean {
    const sample = this.config.tunnelHopSampleOneIn;
    return sample !== undefined && sample > 0 && fingerprint % sample === 0;
  }

  /** Whether this packet's encapsulated hops go to cross-node stitching. */
  private reportsTunnelHops(fingerprint: number): boolean {
    if (this.config.tunnelHopSampleOneIn !== undefined) return this.sampledForTunnelHops(fingerprint);
    return this.registry.nodes.length > 1;
  }

  /** Evaluates every packet whose window closed before `watermark` (ms): all inputs have passed it. */
  expire(watermark: number): void {
    const open = this.open;
    const bound = this.bound;
    bound[0] = watermark - this.config.windowMs;
    for (let e = open.oldest(); e >= 0 && open.startedBefore(e, bound); e = open.oldest()) {
      this.evaluate(e, true);
      open.removeOldest();
    }
  }

  /**
   * End of input: evaluates what is still open. Packets first seen within the last window before
   * `endTs` (when the earliest input ended) may have left after the capture stopped: not judged.
   */
  expireAll(endTs: number): void {
    const horizon = endTs - this.config.windowMs;
    for (let e = this.open.oldest(); e >= 0; e = this.open.oldest()) {
      this.evaluate(e, this.open.firstTs(e) <= horizon);
      this.open.removeOldest();
    }
  }

  get openPackets(): number {
    return this.open.size;
  }

  /**
   * What the packets evaluated since the last call taught, as plain data (the seam): the candidate
   * groups gathered (taken: the next call starts afresh), the knowledge about their addresses, the
   * counters, and the encapsulated hops for stitching. `coveredUntil`: capture time before which
   * every packet of the node has been evaluated.
   */
  takeFindings(coveredUntil: number): NodeFindings {
    const groups = this.groups.take();
    const counters = this.counters;
    counters.vanishedGroupsOverflow += this.groups.overflow;
    this.groups.overflow = 0;
    this.counters = emptyCounters();
    const departures = this.departures;
    const arrivals = this.arrivals;
    this.departures = [];
    this.arrivals = [];
    const registry = this.registry;
    const name = (id: number): string => registry.interfaces[id]?.name ?? `if${id}`;
    const candidates: VanishCandidate[] = groups.map((g) => ({
      iface: name(g.ifaceId),
      role: registry.interfaces[g.ifaceId]?.role ?? 'other',
      identity: g.identity,
      packets: g.packets,
      firstSeen: g.firstSeen,
      lastSeen: g.lastSeen,
      directionUncertain: g.uncertain,
      fingerprints: g.fingerprints.map(fingerprintToHex),
      path: g.path,
      upstreamPath: [],
      arrivalMacSrc: formatMac(g.arrivalMacSrc),
      arrivalMacDst: formatMac(g.arrivalMacDst),
      ...(g.sample ? { sample: g.sample } : {}),
    }));
    const questions = groups.map((g) => ({
      srcKey: addressKey(g.ipVersion, g.src),
      dstKey: addressKey(g.ipVersion, g.dst),
      src: g.identity.src,
      dst: g.identity.dst,
      ifaceId: g.ifaceId,
    }));
    return {
      node: this.node.name,
      interfaces: registry
        .interfacesOf(this.node)
        .map((i) => ({ name: i.name, role: i.role }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      coversAllInterfaces: this.node.coversAllInterfaces,
      candidates,
      knowledge: this.knowledge.factsFor(questions, name),
      counters,
      departures,
      arrivals,
      captureLoss: [],
      coveredUntil,
    };
  }

  /** The node's knowledge as it stands now about these candidates' addresses (a replay's final findings). */
  knowledgeFor(candidates: readonly VanishCandidate[]): NodeKnowledgeFacts {
    const words = this.scratchWords;
    const key = (address: string): number => addressKey(parseAddress(address, words), words);
    const questions = candidates.map((c) => ({
      srcKey: key(c.identity.src),
      dstKey: key(c.identity.dst),
      src: c.identity.src,
      dst: c.identity.dst,
      ifaceId: this.registry.interface(this.node.name, c.iface).id,
    }));
    return this.knowledge.factsFor(questions, (id) => this.registry.interfaces[id]?.name ?? `if${id}`);
  }

  /**
   * A packet's window closed: gather its sightings in time order, fill in the directions the
   * capture did not give, count its stages, and decide: forwarded, sent by the node, for the node,
   * not judgeable, or a vanish candidate. Its encapsulated hops go to stitching when it is one of
   * the packets reported.
   */
  private evaluate(e: number, judgeable: boolean): void {
    const open = this.open;
    this.counters.packets++;
    if (open.resolved(e)) return; // forwarded, counted when it was seen leaving
    const n = this.gather(e);
    const v = open.ipVersion(e);
    const words = open.words;
    if (isNonUnicastOrLinkLocal(v, words, open.dstOffset(e)) || isNonUnicastOrLinkLocal(v, words, open.srcOffset(e))) {
      this.counters.notUnicast++;
      this.release(n);
      return;
    }
    const srcKey = addressKey(v, words, open.srcOffset(e));
    const dstKey = addressKey(v, words, open.dstOffset(e));
    this.inferDirections(n, srcKey, dstKey);
    const t = this.countStages(n);
    const tunnelHops = this.reportsTunnelHops(open.fingerprint(e));
    const arrivals = t.inPlain + t.inTunnel + Math.max(0, t.inEncap - t.inTunnel);
    const departures = t.outPlain + t.outTunnel + Math.max(0, t.outEncap - t.outTunnel);
    const store = this.store;
    if (t.outFirst > 0) {
      // Sent by the node before anything arrived; an arrival after it is the packet coming back.
      this.counters.originated++;
      for (let i = 0; i < n; i++) {
        const s = this.order[i] as number;
        if (store.dir(s) === Direction.In) break;
        if (store.dir(s) === Direction.Out && this.flows.markOriginated(store.flowSlot(s))) this.knowledge.learnOriginated(this.flows, store.flowSlot(s));
      }
    }
    if (arrivals === 0) {
      // Originated (counted above), or seen only where nothing tells its direction (below).
    } else if (arrivals > departures) {
      const missing = arrivals - departures;
      if (t.linkGroup !== 0) this.counters.notUnicast++;
      else if (this.knowledge.isLocal(dstKey) || this.knowledge.isLocal(srcKey)) this.counters.local += missing;
      else if (!t.strongArrival) this.counters.truncatedUnjudged += missing;
      else if (!judgeable) this.counters.captureEndedUnjudged += missing;
      else this.addCandidate(e, n, t.lastArrival, missing, false);
    } else {
      this.counters.forwarded++;
    }
    if (arrivals === 0 && t.outFirst === 0 && t.unknown > 0) {
      // Seen only where nothing tells which way it went: a candidate to judge later, if the node has
      // more than one captured interface (otherwise nothing here can be missing a hop).
      this.counters.directionUnknown++;
      const last = this.order[n - 1] as number;
      if (judgeable && !store.weak(last) && (this.node.coversAllInterfaces || this.registry.interfacesOf(this.node).length > 1)) this.addCandidate(e, n, last, 1, true);
    }
    if (tunnelHops) this.reportTunnelHops(e, n);
    this.release(n);
  }

  /** Puts the packet's sightings in time order into `order` (insertion sort: a handful); returns how many. */
  private gather(e: number): number {
    const store = this.store;
    const order = this.order;
    let n = 0;
    for (let s = this.open.head(e); s >= 0; ) {
      const next = store.next(s);
      if (n < MAX_GROUP_SIGHTINGS) {
        let i = n++;
        const ts = store.ts(s);
        const rank = stageRank(store, s);
        while (i > 0) {
          const p = order[i - 1] as number;
          const pts = store.ts(p);
          // Equal timestamps (microsecond captures) keep the kernel's order of stages.
          if (pts < ts || (pts === ts && stageRank(store, p) <= rank)) break;
          order[i] = p;
          i--;
        }
        order[i] = s;
      } else {
        store.release(s);
      }
      s = next;
    }
    return n;
  }

  /**
   * Directions the capture did not give, from the node's knowledge, then from the order of hops;
   * each flow whose direction this makes known teaches the node once.
   */
  private inferDirections(n: number, srcKey: number, dstKey: number): void {
    const store = this.store;
    let unknown = 0;
    for (let i = 0; i < n; i++) {
      const s = this.order[i] as number;
      if (store.dir(s) === Direction.Unknown && inferFromKnowledge(store, s, this.knowledge, srcKey, dstKey) === Direction.Unknown) unknown++;
    }
    if (unknown > 0 && n > 1) inferFromHopOrder(store, this.order, n, this.registry, this.knowledge);
    for (let i = 0; i < n; i++) {
      const s = this.order[i] as number;
      const slot = store.flowSlot(s);
      if (this.flows.setDirection(slot, store.dir(s))) {
        const role = this.registry.interfaces[store.iface(s)]?.role;
        this.knowledge.learnFromFlow(this.flows, slot, role === 'pod' || role === 'tunnel');
      }
    }
  }

  private countStages(n: number): StageTally {
    const store = this.store;
    const t = this.tally;
    t.inPlain = t.inTunnel = t.inEncap = t.outPlain = t.outTunnel = t.outEncap = t.outFirst = t.unknown = t.linkGroup = 0;
    t.lastArrival = -1;
    t.strongArrival = false;
    for (let i = 0; i < n; i++) {
      const s = this.order[i] as number;
      const dir = store.dir(s);
      const encap = store.encapDepth(s) !== 0;
      const tunnel = !encap && this.isTunnel(store.iface(s));
      if (dir === Direction.In) {
        if (encap) t.inEncap++;
        else if (tunnel) t.inTunnel++;
        else t.inPlain++;
        // The packet vanished after its last arrival; a decapsulated arrival comes after its
        // encapsulated twin, whatever the timestamps say.
        if (t.lastArrival < 0 || !encap || store.encapDepth(t.lastArrival) !== 0) t.lastArrival = s;
        if (!store.weak(s)) t.strongArrival = true;
        t.linkGroup |= store.linkGroup(s);
      } else if (dir === Direction.Out) {
        // Departures count only after the packet arrived (time order): before, the node sent it.
        if (t.lastArrival < 0) t.outFirst++;
        else if (encap) t.outEncap++;
        else if (tunnel) t.outTunnel++;
        else t.outPlain++;
      } else {
        t.unknown++;
      }
    }
    return t;
  }

  /** The packet's encapsulated arrivals and departures, for stitching across nodes. */
  private reportTunnelHops(e: number, n: number): void {
    const store = this.store;
    const fp = fingerprintToHex(this.open.fingerprint(e));
    let path: Hop[] | undefined;
    for (let i = 0; i < n; i++) {
      const s = this.order[i] as number;
      if (store.encapDepth(s) === 0) continue;
      const dir = store.dir(s);
      if (dir === Direction.In) this.arrivals.push({ fingerprint: fp, outerSrc: this.outer(s, false), ts: store.ts(s) });
      else if (dir === Direction.Out) {
        path ??= this.path(n);
        this.departures.push({ fingerprint: fp, outerDst: this.outer(s, true), ts: store.ts(s), path, identity: this.identity(e) });
      }
    }
  }

  private release(n: number): void {
    for (let i = 0; i < n; i++) this.store.release(this.order[i] as number);
  }

  private addCandidate(e: number, n: number, arrival: number, count: number, uncertain: boolean): void {
    const open = this.open;
    const store = this.store;
    this.counters.vanishCandidates += count;
    const words = open.words;
    const src = words.subarray(open.srcOffset(e), open.srcOffset(e) + 4);
    const dst = words.subarray(open.dstOffset(e), open.dstOffset(e) + 4);
    const key = { ifaceId: store.iface(arrival), ipVersion: open.ipVersion(e), src, dst, proto: open.proto(e), sport: open.sport(e), dport: open.dport(e), uncertain };
    const ts = store.ts(arrival);
    const existing = this.groups.find(key);
    if (existing) {
      existing.packets += count;
      if (ts < existing.firstSeen) existing.firstSeen = ts;
      if (ts > existing.lastSeen) existing.lastSeen = ts;
      if (existing.fingerprints.length < SAMPLE_FINGERPRINTS) existing.fingerprints.push(open.fingerprint(e));
      // The first packet's bytes may have been overwritten on a busy node; a later one's will do.
      existing.sample ??= this.sample(arrival);
      return;
    }
    const group: CandidateGroup = {
      ...key,
      src: Uint32Array.from(src),
      dst: Uint32Array.from(dst),
      identity: this.identity(e),
      packets: count,
      firstSeen: ts,
      lastSeen: ts,
      fingerprints: [open.fingerprint(e)],
      path: this.path(n),
      arrivalMacSrc: store.macSrc(arrival),
      arrivalMacDst: store.macDst(arrival),
      sample: this.sample(arrival),
    };
    if (!this.groups.add(group)) this.groups.overflow += count;
  }

  private sample(arrival: number): CandidateGroup['sample'] {
    const bytes = this.packetBytes?.get(this.store.bytesSeq(arrival));
    return bytes ? { bytes: bytes.bytes, linkType: bytes.linkType, origLen: bytes.origLen, ts: this.store.ts(arrival) } : undefined;
  }

  private identity(e: number): PacketIdentity {
    const open = this.open;
    const v = open.ipVersion(e);
    const proto = open.proto(e);
    const hasPorts = proto === 6 || proto === 17 || proto === 132;
    return {
      ipVersion: v,
      src: formatAddress(v, open.words, open.srcOffset(e)),
      dst: formatAddress(v, open.words, open.dstOffset(e)),
      proto,
      sport: hasPorts ? open.sport(e) : null,
      dport: hasPorts ? open.dport(e) : null,
    };
  }

  /** The current packet's sightings as hops, in time order. */
  private path(n: number): Hop[] {
    const store = this.store;
    const hops: Hop[] = [];
    for (let i = 0; i < n; i++) {
      const s = this.order[i] as number;
      const iface = this.registry.interfaces[store.iface(s)];
      const encap = store.encapDepth(s) !== 0;
      hops.push({
        node: this.node.name,
        iface: iface?.name ?? `if${store.iface(s)}`,
        role: iface?.role ?? 'other',
        direction: directionName(store.dir(s)),
        directionSource: DIRECTION_SOURCES[store.dirSource(s)] ?? 'unknown',
        ts: store.ts(s),
        encap: encap ? (ENCAP_NAMES[store.encapKind(s)] ?? 'none') : 'none',
        outerSrc: encap ? this.outer(s, false) : null,
        outerDst: encap ? this.outer(s, true) : null,
        vni: encap && store.vni(s) >= 0 ? store.vni(s) : null,
        ttl: store.ttl(s),
        length: store.length(s),
      });
    }
    return hops;
  }

  private outer(s: number, dst: boolean): string {
    const store = this.store;
    const words = this.scratchWords;
    store.outerAddress(s, dst, words);
    return formatAddress(store.outerVersion(s), words);
  }
}
