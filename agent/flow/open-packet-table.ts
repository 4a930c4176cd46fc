/**
 * Packets still inside their correlation window on one node, keyed by fingerprint. Each entry keeps
 * the innermost packet's identity (addresses, protocol, ports) and the chain of its sightings in the
 * SightingStore. Entries are expired in creation order (a ring of entry ids), which is time order up
 * to the interleaving of inputs; expiry is driven by a watermark that every input has passed.
 *
 * The same fingerprint seen again more than a window later is another packet (a retransmission
 * identical to the byte, an IPv6 packet without an id): it gets its own entry, linked to the older
 * ones of the same fingerprint, and each sighting joins the entry whose window holds it.
 */
import { PacketView } from '../decode/packet-view.js';
import { growTypedArray } from './grow-typed-array.js';
import { HashIndex } from './hash-index.js';

const NONE = -1;

export class OpenPacketTable {
  private capacity: number;
  private readonly byFingerprint = new HashIndex();
  fingerprint: Float64Array;
  firstTs: Float64Array;
  head: Int32Array;
  tail: Int32Array;
  count: Int32Array;
  ipVersion: Uint8Array;
  src: Uint32Array;
  dst: Uint32Array;
  proto: Int16Array;
  sport: Uint16Array;
  dport: Uint16Array;
  icmpType: Int16Array;
  /**
   * Sightings so far by stage, 6 bytes per entry: arrivals plain / on a tunnel / encapsulated, then
   * departures the same. Kept as they come so a forwarded packet is recognised while still in cache.
   */
  stages: Uint8Array;
  /** 1 once the packet is known to have left: its sightings are already released. */
  resolved: Uint8Array;
  private freeHead = NONE;
  private used = 0;
  private nextFree: Int32Array;
  /** Entries of the same fingerprint, newest first from the map. */
  private older: Int32Array;
  private newer: Int32Array;
  /** FIFO of entry ids in creation order. */
  private fifo: Int32Array;
  private fifoHead = 0;
  private fifoTail = 0;

  constructor(initialCapacity = 1 << 14) {
    this.capacity = initialCapacity;
    this.fingerprint = new Float64Array(initialCapacity);
    this.firstTs = new Float64Array(initialCapacity);
    this.head = new Int32Array(initialCapacity);
    this.tail = new Int32Array(initialCapacity);
    this.count = new Int32Array(initialCapacity);
    this.ipVersion = new Uint8Array(initialCapacity);
    this.src = new Uint32Array(initialCapacity * 4);
    this.dst = new Uint32Array(initialCapacity * 4);
    this.proto = new Int16Array(initialCapacity);
    this.sport = new Uint16Array(initialCapacity);
    this.dport = new Uint16Array(initialCapacity);
    this.icmpType = new Int16Array(initialCapacity);
    this.stages = new Uint8Array(initialCapacity * 6);
    this.resolved = new Uint8Array(initialCapacity);
    this.nextFree = new Int32Array(initialCapacity);
    this.older = new Int32Array(initialCapacity);
    this.newer = new Int32Array(initialCapacity);
    this.fifo = new Int32Array(initialCapacity);
  }

  /** Fingerprints with open entries. */
  get size(): number {
    return this.byFingerprint.size;
  }

  /** The open entry for this fingerprint whose window holds `ts`, or NONE. */
  find(fp: number, ts: number, window: number): number {
    for (let e = this.byFingerprint.get(fp); e !== NONE; e = this.older[e] as number) {
      const d = ts - (this.firstTs[e] as number);
      if (d <= window && d >= -window) return e;
    }
    return NONE;
  }

  /** Creates the entry for a packet first seen now, taking its identity from the view. */
  create(fp: number, ts: number, view: PacketView): number {
    let e: number;
    if (this.freeHead !== NONE) {
      e = this.freeHead;
      this.freeHead = this.nextFree[e] as number;
    } else {
      if (this.used === this.capacity) this.grow();
      e = this.used++;
    }
    const newest = this.byFingerprint.get(fp);
    this.older[e] = newest;
    this.newer[e] = NONE;
    if (newest !== NONE) this.newer[newest] = e;
    this.byFingerprint.set(fp, e);
    this.fingerprint[e] = fp;
    this.firstTs[e] = ts;
    this.head[e] = NONE;
    this.tail[e] = NONE;
    this.count[e] = 0;
    this.ipVersion[e] = view.ipVersion;
    const b = e * 4;
    for (let k = 0; k < 4; k++) {
      this.src[b + k] = view.src[k] as number;
      this.dst[b + k] = view.dst[k] as number;
    }
    this.proto[e] = view.proto;
    this.sport[e] = view.sport;
    this.dport[e] = view.dport;
    this.icmpType[e] = view.icmpType;
    this.stages.fill(0, e * 6, e * 6 + 6);
    this.resolved[e] = 0;
    this.fifo[this.fifoTail] = e;
    this.fifoTail = (this.fifoTail + 1) & (this.fifo.length - 1);
    if (this.fifoTail === this.fifoHead) this.growFifo();
    return e;
  }

  /** The oldest open entry, or NONE. */
  oldest(): number {
    return this.fifoHead === this.fifoTail ? NONE : (this.fifo[this.fifoHead] as number);
  }

  /** Removes the oldest entry (which the caller has evaluated) and frees its id. */
  removeOldest(): void {
    const e = this.fifo[this.fifoHead] as number;
    this.fifoHead = (this.fifoHead + 1) & (this.fifo.length - 1);
    // Being the oldest, e ends its fingerprint's chain: unlink it from the next newer entry.
    const newer = this.newer[e] as number;
    if (newer !== NONE) this.older[newer] = NONE;
    else this.byFingerprint.delete(this.fingerprint[e] as number);
    this.nextFree[e] = this.freeHead;
    this.freeHead = e;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const copy = growTypedArray;
    this.fingerprint = copy(this.fingerprint, cap);
    this.firstTs = copy(this.firstTs, cap);
    this.head = copy(this.head, cap);
    this.tail = copy(this.tail, cap);
    this.count = copy(this.count, cap);
    this.ipVersion = copy(this.ipVersion, cap);
    this.src = copy(this.src, cap * 4);
    this.dst = copy(this.dst, cap * 4);
    this.proto = copy(this.proto, cap);
    this.sport = copy(this.sport, cap);
    this.dport = copy(this.dport, cap);
    this.icmpType = copy(this.icmpType, cap);
    this.stages = copy(this.stages, cap * 6);
    this.resolved = copy(this.resolved, cap);
    this.nextFree = copy(this.nextFree, cap);
    this.older = copy(this.older, cap);
    this.newer = copy(this.newer, cap);
    this.capacity = cap;
  }

  /** The ring is full (tail caught up with head): double it, unrolling the live part. */
  private growFifo(): void {
    const old = this.fifo;
    const n = old.length;
    const grown = new Int32Array(n * 2);
    // Full ring: head === tail; live elements are head..n-1 then 0..head-1.
    grown.set(old.subarray(this.fifoHead), 0);
    grown.set(old.subarray(0, this.fifoHead), n - this.fifoHead);
    this.fifo = grown;
    this.fifoHead = 0;
    this.fifoTail = n;
  }
}
