/**
 * The flow table: one slot per (interface, direction, inner 5-tuple, outer encapsulation), found by
 * open addressing with an exact comparison of the key, so the per-packet cost is a hash, a probe or
 * two and a few writes. Every interval the counters are emitted as FlowRecords and reset; slots idle
 * for two intervals are recycled. A slot's direction may be learned after its first packet
 * (correlation finds it): the matcher writes it back through setDirection().
 *
 * Layout: flows are looked up in random order, so each slot's fields sit together (one stride of a
 * Uint32Array for the key, one of a Float64Array for the counters) rather than in one array per
 * field: a lookup then costs two or three cache misses instead of one per field.
 */
import { formatAddress } from '../../core/net/address.js';
import { Direction } from '../capture/capture-record.js';
import { ENCAP_NAMES, PacketView } from '../decode/packet-view.js';
import { directionName, type EncapLayerRecord, type FlowRecord } from '../../core/findings/flow-record.js';
import { EncapChains } from './encap-chains.js';
import { mix } from './hash-mix.js';
import type { InterfaceRegistry } from './interface-registry.js';
import { SIGHTING_TS, type Sighting } from './sighting.js';

// A slot is 32 words (two 64-byte cache lines). The first line holds what every lookup compares
// and every packet updates (IPv4 key words and the counters); the second the rest of the key.
const SLOT_WORDS = 32;
const K_IFACE = 0;
/** dirAtCreation | proto << 8 | ipVersion << 16 | encapKind << 24 */
const K_META = 1;
const K_SRC0 = 2;
const K_DST0 = 3;
const K_PORTS = 4;
const K_HASH = 5;
/** live | originated << 1 | resolved dir << 2 | idle intervals << 4 */
const K_STATE = 6;
/** Counters, as Float64 indexes relative to slot * SLOT_WORDS / 2 (words 8..15). */
const C_PACKETS = 4;
const C_BYTES = 5;
const C_FIRST = 6;
const C_LAST = 7;
/** Words 16..31: full addresses (4 words each) and the outer header. */
const K_SRC = 16;
const K_DST = 20;
const K_OUTER_SRC = 24;
const K_OUTER_DST = 28;
/** vni and outer version share word 7 of the first line's spare room. */
const K_VNI = 7;

export interface FlowTableStats {
  flows: number;
  records: number;
  /** Packets not counted in any flow because the table was full of flows active this interval. */
  overflowPackets: number;
}

export class FlowTable {
  /** Open-addressing buckets holding slot + 1 (0 = empty), at most half full. */
  private buckets = new Int32Array(0);
  private bucketMask = 0;
  private capacity = 0;
  private keys = new Uint32Array(0);
  /** The same memory as `keys`, as Float64 for the counters. */
  private counters = new Float64Array(0);
  /** Outer IP version per slot (rarely read). */
  private outerVersions = new Uint8Array(0);
  /** Per slot, the id of its whole encapsulation chain when it has two layers or more (else 0). */
  private chainIds = new Uint16Array(0);
  /** The chains those ids name. */
  readonly chains = new EncapChains();
  private freeList: number[] = [];
  private used = 0;
  readonly stats: FlowTableStats = { flows: 0, records: 0, overflowPackets: 0 };
  /** Set when the table is full of active flows: no rescans until the next flush frees slots. */
  private fullUntilFlush = false;
  /** Whether the last add() created its slot (a flow's first packet): callers learn from it once. */
  created = false;

  /**
   * @param maxFlows bound on slots, and so on memory (128 bytes each): when every slot holds a flow
   *   active in this interval, further new flows are counted as overflow until the next flush.
   */
  constructor(
    private readonly registry: InterfaceRegistry,
    initialCapacity = 1 << 12,
    private readonly maxFlows = 1 << 18,
  ) {
    this.grow(initialCapacity);
  }

  /** Counts one packet; returns the flow's slot. */
  add(s: Sighting): number {
    const view = s.view;
    const ifaceId = s.ifaceId;
    const dir = s.direction;
    const length = s.length;
    const src = view.src;
    const dst = view.dst;
    const depth = view.encapDepth;
    const proto = view.proto & 0xff;
    const kind = depth !== 0 ? (view.encapKind[0] as number) : 0;
    const chain = depth > 1 ? this.chains.idOf(view) : 0;
    const meta = (dir | (proto << 8) | (view.ipVersion << 16) | (kind << 24)) >>> 0;
    const ports = ((view.sport << 16) | view.dport) >>> 0;
    let h = mix(0x2545f491, ifaceId ^ meta);
    h = mix(h, src[0] as number);
    h = mix(h, dst[0] as number);
    h = mix(h, ports);
    if (view.ipVersion === 6) {
      h = mix(h, (src[3] as number) ^ (src[2] as number) ^ (src[1] as number));
      h = mix(h, (dst[3] as number) ^ (dst[2] as number) ^ (dst[1] as number));
    }
    if (kind !== 0) h = mix(h, (view.encapOuterSrc[0] as number) ^ (view.encapOuterDst[0] as number));
    if (chain !== 0) h = mix(h, chain);
    h ^= h >>> 16;
    const keys = this.keys;
    const mask = this.bucketMask;
    let b = h & mask;
    let slot = -1;
    for (let c = (this.buckets[b] as number) - 1; c >= 0; c = (this.buckets[b] as number) - 1) {
      const k = c * SLOT_WORDS;
      if (
        keys[k + K_META] === meta &&
        keys[k + K_SRC0] === src[0] &&
        keys[k + K_DST0] === dst[0] &&
        keys[k + K_PORTS] === ports &&
        keys[k + K_IFACE] === ifaceId &&
        this.chainIds[c] === chain &&
        this.sameRest(k, view, kind)
      ) {
        slot = c;
        break;
      }
      b = (b + 1) & mask;
    }
    this.created = slot < 0;
    if (slot < 0) {
      slot = this.allocate(view, ifaceId, meta, ports, kind, h);
      if (slot >= 0) this.chainIds[slot] = chain;
      if (slot < 0) {
        this.stats.overflowPackets++;
        return -1;
      }
    }
    const c = slot * (SLOT_WORDS / 2);
    const counters = this.counters;
    const ts = s.numbers[SIGHTING_TS] as number;
    counters[c + C_PACKETS]++;
    counters[c + C_BYTES] += length;
    if (ts < (counters[c + C_FIRST] as number)) counters[c + C_FIRST] = ts;
    if (ts > (counters[c + C_LAST] as number)) counters[c + C_LAST] = ts;
    return slot;
  }

  /** IPv6 words and the outer header: compared only once the cheap words matched. */
  private sameRest(k: number, view: PacketView, kind: number): boolean {
    const keys = this.keys;
    if (view.ipVersion === 6) {
      for (let i = 1; i < 4; i++) if (keys[k + K_SRC + i] !== view.src[i] || keys[k + K_DST + i] !== view.dst[i]) return false;
    }
    if (kind !== 0) {
      if (keys[k + K_VNI] !== view.encapVni[0]! >>> 0) return false;
      for (let i = 0; i < 4; i++) if (keys[k + K_OUTER_SRC + i] !== view.encapOuterSrc[i] || keys[k + K_OUTER_DST + i] !== view.encapOuterDst[i]) return false;
    }
    return true;
  }

  // ---- per-slot accessors (correlation and knowledge; not per packet) ----

  iface(slot: number): number {
    return this.keys[slot * SLOT_WORDS + K_IFACE] as number;
  }

  /** The direction: as keyed, or as correlation resolved it later. */
  dir(slot: number): Direction {
    const k = slot * SLOT_WORDS;
    const resolved = ((this.keys[k + K_STATE] as number) >>> 2) & 3;
    return (resolved !== 0 ? resolved : (this.keys[k + K_META] as number) & 0xff) as Direction;
  }

  ipVersion(slot: number): number {
    return ((this.keys[slot * SLOT_WORDS + K_META] as number) >>> 16) & 0xff;
  }

  encapKind(slot: number): number {
    return (this.keys[slot * SLOT_WORDS + K_META] as number) >>> 24;
  }

  outerVersion(slot: number): number {
    return this.outerVersions[slot] as number;
  }

  /** IP protocol of the flow's innermost packet. */
  proto(slot: number): number {
    return ((this.keys[slot * SLOT_WORDS + K_META] as number) >>> 8) & 0xff;
  }

  /** Source port << 16 | destination port (0 when the packet had no transport header). */
  portsWord(slot: number): number {
    return this.keys[slot * SLOT_WORDS + K_PORTS] as number;
  }

  /** The outermost layer's VNI or key as stored (0xffffffff for none); 0 without encapsulation. */
  vniWord(slot: number): number {
    return this.keys[slot * SLOT_WORDS + K_VNI] as number;
  }

  /** The id of the flow's whole encapsulation chain in `chains` when it has two layers or more, else 0. */
  chainId(slot: number): number {
    return this.chainIds[slot] as number;
  }

  /** The flow's encapsulation layers, outermost first (for reports: allocates). */
  encapLayers(slot: number): EncapLayerRecord[] {
    const chain = this.chainIds[slot] as number;
    if (chain !== 0) return this.chains.layers(chain);
    const kind = this.encapKind(slot);
    if (kind === 0) return [];
    const k = slot * SLOT_WORDS;
    const version = this.outerVersions[slot] as number;
    const vni = (this.keys[k + K_VNI] as number) | 0;
    return [{ kind: ENCAP_NAMES[kind] ?? 'none', src: formatAddress(version, this.keys, k + K_OUTER_SRC), dst: formatAddress(version, this.keys, k + K_OUTER_DST), vni: vni >= 0 ? vni : null }];
  }

  originated(slot: number): boolean {
    return (((this.keys[slot * SLOT_WORDS + K_STATE] as number) >>> 1) & 1) === 1;
  }

  /** The key array and the offsets of a slot's addresses in it (4 words each), for address keys. */
  get keyWords(): Uint32Array {
    return this.keys;
  }

  srcOffset(slot: number): number {
    return slot * SLOT_WORDS + K_SRC;
  }

  dstOffset(slot: number): number {
    return slot * SLOT_WORDS + K_DST;
  }

  outerSrcOffset(slot: number): number {
    return slot * SLOT_WORDS + K_OUTER_SRC;
  }

  outerDstOffset(slot: number): number {
    return slot * SLOT_WORDS + K_OUTER_DST;
  }

  /**
   * Sets the direction correlation found for a flow keyed without one; returns true when that made
   * the flow's direction known (the moment to learn from it), false when it was known already.
   */
  setDirection(slot: number, dir: Direction): boolean {
    if (slot < 0 || dir === Direction.Unknown) return false;
    const k = slot * SLOT_WORDS + K_STATE;
    const state = this.keys[k] as number;
    if ((state & 0b1100) !== 0 || ((this.keys[slot * SLOT_WORDS + K_META] as number) & 0xff) !== 0) return false;
    this.keys[k] = state | (dir << 2);
    return true;
  }

  /** Marks a flow as sent by the node itself; returns true the first time. */
  markOriginated(slot: number): boolean {
    if (slot < 0) return false;
    const k = slot * SLOT_WORDS + K_STATE;
    const state = this.keys[k] as number;
    if ((state & 2) !== 0) return false;
    this.keys[k] = state | 2;
    return true;
  }

  /**
   * Emits the interval's counters for every flow with packets and resets them; flows idle for two
   * intervals free their slot.
   */
  flush(onRecord: (record: FlowRecord, slot: number) => void): void {
    let released = false;
    this.fullUntilFlush = false;
    const keys = this.keys;
    const counters = this.counters;
    for (let s = 0; s < this.used; s++) {
      const k = s * SLOT_WORDS + K_STATE;
      const state = keys[k] as number;
      if ((state & 1) === 0) continue;
      const c = s * (SLOT_WORDS / 2);
      if (counters[c + C_PACKETS] === 0) {
        const idle = ((state >>> 4) & 0xf) + 1;
        keys[k] = (state & 0xf) | (idle << 4);
        if (idle >= 2) {
          keys[k] = 0;
          this.freeList.push(s);
          released = true;
        }
        continue;
      }
      keys[k] = state & 0xf;
      onRecord(this.toRecord(s), s);
      this.stats.records++;
      counters[c + C_PACKETS] = 0;
      counters[c + C_BYTES] = 0;
      counters[c + C_FIRST] = Infinity;
      counters[c + C_LAST] = -Infinity;
    }
    if (released) this.rehash(this.buckets.length);
  }

  /** Frees every slot without packets since the last flush; returns whether any was freed. */
  private releaseIdle(): boolean {
    const keys = this.keys;
    const counters = this.counters;
    let released = false;
    for (let s = 0; s < this.used; s++) {
      const k = s * SLOT_WORDS + K_STATE;
      if (((keys[k] as number) & 1) === 0 || counters[s * (SLOT_WORDS / 2) + C_PACKETS] !== 0) continue;
      keys[k] = 0;
      this.freeList.push(s);
      released = true;
    }
    if (released) this.rehash(this.buckets.length);
    return released;
  }

  toRecord(s: number): FlowRecord {
    const keys = this.keys;
    const k = s * SLOT_WORDS;
    const c = s * (SLOT_WORDS / 2);
    const iface = this.registry.interfaces[keys[k + K_IFACE] as number];
    const v = this.ipVersion(s);
    const encap = this.encapKind(s);
    const ov = this.outerVersions[s] as number;
    const ports = keys[k + K_PORTS] as number;
    return {
      node: iface?.node.name ?? '',
      iface: iface?.name ?? '',
      direction: directionName(this.dir(s)),
      ipVersion: v,
      src: formatAddress(v, keys, k + K_SRC),
      dst: formatAddress(v, keys, k + K_DST),
      proto: ((keys[k + K_META] as number) >>> 8) & 0xff,
      sport: ports >>> 16,
      dport: ports & 0xffff,
      encap: ENCAP_NAMES[encap] ?? 'none',
      outerSrc: encap !== 0 ? formatAddress(ov, keys, k + K_OUTER_SRC) : '',
      outerDst: encap !== 0 ? formatAddress(ov, keys, k + K_OUTER_DST) : '',
      vni: encap !== 0 ? (keys[k + K_VNI] as number) | 0 : -1,
      packets: this.counters[c + C_PACKETS] as number,
      bytes: this.counters[c + C_BYTES] as number,
      firstSeen: this.counters[c + C_FIRST] as number,
      lastSeen: this.counters[c + C_LAST] as number,
    };
  }

  private allocate(view: PacketView, ifaceId: number, meta: number, ports: number, kind: number, h: number): number {
    let s = this.freeList.pop();
    if (s === undefined) {
      if (this.used === this.capacity) {
        if (this.capacity >= this.maxFlows) {
          // Full: slots idle since the last flush hold nothing unreported; reuse them.
          if (this.fullUntilFlush || !this.releaseIdle()) {
            this.fullUntilFlush = true;
            return -1;
          }
          return this.allocate(view, ifaceId, meta, ports, kind, h);
        }
        this.grow(Math.min(this.capacity * 2, this.maxFlows));
      }
      s = this.used++;
    }
    this.stats.flows++;
    const keys = this.keys;
    const k = s * SLOT_WORDS;
    keys[k + K_IFACE] = ifaceId;
    keys[k + K_META] = meta;
    for (let i = 0; i < 4; i++) {
      keys[k + K_SRC + i] = view.src[i] as number;
      keys[k + K_DST + i] = view.dst[i] as number;
      keys[k + K_OUTER_SRC + i] = kind !== 0 ? (view.encapOuterSrc[i] as number) : 0;
      keys[k + K_OUTER_DST + i] = kind !== 0 ? (view.encapOuterDst[i] as number) : 0;
    }
    keys[k + K_SRC0] = view.src[0] as number;
    keys[k + K_DST0] = view.dst[0] as number;
    keys[k + K_PORTS] = ports;
    keys[k + K_VNI] = kind !== 0 ? (view.encapVni[0] as number) >>> 0 : 0;
    this.outerVersions[s] = kind !== 0 ? (view.encapOuterVersion[0] as number) : 0;
    keys[k + K_HASH] = h >>> 0;
    keys[k + K_STATE] = 1;
    const c = s * (SLOT_WORDS / 2);
    this.counters[c + C_PACKETS] = 0;
    this.counters[c + C_BYTES] = 0;
    this.counters[c + C_FIRST] = Infinity;
    this.counters[c + C_LAST] = -Infinity;
    this.insert(s, h);
    return s;
  }

  private insert(slot: number, h: number): void {
    const mask = this.bucketMask;
    let b = h & mask;
    while (this.buckets[b] !== 0) b = (b + 1) & mask;
    this.buckets[b] = slot + 1;
  }

  /** Rebuilds the buckets (after slots were freed, or to grow them). */
  private rehash(bucketCount: number): void {
    this.buckets = new Int32Array(bucketCount);
    this.bucketMask = bucketCount - 1;
    for (let s = 0; s < this.used; s++) {
      const k = s * SLOT_WORDS;
      if (((this.keys[k + K_STATE] as number) & 1) === 1) this.insert(s, this.keys[k + K_HASH] as number);
    }
  }

  private grow(cap: number): void {
    const buffer = new ArrayBuffer(cap * SLOT_WORDS * 4);
    const keys = new Uint32Array(buffer);
    keys.set(this.keys);
    this.keys = keys;
    this.counters = new Float64Array(buffer);
    const versions = new Uint8Array(cap);
    versions.set(this.outerVersions);
    this.outerVersions = versions;
    const chainIds = new Uint16Array(cap);
    chainIds.set(this.chainIds);
    this.chainIds = chainIds;
    this.capacity = cap;
    this.rehash(cap * 2);
  }
}
