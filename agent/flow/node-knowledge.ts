/**
 * What the traffic has taught us about one node, used to judge a missing hop:
 * - its own addresses (tunnel endpoints, and the senders of packets that never arrived from anywhere
 *   when every interface is captured): packets to or from them are never drop events;
 * - where an address lives (the interface its packets come in by): a packet for it should leave by
 *   that interface, so its absence there means something only if that interface was captured;
 * - which interfaces traffic from A to B leaves by: the reverse direction of a vanished packet tells
 *   whether the path is asymmetric (the reverse-path filter's trigger);
 * - each interface's own MAC address, learned from packets whose direction is known, which gives
 *   the direction of packets captured without it (plain pcap files).
 *
 * Learning happens once per flow, when the flow's direction becomes known: at its first packet when
 * the capture says it, else when correlation resolves it (NodeHopMatcher); never per packet, and
 * never at the flow table's interval flushes, whose timing would make the knowledge at any moment
 * depend on how the input was read.
 *
 * The engine asks with numeric address keys (addressKey); factsFor() exports what the judge needs
 * as plain data (NodeKnowledgeFacts), the seam's form.
 */
import { Direction } from '../capture/capture-record.js';
import type { InterfaceMac, NodeKnowledgeFacts, PairExits, AddressLocation } from '../../core/findings/node-findings.js';
import { addressKey, formatAddress } from '../../core/net/address.js';
import { formatMac } from '../../core/net/mac.js';
import type { FlowTable } from './flow-table.js';

/** An address the judge will ask about: its key, its text, and the interface of the question. */
export interface AddressQuestion {
  readonly srcKey: number;
  readonly dstKey: number;
  readonly src: string;
  readonly dst: string;
  readonly ifaceId: number;
}

/** Own addresses exported at most (a node has a handful; this bounds a pathological capture). */
const MAX_OWN_ADDRESSES = 4096;

export class NodeKnowledge {
  /** Own addresses: key -> text. */
  private readonly local = new Map<number, string>();
  private readonly location = new Map<number, number>();
  /** (src, dst) pair hash -> up to two exit interfaces, packed as (a + 1) + (b + 1) * 65536. */
  private readonly outPairs = new Map<number, number>();
  private readonly macVotes = new Map<number, Map<number, number>>();

  constructor(readonly coversAllInterfaces: () => boolean) {}

  isLocal(key: number): boolean {
    return this.local.has(key);
  }

  addLocal(key: number, text: string): void {
    if (!this.local.has(key)) this.local.set(key, text);
  }

  /** The interface behind which `key` was seen sending, or -1. */
  locationOf(key: number): number {
    return this.location.get(key) ?? -1;
  }

  /** Interfaces (at most two are remembered) by which traffic from `srcKey` to `dstKey` left the node. */
  exitsFor(srcKey: number, dstKey: number): number[] {
    const packed = this.outPairs.get(pairKey(srcKey, dstKey));
    if (packed === undefined) return [];
    const a = (packed % 65536) - 1;
    const b = Math.floor(packed / 65536) - 1;
    return b >= 0 ? [a, b] : [a];
  }

  /** The interface's own MAC as learned so far, or -1. */
  ownMac(iface: number): number {
    const votes = this.macVotes.get(iface);
    if (!votes) return -1;
    let best = -1;
    let bestVotes = 0;
    for (const [mac, n] of votes) {
      if (n > bestVotes || (n === bestVotes && mac < best)) {
        best = mac;
        bestVotes = n;
      }
    }
    return best;
  }

  voteOwnMac(iface: number, mac: number): void {
    // Group addresses (the I/G bit of the first octet) are never an interface's own.
    if (mac < 0 || Math.floor(mac / 2 ** 40) % 2 === 1) return;
    let votes = this.macVotes.get(iface);
    if (!votes) {
      votes = new Map();
      this.macVotes.set(iface, votes);
    }
    votes.set(mac, (votes.get(mac) ?? 0) + 1);
  }

  /** Learns from one flow slot whose direction is now known (its first packet, or resolved later). */
  learnFromFlow(table: FlowTable, slot: number, ifaceIsPodOrTunnel: boolean): void {
    const dir = table.dir(slot);
    if (dir === Direction.Unknown) return;
    const v = table.ipVersion(slot);
    const words = table.keyWords;
    const iface = table.iface(slot);
    if (table.encapKind(slot) !== 0) {
      // The outer address on our side is ours: the tunnel endpoint.
      const ov = table.outerVersion(slot);
      const at = dir === Direction.In ? table.outerDstOffset(slot) : table.outerSrcOffset(slot);
      this.addLocal(addressKey(ov, words, at), formatAddress(ov, words, at));
      return; // inner addresses of an encapsulated sighting say nothing about this node's interfaces
    }
    const srcKey = addressKey(v, words, table.srcOffset(slot));
    const dstKey = addressKey(v, words, table.dstOffset(slot));
    if (dir === Direction.In) {
      // An address sending in by a pod or tunnel interface lives behind it; on the uplink everything
      // outside the node would "live" there, which says nothing.
      if (ifaceIsPodOrTunnel || !this.location.has(srcKey)) this.location.set(srcKey, iface);
      return;
    }
    // Packets leaving by a pod or tunnel interface go to where their destination lives.
    if (ifaceIsPodOrTunnel && !this.location.has(dstKey)) this.location.set(dstKey, iface);
    const k = pairKey(srcKey, dstKey);
    const packed = this.outPairs.get(k);
    if (packed === undefined) this.outPairs.set(k, iface + 1);
    else if (packed < 65536 && packed !== iface + 1) this.outPairs.set(k, packed + (iface + 1) * 65536);
  }

  /** A flow whose packets left without having arrived: with every interface captured, its source is ours. */
  learnOriginated(table: FlowTable, slot: number): void {
    if (!this.coversAllInterfaces() || table.encapKind(slot) !== 0) return;
    const v = table.ipVersion(slot);
    const words = table.keyWords;
    const at = table.srcOffset(slot);
    this.addLocal(addressKey(v, words, at), formatAddress(v, words, at));
  }

  /**
   * The facts the judge needs about these questions (each candidate's addresses and arrival
   * interface), as plain data in a canonical order. Own addresses are all exported: cross-node
   * stitching needs them to know which node a tunnel leads to.
   */
  factsFor(questions: readonly AddressQuestion[], ifaceName: (id: number) => string): NodeKnowledgeFacts {
    const ownAddresses = [...this.local.values()].sort().slice(0, MAX_OWN_ADDRESSES);
    const locations = new Map<string, AddressLocation>();
    const exits = new Map<string, PairExits>();
    const macs = new Map<string, InterfaceMac>();
    const locate = (key: number, address: string): void => {
      const at = this.location.get(key);
      if (at !== undefined && !locations.has(address)) locations.set(address, { address, iface: ifaceName(at) });
    };
    for (const q of questions) {
      locate(q.srcKey, q.src);
      locate(q.dstKey, q.dst);
      // The way back: traffic from the destination to the source.
      const back = this.exitsFor(q.dstKey, q.srcKey);
      if (back.length > 0) exits.set(`${q.dst} ${q.src}`, { src: q.dst, dst: q.src, ifaces: back.map(ifaceName) });
      const mac = formatMac(this.ownMac(q.ifaceId));
      const iface = ifaceName(q.ifaceId);
      if (mac !== null) macs.set(iface, { iface, mac });
    }
    const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    return {
      ownAddresses,
      locations: [...locations.values()].sort((a, b) => byText(a.address, b.address)),
      exits: [...exits.values()].sort((a, b) => byText(a.src, b.src) || byText(a.dst, b.dst)),
      ownMacs: [...macs.values()].sort((a, b) => byText(a.iface, b.iface)),
    };
  }
}

/** A 53-bit key for an ordered address pair (collisions only blur evidence, never verdicts' safety). */
function pairKey(srcKey: number, dstKey: number): number {
  const a = Math.imul((srcKey % 4294967291) | 0, 0x9e3779b1) ^ ((dstKey % 4294967279) | 0);
  const b = Math.imul(((dstKey % 4294967291) | 0) ^ 0x5bd1e995, 0x85ebca6b) ^ ((srcKey % 2147483647) | 0);
  return ((a >>> 0) & 0x1fffff) * 4294967296 + (b >>> 0);
}
