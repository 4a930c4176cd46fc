/**
 * A node's vanish candidates while they gather packets, grouped by (arrival interface, addresses,
 * protocol, ports, certainty of direction) with an exact key: a hash finds the bucket, and every
 * field of the key is compared, so two groups never merge however their hashes collide. Objects are
 * made only for a group's first packet; later packets of the group are a lookup and a few writes.
 *
 * Groups are taken (drained) as findings: a live agent takes them every tick, replay as capture
 * time advances, so memory is bounded by what vanished since the last take.
 */
import type { Hop, PacketIdentity } from '../../core/findings/hop.js';
import type { PacketSample } from '../../core/findings/node-findings.js';

/** What identifies a group, numerically (addresses as the decoder's 4 words). */
export interface CandidateKey {
  readonly ifaceId: number;
  readonly ipVersion: number;
  readonly src: Uint32Array;
  readonly dst: Uint32Array;
  readonly proto: number;
  readonly sport: number;
  readonly dport: number;
  readonly uncertain: boolean;
}

/** A group as the engine keeps it (mutable); becomes a VanishCandidate when taken. */
export interface CandidateGroup extends CandidateKey {
  readonly identity: PacketIdentity;
  packets: number;
  firstSeen: number;
  lastSeen: number;
  readonly fingerprints: number[];
  /** The first packet's hops on this node. */
  readonly path: Hop[];
  readonly arrivalMacSrc: number;
  readonly arrivalMacDst: number;
  sample: PacketSample | undefined;
}

export const SAMPLE_FINGERPRINTS = 5;

export class CandidateGroups {
  private readonly buckets = new Map<number, CandidateGroup[]>();
  private count = 0;
  /** Candidate packets that found no room (the bound on groups was reached). */
  overflow = 0;

  constructor(private readonly maxGroups: number) {}

  get size(): number {
    return this.count;
  }

  /** The group with exactly this key, or undefined. */
  find(k: CandidateKey): CandidateGroup | undefined {
    const list = this.buckets.get(hashKey(k));
    if (!list) return undefined;
    for (const g of list) if (sameKey(g, k)) return g;
    return undefined;
  }

  /** Adds a new group (the caller found none with its key); false when the bound is reached. */
  add(g: CandidateGroup): boolean {
    if (this.count >= this.maxGroups) return false;
    const h = hashKey(g);
    const list = this.buckets.get(h);
    if (list) list.push(g);
    else this.buckets.set(h, [g]);
    this.count++;
    return true;
  }

  /** Every group gathered since the last take, in the order they were first seen; empties the set. */
  take(): CandidateGroup[] {
    const all: CandidateGroup[] = [];
    for (const list of this.buckets.values()) all.push(...list);
    this.buckets.clear();
    this.count = 0;
    return all.sort((a, b) => a.firstSeen - b.firstSeen);
  }
}

function hashKey(k: CandidateKey): number {
  let h = Math.imul(k.ifaceId ^ 0x9e3779b9, 0x85ebca6b) ^ k.proto ^ (k.uncertain ? 0x40000000 : 0);
  for (let i = 0; i < 4; i++) h = Math.imul(h ^ (k.src[i] as number), 0xcc9e2d51) ^ (k.dst[i] as number);
  h = Math.imul(h ^ (h >>> 15), 0x1b873593) ^ ((k.sport << 16) | k.dport);
  return (h ^ (h >>> 13)) >>> 0;
}

function sameKey(g: CandidateKey, k: CandidateKey): boolean {
  if (g.ifaceId !== k.ifaceId || g.proto !== k.proto || g.sport !== k.sport || g.dport !== k.dport || g.uncertain !== k.uncertain || g.ipVersion !== k.ipVersion) return false;
  for (let i = 0; i < 4; i++) if (g.src[i] !== k.src[i] || g.dst[i] !== k.dst[i]) return false;
  return true;
}
