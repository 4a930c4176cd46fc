/**
 * Sightings still open for matching, stored column-wise in typed arrays and recycled through a free
 * list: recording one costs a few array writes and no allocation. The arrays double when full,
 * which happens only while the window's population grows.
 */
import { PacketView } from '../decode/packet-view.js';
import { growTypedArray } from './grow-typed-array.js';

const NONE = -1;

export class SightingStore {
  capacity: number;
  next: Int32Array;
  iface: Int32Array;
  /** Direction from capture metadata (0 unknown, 1 in, 2 out). */
  dir: Uint8Array;
  dirSource: Uint8Array;
  ts: Float64Array;
  length: Uint32Array;
  ttl: Uint8Array;
  encapDepth: Uint8Array;
  encapKind: Uint8Array;
  outerVersion: Uint8Array;
  outerSrc: Uint32Array;
  outerDst: Uint32Array;
  vni: Int32Array;
  /** 48-bit MACs as numbers, -1 when the link has none. */
  macSrc: Float64Array;
  macDst: Float64Array;
  /** Link-level broadcast/multicast (group MAC, or SLL packet type broadcast/multicast). */
  linkGroup: Uint8Array;
  flowSlot: Int32Array;
  /** The snap length cut what the fingerprint reads: this sighting may not match its other hops. */
  weak: Uint8Array;
  private freeHead = NONE;
  private used = 0;
  live = 0;

  constructor(initialCapacity = 1 << 14) {
    this.capacity = initialCapacity;
    this.next = new Int32Array(initialCapacity);
    this.iface = new Int32Array(initialCapacity);
    this.dir = new Uint8Array(initialCapacity);
    this.dirSource = new Uint8Array(initialCapacity);
    this.ts = new Float64Array(initialCapacity);
    this.length = new Uint32Array(initialCapacity);
    this.ttl = new Uint8Array(initialCapacity);
    this.encapDepth = new Uint8Array(initialCapacity);
    this.encapKind = new Uint8Array(initialCapacity);
    this.outerVersion = new Uint8Array(initialCapacity);
    this.outerSrc = new Uint32Array(initialCapacity * 4);
    this.outerDst = new Uint32Array(initialCapacity * 4);
    this.vni = new Int32Array(initialCapacity);
    this.macSrc = new Float64Array(initialCapacity);
    this.macDst = new Float64Array(initialCapacity);
    this.linkGroup = new Uint8Array(initialCapacity);
    this.flowSlot = new Int32Array(initialCapacity);
    this.weak = new Uint8Array(initialCapacity);
  }

  alloc(): number {
    let i: number;
    if (this.freeHead !== NONE) {
      i = this.freeHead;
      this.freeHead = this.next[i] as number;
    } else {
      if (this.used === this.capacity) this.grow();
      i = this.used++;
    }
    this.next[i] = NONE;
    this.live++;
    return i;
  }

  release(i: number): void {
    this.next[i] = this.freeHead;
    this.freeHead = i;
    this.live--;
  }

  /** Copies the outermost encapsulation layer of `view` into slot i. */
  setEncap(i: number, view: PacketView): void {
    const depth = view.encapDepth;
    this.encapDepth[i] = depth;
    if (depth === 0) {
      this.encapKind[i] = 0;
      return;
    }
    this.encapKind[i] = view.encapKind[0] as number;
    this.outerVersion[i] = view.encapOuterVersion[0] as number;
    this.vni[i] = view.encapVni[0] as number;
    const b = i * 4;
    for (let k = 0; k < 4; k++) {
      this.outerSrc[b + k] = view.encapOuterSrc[k] as number;
      this.outerDst[b + k] = view.encapOuterDst[k] as number;
    }
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const g = growTypedArray;
    this.next = g(this.next, cap);
    this.iface = g(this.iface, cap);
    this.dir = g(this.dir, cap);
    this.dirSource = g(this.dirSource, cap);
    this.ts = g(this.ts, cap);
    this.length = g(this.length, cap);
    this.ttl = g(this.ttl, cap);
    this.encapDepth = g(this.encapDepth, cap);
    this.encapKind = g(this.encapKind, cap);
    this.outerVersion = g(this.outerVersion, cap);
    this.outerSrc = g(this.outerSrc, cap * 4);
    this.outerDst = g(this.outerDst, cap * 4);
    this.vni = g(this.vni, cap);
    this.macSrc = g(this.macSrc, cap);
    this.macDst = g(this.macDst, cap);
    this.linkGroup = g(this.linkGroup, cap);
    this.flowSlot = g(this.flowSlot, cap);
    this.weak = g(this.weak, cap);
    this.capacity = cap;
  }
}

/** Reads a 48-bit MAC at offset o as a number, or -1 when o < 0. */
export function macAt(data: Uint8Array, o: number): number {
  if (o < 0) return -1;
  return (
    ((data[o] as number) * 2 ** 40) +
    ((data[o + 1] as number) * 2 ** 32) +
    ((((data[o + 2] as number) << 24) | ((data[o + 3] as number) << 16) | ((data[o + 4] as number) << 8) | (data[o + 5] as number)) >>> 0)
  );
}
