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
 * Learning happens per flow record (once per flow and interval), never per packet.
 */
import { addressKey } from '../../core/net/address.js';
import type { FlowTable } from './flow-table.js';

export class NodeKnowledge {
  private readonly local = new Set<number>();
  private readonly location = new Map<number, number>();
  /** (src, dst) pair hash -> up to two exit interfaces, packed as (a + 1) + (b + 1) * 65536. */
  private readonly outPairs = new Map<number, number>();
  private readonly macVotes = new Map<number, Map<number, number>>();

  constructor(readonly coversAllInterfaces: () => boolean) {}

  isLocal(key: number): boolean {
    return this.local.has(key);
  }

  addLocal(key: number): void {
    this.local.add(key);
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
      if (n > bestVotes) {
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

  /** Learns from one flow slot of the table (called when its interval record is emitted). */
  learnFromFlow(table: FlowTable, slot: number, ifaceIsPodOrTunnel: boolean): void {
    const dir = table.dir(slot);
    const v = table.ipVersion(slot);
    const words = table.keyWords;
    const srcKey = addressKey(v, words, table.srcOffset(slot));
    const dstKey = addressKey(v, words, table.dstOffset(slot));
    const iface = table.iface(slot);
    const encap = table.encapKind(slot);
    if (encap !== 0) {
      const ov = table.outerVersion(slot);
      if (dir === 1) this.local.add(addressKey(ov, words, table.outerDstOffset(slot)));
      else if (dir === 2) this.local.add(addressKey(ov, words, table.outerSrcOffset(slot)));
      return; // inner addresses of an encapsulated sighting say nothing about this node's interfaces
    }
    if (dir === 1) {
      // An address sending in by a pod or tunnel interface lives behind it; on the uplink everything
      // outside the node would "live" there, which says nothing.
      if (ifaceIsPodOrTunnel || !this.location.has(srcKey)) this.location.set(srcKey, iface);
    } else if (dir === 2) {
      // Packets leaving by a pod or tunnel interface go to where their destination lives.
      if (ifaceIsPodOrTunnel && !this.location.has(dstKey)) this.location.set(dstKey, iface);
      const k = pairKey(srcKey, dstKey);
      const packed = this.outPairs.get(k);
      if (packed === undefined) this.outPairs.set(k, iface + 1);
      else if (packed < 65536 && packed !== iface + 1) this.outPairs.set(k, packed + (iface + 1) * 65536);
      if (table.originated(slot) && this.coversAllInterfaces()) this.local.add(srcKey);
    }
  }
}

/** A 53-bit key for an ordered address pair (collisions only blur evidence, never verdicts' safety). */
function pairKey(srcKey: number, dstKey: number): number {
  const a = Math.imul((srcKey % 4294967291) | 0, 0x9e3779b1) ^ ((dstKey % 4294967279) | 0);
  const b = Math.imul(((dstKey % 4294967291) | 0) ^ 0x5bd1e995, 0x85ebca6b) ^ ((srcKey % 2147483647) | 0);
  return ((a >>> 0) & 0x1fffff) * 4294967296 + (b >>> 0);
}
