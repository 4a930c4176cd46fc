/**
 * The flow table: one slot per (interface, direction, inner 5-tuple, outer encapsulation), counters
 * in typed arrays, keyed by a 53-bit hash so the per-packet cost is one Map lookup and a few array
 * writes. Every interval the counters are emitted as FlowRecords and reset; slots idle for two
 * intervals are recycled. A slot's direction may be learned after its first packet (correlation
 * finds it): the matcher writes it back through setDirection().
 */
import { formatAddress } from './address.js';
import { ENCAP_NAMES, PacketView } from '../decode/packet-view.js';
import { directionName, type FlowRecord } from './flow-record.js';
import { growTypedArray } from './grow-typed-array.js';
import type { InterfaceRegistry } from './interface-registry.js';


function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

export interface FlowTableStats {
  flows: number;
  records: number;
}

export class FlowTable {
  private readonly bySlotKey = new Map<number, number>();
  private capacity = 0;
  key = new Float64Array(0);
  iface = new Int32Array(0);
  dir = new Uint8Array(0);
  ipVersion = new Uint8Array(0);
  src = new Uint32Array(0);
  dst = new Uint32Array(0);
  proto = new Int16Array(0);
  sport = new Uint16Array(0);
  dport = new Uint16Array(0);
  encapKind = new Uint8Array(0);
  outerVersion = new Uint8Array(0);
  outerSrc = new Uint32Array(0);
  outerDst = new Uint32Array(0);
  vni = new Int32Array(0);
  packets = new Float64Array(0);
  bytes = new Float64Array(0);
  first = new Float64Array(0);
  last = new Float64Array(0);
  idleIntervals = new Uint8Array(0);
  /** Set by correlation: this flow's packets were sent by the node itself (never seen arriving). */
  originated = new Uint8Array(0);
  private freeList: number[] = [];
  private used = 0;
  readonly stats: FlowTableStats = { flows: 0, records: 0 };

  constructor(
    private readonly registry: InterfaceRegistry,
    initialCapacity = 1 << 12,
  ) {
    this.grow(initialCapacity);
  }

  /** Counts one packet; returns the flow's slot. */
  add(view: PacketView, ifaceId: number, dir: number, ts: number, length: number): number {
    let h1 = mix(ifaceId * 4 + dir, view.ipVersion | (view.proto << 8));
    let h2 = mix(0x2545f491 ^ (ifaceId * 4 + dir), view.proto ^ (view.ipVersion << 16));
    for (let k = 0; k < 4; k++) {
      h1 = mix(h1, view.src[k] as number);
      h2 = mix(h2, view.dst[k] as number);
      h1 = mix(h1, view.dst[k] as number);
      h2 = mix(h2, view.src[k] as number);
    }
    const ports = (view.sport << 16) | view.dport;
    h1 = mix(h1, ports);
    h2 = mix(h2, ports ^ 0x6a09e667);
    const depth = view.encapDepth;
    if (depth !== 0) {
      h1 = mix(h1, (view.encapKind[0] as number) | ((view.encapVni[0] as number) << 8));
      h2 = mix(h2, view.encapOuterSrc[0] as number);
      h1 = mix(h1, view.encapOuterDst[0] as number);
      h2 = mix(h2, view.encapOuterDst[3] as number);
    }
    const k = ((h1 >>> 0) & 0x1fffff) * 4294967296 + (h2 >>> 0);
    let slot = this.bySlotKey.get(k);
    if (slot === undefined) {
      slot = this.allocate(k, view, ifaceId, dir, ts);
    }
    this.packets[slot]++;
    this.bytes[slot] += length;
    if (ts < (this.first[slot] as number)) this.first[slot] = ts;
    if (ts > (this.last[slot] as number)) this.last[slot] = ts;
    return slot;
  }

  setDirection(slot: number, dir: number): void {
    if (this.dir[slot] === 0) this.dir[slot] = dir;
  }

  markOriginated(slot: number): void {
    this.originated[slot] = 1;
  }

  /**
   * Emits the interval's counters for every flow with packets and resets them; flows idle for two
   * intervals free their slot. `onRecord` also feeds node knowledge (see NodeKnowledge.learnFromFlow).
   */
  flush(onRecord: (record: FlowRecord, slot: number) => void): void {
    for (let s = 0; s < this.used; s++) {
      if (this.key[s] === -1) continue;
      if (this.packets[s] === 0) {
        this.idleIntervals[s] = (this.idleIntervals[s] as number) + 1;
        if ((this.idleIntervals[s] as number) >= 2) this.release(s);
        continue;
      }
      this.idleIntervals[s] = 0;
      onRecord(this.toRecord(s), s);
      this.stats.records++;
      this.packets[s] = 0;
      this.bytes[s] = 0;
      this.first[s] = Infinity;
      this.last[s] = -Infinity;
    }
  }

  toRecord(s: number): FlowRecord {
    const iface = this.registry.interfaces[this.iface[s] as number];
    const v = this.ipVersion[s] as number;
    const encap = this.encapKind[s] as number;
    const ov = this.outerVersion[s] as number;
    return {
      node: iface?.node.name ?? '',
      iface: iface?.name ?? '',
      direction: directionName(this.dir[s] as number),
      ipVersion: v,
      src: formatAddress(v, this.src, s * 4),
      dst: formatAddress(v, this.dst, s * 4),
      proto: this.proto[s] as number,
      sport: this.sport[s] as number,
      dport: this.dport[s] as number,
      encap: ENCAP_NAMES[encap] ?? 'none',
      outerSrc: encap !== 0 ? formatAddress(ov, this.outerSrc, s * 4) : '',
      outerDst: encap !== 0 ? formatAddress(ov, this.outerDst, s * 4) : '',
      vni: encap !== 0 ? (this.vni[s] as number) : -1,
      packets: this.packets[s] as number,
      bytes: this.bytes[s] as number,
      firstSeen: this.first[s] as number,
      lastSeen: this.last[s] as number,
    };
  }

  private allocate(k: number, view: PacketView, ifaceId: number, dir: number, ts: number): number {
    let s = this.freeList.pop();
    if (s === undefined) {
      if (this.used === this.capacity) this.grow(this.capacity * 2);
      s = this.used++;
    }
    this.bySlotKey.set(k, s);
    this.stats.flows++;
    this.key[s] = k;
    this.iface[s] = ifaceId;
    this.dir[s] = dir;
    this.ipVersion[s] = view.ipVersion;
    const b = s * 4;
    for (let i = 0; i < 4; i++) {
      this.src[b + i] = view.src[i] as number;
      this.dst[b + i] = view.dst[i] as number;
    }
    this.proto[s] = view.proto;
    this.sport[s] = view.sport;
    this.dport[s] = view.dport;
    const depth = view.encapDepth;
    this.encapKind[s] = depth !== 0 ? (view.encapKind[0] as number) : 0;
    this.outerVersion[s] = depth !== 0 ? (view.encapOuterVersion[0] as number) : 0;
    this.vni[s] = depth !== 0 ? (view.encapVni[0] as number) : -1;
    for (let i = 0; i < 4; i++) {
      this.outerSrc[b + i] = depth !== 0 ? (view.encapOuterSrc[i] as number) : 0;
      this.outerDst[b + i] = depth !== 0 ? (view.encapOuterDst[i] as number) : 0;
    }
    this.packets[s] = 0;
    this.bytes[s] = 0;
    this.first[s] = ts;
    this.last[s] = ts;
    this.idleIntervals[s] = 0;
    this.originated[s] = 0;
    return s;
  }

  private release(s: number): void {
    this.bySlotKey.delete(this.key[s] as number);
    this.key[s] = -1;
    this.freeList.push(s);
  }

  private grow(cap: number): void {
    const copy = growTypedArray;
    this.key = copy(this.key, cap);
    this.iface = copy(this.iface, cap);
    this.dir = copy(this.dir, cap);
    this.ipVersion = copy(this.ipVersion, cap);
    this.src = copy(this.src, cap * 4);
    this.dst = copy(this.dst, cap * 4);
    this.proto = copy(this.proto, cap);
    this.sport = copy(this.sport, cap);
    this.dport = copy(this.dport, cap);
    this.encapKind = copy(this.encapKind, cap);
    this.outerVersion = copy(this.outerVersion, cap);
    this.outerSrc = copy(this.outerSrc, cap * 4);
    this.outerDst = copy(this.outerDst, cap * 4);
    this.vni = copy(this.vni, cap);
    this.packets = copy(this.packets, cap);
    this.bytes = copy(this.bytes, cap);
    this.first = copy(this.first, cap);
    this.last = copy(this.last, cap);
    this.idleIntervals = copy(this.idleIntervals, cap);
    this.originated = copy(this.originated, cap);
    this.capacity = cap;
  }
}
