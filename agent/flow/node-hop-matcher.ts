/**
 * Within-node matching: the sightings of one packet on one node's interfaces, gathered by
 * fingerprint for a correlation window, then judged. A packet that arrived (in on any interface; an
 * encapsulated arrival on the uplink counts once with its decapsulated twin on the tunnel) and did
 * not leave (out on any interface) is a vanish candidate, grouped by (interface, src, dst, protocol,
 * ports). Whether a candidate is a real drop depends on what the node's traffic teaches overall
 * (its addresses, where addresses live) and is decided later by judgeVanishedGroup.
 *
 * Per packet this costs one Map lookup and a few typed-array writes; objects are made only for
 * vanish candidates and cross-node hops.
 */
import { ENCAP_NAMES, PacketView } from '../decode/packet-view.js';
import { addressKey, formatAddress, isNonUnicastOrLinkLocal } from '../../core/net/address.js';
import { DIR_IN, DIR_OUT, DIR_UNKNOWN, inferFromHopOrder, inferFromKnowledge } from './direction-inference.js';
import { fingerprintToHex } from './fingerprint.js';
import { directionName } from '../../core/findings/flow-record.js';
import type { FlowTable } from './flow-table.js';
import type { DirectionSourceName, Hop, PacketIdentity, VanishedGroup } from '../../core/findings/hop.js';
import type { InterfaceRegistry, NodeInfo } from './interface-registry.js';
import { NodeKnowledge } from './node-knowledge.js';
import { OpenPacketTable } from './open-packet-table.js';
import type { PacketBytesRing } from './packet-bytes-ring.js';
import { SightingStore } from './sighting-store.js';

export interface HopMatcherConfig {
  /** How long after its first sighting a packet may still be seen elsewhere on the node. */
  readonly windowMs: number;
  /** Cap on distinct vanish groups kept per node; beyond it packets are only counted. */
  readonly maxVanishedGroups: number;
  /**
   * A live agent (one node) reports the encapsulated hops of one packet in N, chosen by
   * fingerprint so both ends of the tunnel pick the same packets, for the collector to stitch
   * across nodes. Unset: cross-node hops are reported only when several nodes are watched here.
   */
  readonly crossNodeSampleOneIn?: number;
}

export const DEFAULT_HOP_MATCHER_CONFIG: HopMatcherConfig = { windowMs: 250, maxVanishedGroups: 100_000 };

/** Encapsulated hops that leave toward, or arrive from, another node: for cross-node stitching. */
export interface CrossNodeSink {
  departure(fingerprint: number, nodeIndex: number, outerDst: string, ts: number, path: Hop[], identity: PacketIdentity): void;
  arrival(fingerprint: number, nodeIndex: number, outerSrc: string, ts: number): void;
  /** Fills `into` with the packet's hops on other nodes, now or when they are known. */
  requestUpstream(fingerprint: number, nodeIndex: number, into: Hop[]): void;
}

export interface NodeMatchStats {
  packets: number;
  sightings: number;
  forwarded: number;
  originated: number;
  vanishCandidates: number;
  /** Packets seen on one interface only with no way to tell their direction. */
  directionUnknown: number;
  /** Multicast, broadcast, link-local: never judged. */
  notUnicast: number;
  vanishedGroupsOverflow: number;
  /** Arrived and not seen leaving, but only in sightings the snap length cut short: not judged. */
  truncatedUnjudged: number;
  /** Arrived within the last window before the capture ended: its exit may simply not be in the file. */
  captureEndedUnjudged: number;
  /** Arrived for (or from) an address already known to be the node's own. */
  local: number;
}

const MAX_GROUP_SIGHTINGS = 64;
const SAMPLE_FINGERPRINTS = 5;
const DIRECTION_SOURCES: readonly DirectionSourceName[] = ['unknown', 'pcapng-flags', 'linux-packet-type', 'learned-mac', 'addresses', 'hop-order'];

/**
 * Order of stages inside the kernel for sightings with equal timestamps: an encapsulated arrival,
 * then the decapsulated arrival, then a plain departure, then an encapsulated departure. Unknown
 * directions sort as arrivals.
 */
function stageRank(store: SightingStore, s: number): number {
  const encap = store.encapDepth(s) !== 0;
  if (store.dir(s) === DIR_OUT) return encap ? 3 : 2;
  return encap ? 0 : 1;
}

export class NodeHopMatcher {
  readonly knowledge: NodeKnowledge;
  readonly vanished = new Map<number, VanishedGroup>();
  readonly stats: NodeMatchStats = {
    packets: 0,
    sightings: 0,
    forwarded: 0,
    originated: 0,
    vanishCandidates: 0,
    directionUnknown: 0,
    notUnicast: 0,
    vanishedGroupsOverflow: 0,
    truncatedUnjudged: 0,
    captureEndedUnjudged: 0,
    local: 0,
  };
  private readonly store = new SightingStore();
  private readonly open = new OpenPacketTable();
  private readonly order = new Int32Array(MAX_GROUP_SIGHTINGS);
  private readonly scratchWords = new Uint32Array(4);
  /** Per interface id: 0 not looked up yet, 1 not a tunnel, 2 a tunnel. */
  private tunnelFlags = new Uint8Array(64);

  constructor(
    readonly node: NodeInfo,
    private readonly registry: InterfaceRegistry,
    private readonly flows: FlowTable,
    private readonly config: HopMatcherConfig = DEFAULT_HOP_MATCHER_CONFIG,
    private readonly crossNode?: CrossNodeSink,
    /** Where the pipeline keeps recent packets' first bytes, when it does. */
    private readonly packetBytes?: PacketBytesRing,
  ) {
    this.knowledge = new NodeKnowledge(() => node.coversAllInterfaces);
  }

  /**
   * Records one sighting of the packet decoded in `view` (fingerprint `fp`, already computed);
   * `bytesSeq` is where the pipeline kept its first bytes (-1: not kept).
   */
  observe(view: PacketView, data: Uint8Array, fp: number, weak: boolean, ifaceId: number, dir: number, dirSource: number, ts: number, length: number, flowSlot: number, bytesSeq = -1): void {
    const open = this.open;
    this.stats.sightings++;
    let e = open.find(fp, ts, this.config.windowMs);
    if (e < 0) e = open.create(fp, ts, view);
    else if (open.resolved(e)) return; // already seen leaving: nothing more to learn from it
    const store = this.store;
    const s = store.alloc();
    store.write(s, view, data, ifaceId, dir, dir === DIR_UNKNOWN ? 0 : dirSource, ts, length, flowSlot, weak, bytesSeq);
    const tail = open.tail(e);
    if (tail < 0) open.setChain(e, s, s);
    else {
      store.setNext(tail, s);
      open.setChain(e, open.head(e), s);
    }
    if (dir !== DIR_UNKNOWN && !weak && this.registry.nodes.length === 1) this.countStage(e, dir, view.encapDepth !== 0, ifaceId);
  }

  /**
   * Keeps the entry's stage counts; once the packet has arrived and left (as many departures as
   * arrivals, an encapsulated hop and its decapsulated twin counting once), it is forwarded: its
   * sightings are released now, while they are in cache, instead of being judged at expiry. Only
   * for one node: several nodes need every hop for stitching.
   */
  private countStage(e: number, dir: number, encap: boolean, ifaceId: number): void {
    // A packet sampled for cross-node stitching is judged at expiry, where its hops are reported.
    const sample = this.config.crossNodeSampleOneIn;
    if (sample !== undefined && this.crossNode && this.open.fingerprint(e) % sample === 0) return;
    const stages = this.open.stageBytes;
    const o = this.open.stageOffset(e);
    const b = o + (dir === DIR_OUT ? 3 : 0) + (encap ? 2 : this.isTunnel(ifaceId) ? 1 : 0);
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
      this.stats.forwarded++;
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

  /** Judges every packet whose window closed before `watermark` (ms): all inputs have passed it. */
  expire(watermark: number): void {
    const open = this.open;
    const window = this.config.windowMs;
    for (let e = open.oldest(); e >= 0 && open.firstTs(e) + window < watermark; e = open.oldest()) {
      this.evaluate(e);
      open.removeOldest();
    }
  }

  /**
   * End of input: judges what is still open. Packets first seen within the last window before
   * `endTs` (when the earliest input ended) may have left after the capture stopped: not judged.
   */
  expireAll(endTs: number): void {
    const horizon = endTs - this.config.windowMs;
    for (let e = this.open.oldest(); e >= 0; e = this.open.oldest()) {
      this.evaluate(e, this.open.firstTs(e) <= horizon);
      this.open.removeOldest();
    }
  }

  /** Forgets vanish groups whose last packet is older than `before` (ms): live nodes run for months. */
  pruneVanished(before: number): void {
    for (const [key, g] of this.vanished) if (g.lastSeen < before) this.vanished.delete(key);
  }

  get openPackets(): number {
    return this.open.size;
  }

  private evaluate(e: number, judgeable = true): void {
    const open = this.open;
    const store = this.store;
    const order = this.order;
    this.stats.packets++;
    if (open.resolved(e)) return; // forwarded, counted when it was seen leaving
    // Gather the chain, time-ordered (insertion sort: groups are a handful of sightings).
    let n = 0;
    for (let s = open.head(e); s >= 0; ) {
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
    const v = open.ipVersion(e);
    const words = open.words;
    if (isNonUnicastOrLinkLocal(v, words, open.dstOffset(e)) || isNonUnicastOrLinkLocal(v, words, open.srcOffset(e))) {
      this.stats.notUnicast++;
      this.release(n);
      return;
    }
    const srcKey = addressKey(v, words, open.srcOffset(e));
    const dstKey = addressKey(v, words, open.dstOffset(e));

    // Stitching across nodes only means something when several nodes are watched.
    const sample = this.config.crossNodeSampleOneIn;
    const crossNode =
      this.registry.nodes.length > 1 || (sample !== undefined && open.fingerprint(e) % sample === 0) ? this.crossNode : undefined;
    let unknown = 0;
    for (let i = 0; i < n; i++) {
      const s = order[i] as number;
      if (store.dir(s) === DIR_UNKNOWN && inferFromKnowledge(store, s, this.knowledge, srcKey, dstKey) === DIR_UNKNOWN) unknown++;
    }
    if (unknown > 0 && n > 1) inferFromHopOrder(store, order, n, this.registry, this.knowledge);

    let inPlain = 0;
    let inTunnel = 0;
    let inEncap = 0;
    let outPlain = 0;
    let outTunnel = 0;
    let outEncap = 0;
    let lastArrival = -1;
    let strongArrival = false;
    let linkGroup = 0;
    unknown = 0;
    for (let i = 0; i < n; i++) {
      const s = order[i] as number;
      const dir = store.dir(s);
      const encap = store.encapDepth(s) !== 0;
      const tunnel = !encap && this.registry.interfaces[store.iface(s)]?.role === 'tunnel';
      this.flows.setDirection(store.flowSlot(s), dir);
      if (dir === DIR_IN) {
        if (encap) inEncap++;
        else if (tunnel) inTunnel++;
        else inPlain++;
        // The packet vanished after its last arrival; a decapsulated arrival comes after its
        // encapsulated twin, whatever the timestamps say.
        if (lastArrival < 0 || !encap || store.encapDepth(lastArrival) !== 0) lastArrival = s;
        if (!store.weak(s)) strongArrival = true;
        linkGroup |= store.linkGroup(s);
        if (encap && crossNode) crossNode.arrival(open.fingerprint(e), this.node.index, this.outer(s, false), store.ts(s));
      } else if (dir === DIR_OUT) {
        if (encap) outEncap++;
        else if (tunnel) outTunnel++;
        else outPlain++;
      } else {
        unknown++;
      }
    }
    const arrivals = inPlain + inTunnel + Math.max(0, inEncap - inTunnel);
    const departures = outPlain + outTunnel + Math.max(0, outEncap - outTunnel);

    if (arrivals === 0 && departures > 0) {
      this.stats.originated++;
      for (let i = 0; i < n; i++) {
        const s = order[i] as number;
        if (store.dir(s) === DIR_OUT) this.flows.markOriginated(store.flowSlot(s));
      }
    } else if (arrivals > departures) {
      if (linkGroup !== 0) this.stats.notUnicast++;
      else if (this.knowledge.isLocal(dstKey) || this.knowledge.isLocal(srcKey)) this.stats.local += arrivals - departures;
      else if (!strongArrival) this.stats.truncatedUnjudged += arrivals - departures;
      else if (!judgeable) this.stats.captureEndedUnjudged += arrivals - departures;
      else this.addCandidate(e, n, lastArrival, arrivals - departures, false, srcKey, dstKey);
    } else if (arrivals > 0) {
      this.stats.forwarded++;
    } else if (unknown > 0) {
      // Seen only where nothing tells which way it went: judged later, if the node has more than one
      // captured interface (otherwise nothing here can be missing a hop).
      this.stats.directionUnknown++;
      if (judgeable && !store.weak(order[n - 1] as number) && (this.node.coversAllInterfaces || this.registry.interfacesOf(this.node).length > 1)) {
        this.addCandidate(e, n, order[n - 1] as number, 1, true, srcKey, dstKey);
      }
    }
    if (outEncap > 0 && crossNode) {
      let path: Hop[] | undefined;
      for (let i = 0; i < n; i++) {
        const s = order[i] as number;
        if (store.dir(s) === DIR_OUT && store.encapDepth(s) !== 0) {
          path ??= this.path(n);
          crossNode.departure(open.fingerprint(e), this.node.index, this.outer(s, true), store.ts(s), path, this.identity(e));
        }
      }
    }
    this.release(n);
  }

  private release(n: number): void {
    for (let i = 0; i < n; i++) this.store.release(this.order[i] as number);
  }

  private addCandidate(e: number, n: number, arrival: number, count: number, uncertain: boolean, srcKey: number, dstKey: number): void {
    const open = this.open;
    const store = this.store;
    this.stats.vanishCandidates += count;
    const ifaceId = store.iface(arrival);
    const proto = open.proto(e);
    // Groups are keyed by a hash of the numeric identity: text is made only for a new group.
    let h = Math.imul(ifaceId ^ 0x9e3779b9, 0x85ebca6b) ^ proto ^ (uncertain ? 0x40000000 : 0);
    h = Math.imul(h ^ (srcKey % 4294967291), 0xcc9e2d51) ^ (dstKey % 4294967279);
    h = Math.imul(h ^ (h >>> 15), 0x1b873593) ^ ((open.sport(e) << 16) | open.dport(e));
    const key = (((h ^ (h >>> 13)) >>> 0) * 2097152 + ((srcKey + dstKey * 31) % 2097152)) ;
    const ts = store.ts(arrival);
    const existing = this.vanished.get(key);
    if (existing) {
      existing.packets += count;
      if (ts < existing.firstSeen) existing.firstSeen = ts;
      if (ts > existing.lastSeen) existing.lastSeen = ts;
      if (existing.fingerprints.length < SAMPLE_FINGERPRINTS) existing.fingerprints.push(fingerprintToHex(open.fingerprint(e)));
      // The first packet's bytes may have been overwritten on a busy node; a later one's will do.
      if (!existing.sampleBytes && this.packetBytes) existing.sampleBytes = this.packetBytes.get(store.bytesSeq(arrival));
      return;
    }
    const identity = this.identity(e);
    const fp = fingerprintToHex(open.fingerprint(e));
    if (this.vanished.size >= this.config.maxVanishedGroups) {
      this.stats.vanishedGroupsOverflow += count;
      return;
    }
    const iface = this.registry.interfaces[ifaceId];
    const upstreamPath: Hop[] = [];
    if (!uncertain) this.crossNode?.requestUpstream(open.fingerprint(e), this.node.index, upstreamPath);
    this.vanished.set(key, {
      key: `${ifaceId}|${identity.src}|${identity.dst}|${proto}|${identity.sport}|${identity.dport}|${uncertain ? 'u' : 'c'}`,
      node: this.node.name,
      nodeIndex: this.node.index,
      iface: iface?.name ?? `if${ifaceId}`,
      ifaceId,
      role: iface?.role ?? 'other',
      identity,
      srcKey,
      dstKey,
      packets: count,
      firstSeen: ts,
      lastSeen: ts,
      directionUncertain: uncertain,
      fingerprints: [fp],
      samplePath: this.path(n),
      upstreamPath,
      arrivalMacSrc: store.macSrc(arrival),
      arrivalMacDst: store.macDst(arrival),
      sampleBytes: this.packetBytes?.get(store.bytesSeq(arrival)),
    });
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

  /** The current group's sightings as hops, in time order. */
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
        vni: encap && (store.vni(s)) >= 0 ? (store.vni(s)) : null,
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
