/**
 * Sightings still open for matching, recycled through a free list: recording one costs a few writes
 * and no allocation.
 *
 * Layout: a sighting is read again only when its packet's window closes, long after it was written,
 * when it has left the CPU caches. So each sighting's fields sit together in one 64-byte record of a
 * shared ArrayBuffer (read through typed views) instead of one array per field: judging a packet
 * then costs a cache miss per sighting, not one per field. The outer IPv6 addresses of IPv6
 * underlays, rarely present, live in a side array.
 */
import { RecordBuffer } from './record-buffer.js';
import { Direction } from '../capture/capture-record.js';
import { SIGHTING_TS, type Sighting } from './sighting.js';

const NONE = -1;
const WORDS = 16;
// Word offsets within a record.
const W_NEXT = 0;
const W_IFACE = 1;
const W_TS = 2; // f64: words 2-3
const W_MAC_SRC = 4; // f64: words 4-5
const W_MAC_DST = 6; // f64: words 6-7
const W_LENGTH = 8;
const W_FLOW_SLOT = 9;
const W_VNI = 10;
const W_OUTER_SRC = 11;
const W_OUTER_DST = 12;
/** Sequence number of the packet's bytes in the PacketBytesRing, or -1. */
const W_BYTES_SEQ = 15;
/** Bytes of word 13: dir, dirSource, ttl, encapDepth; of word 14: encapKind, outerVersion, linkGroup, weak. */
const B_DIR = 13 * 4;
const B_DIR_SOURCE = B_DIR + 1;
const B_TTL = B_DIR + 2;
const B_ENCAP_DEPTH = B_DIR + 3;
const B_ENCAP_KIND = 14 * 4;
const B_OUTER_VERSION = B_ENCAP_KIND + 1;
const B_LINK_GROUP = B_ENCAP_KIND + 2;
const B_WEAK = B_ENCAP_KIND + 3;

export class SightingStore {
  private readonly rec: RecordBuffer;
  /** Outer IPv6 addresses (8 words per sighting), written only for IPv6 underlays. */
  private outer6: Uint32Array;
  private freeHead = NONE;
  private used = 0;
  live = 0;

  constructor(initialCapacity = 1 << 14) {
    this.rec = new RecordBuffer(WORDS, initialCapacity);
    this.outer6 = new Uint32Array(0);
  }

  alloc(): number {
    let i: number;
    if (this.freeHead !== NONE) {
      i = this.freeHead;
      this.freeHead = this.rec.i32[i * WORDS + W_NEXT] as number;
    } else {
      if (this.used === this.rec.capacity) this.rec.grow();
      i = this.used++;
    }
    this.rec.i32[i * WORDS + W_NEXT] = NONE;
    this.live++;
    return i;
  }

  release(i: number): void {
    this.rec.i32[i * WORDS + W_NEXT] = this.freeHead;
    this.freeHead = i;
    this.live--;
  }

  /** Fills record i from the sighting (a direction not known yet is stored without a source). */
  write(i: number, s: Sighting): void {
    const view = s.view;
    const data = s.data;
    const w = i * WORDS;
    const b = w * 4;
    const i32 = this.rec.i32;
    const u8 = this.rec.u8;
    i32[w + W_IFACE] = s.ifaceId;
    i32[w + W_BYTES_SEQ] = s.bytesSeq;
    this.rec.f64[(w + W_TS) >> 1] = s.numbers[SIGHTING_TS] as number;
    writeMac(data, view.macSrcOffset, this.rec.f64, (w + W_MAC_SRC) >> 1);
    writeMac(data, view.macDstOffset, this.rec.f64, (w + W_MAC_DST) >> 1);
    this.rec.u32[w + W_LENGTH] = s.length;
    i32[w + W_FLOW_SLOT] = s.flowSlot;
    u8[b + B_DIR] = s.direction;
    u8[b + B_DIR_SOURCE] = s.direction === Direction.Unknown ? 0 : s.directionSource;
    u8[b + B_TTL] = view.ttl;
    const pt = view.linuxPacketType;
    // Broadcast, multicast, or a frame for another host (PACKET_OTHERHOST, seen in promiscuous
    // mode): the kernel does not forward these, so their missing exit means nothing.
    u8[b + B_LINK_GROUP] = view.macDstGroup | (pt === 1 || pt === 2 || pt === 3 ? 1 : 0);
    u8[b + B_WEAK] = s.weak ? 1 : 0;
    const depth = view.encapDepth;
    u8[b + B_ENCAP_DEPTH] = depth;
    if (depth === 0) {
      u8[b + B_ENCAP_KIND] = 0;
      return;
    }
    const version = view.encapOuterVersion[0] as number;
    u8[b + B_ENCAP_KIND] = view.encapKind[0] as number;
    u8[b + B_OUTER_VERSION] = version;
    i32[w + W_VNI] = view.encapVni[0] as number;
    this.rec.u32[w + W_OUTER_SRC] = view.encapOuterSrc[0] as number;
    this.rec.u32[w + W_OUTER_DST] = view.encapOuterDst[0] as number;
    if (version === 6) {
      if (this.outer6.length < this.rec.capacity * 8) this.growOuter6();
      for (let k = 0; k < 4; k++) {
        this.outer6[i * 8 + k] = view.encapOuterSrc[k] as number;
        this.outer6[i * 8 + 4 + k] = view.encapOuterDst[k] as number;
      }
    }
  }

  next(i: number): number {
    return this.rec.i32[i * WORDS + W_NEXT] as number;
  }

  setNext(i: number, next: number): void {
    this.rec.i32[i * WORDS + W_NEXT] = next;
  }

  iface(i: number): number {
    return this.rec.i32[i * WORDS + W_IFACE] as number;
  }

  ts(i: number): number {
    return this.rec.f64[(i * WORDS + W_TS) >> 1] as number;
  }

  macSrc(i: number): number {
    return this.rec.f64[(i * WORDS + W_MAC_SRC) >> 1] as number;
  }

  macDst(i: number): number {
    return this.rec.f64[(i * WORDS + W_MAC_DST) >> 1] as number;
  }

  length(i: number): number {
    return this.rec.u32[i * WORDS + W_LENGTH] as number;
  }

  flowSlot(i: number): number {
    return this.rec.i32[i * WORDS + W_FLOW_SLOT] as number;
  }

  dir(i: number): Direction {
    return this.rec.u8[i * WORDS * 4 + B_DIR] as Direction;
  }

  dirSource(i: number): number {
    return this.rec.u8[i * WORDS * 4 + B_DIR_SOURCE] as number;
  }

  setDirection(i: number, dir: Direction, source: number): void {
    this.rec.u8[i * WORDS * 4 + B_DIR] = dir;
    this.rec.u8[i * WORDS * 4 + B_DIR_SOURCE] = source;
  }

  ttl(i: number): number {
    return this.rec.u8[i * WORDS * 4 + B_TTL] as number;
  }

  encapDepth(i: number): number {
    return this.rec.u8[i * WORDS * 4 + B_ENCAP_DEPTH] as number;
  }

  encapKind(i: number): number {
    return this.rec.u8[i * WORDS * 4 + B_ENCAP_KIND] as number;
  }

  outerVersion(i: number): number {
    return this.rec.u8[i * WORDS * 4 + B_OUTER_VERSION] as number;
  }

  linkGroup(i: number): number {
    return this.rec.u8[i * WORDS * 4 + B_LINK_GROUP] as number;
  }

  weak(i: number): boolean {
    return this.rec.u8[i * WORDS * 4 + B_WEAK] === 1;
  }

  /** Sequence number of the sighting's bytes in the PacketBytesRing, or -1. */
  bytesSeq(i: number): number {
    return this.rec.i32[i * WORDS + W_BYTES_SEQ] as number;
  }

  vni(i: number): number {
    return this.rec.i32[i * WORDS + W_VNI] as number;
  }

  /** Copies the outer source (or destination) address of sighting i into `out` (4 words). */
  outerAddress(i: number, destination: boolean, out: Uint32Array): void {
    if (this.outerVersion(i) === 6) {
      for (let k = 0; k < 4; k++) out[k] = this.outer6[i * 8 + (destination ? 4 : 0) + k] as number;
      return;
    }
    out.fill(0);
    out[0] = this.rec.u32[i * WORDS + (destination ? W_OUTER_DST : W_OUTER_SRC)] as number;
  }



  private growOuter6(): void {
    const grown = new Uint32Array(this.rec.capacity * 8);
    grown.set(this.outer6);
    this.outer6 = grown;
  }
}

/**
 * Writes the 48-bit MAC at data[o] into out[at] as a number, or -1 when o < 0. (Into a Float64Array:
 * a 48-bit number returned from a call would be boxed, 16 bytes of heap per packet.)
 */
export function writeMac(data: Uint8Array, o: number, out: Float64Array, at: number): void {
  if (o < 0) {
    out[at] = -1;
    return;
  }
  out[at] =
    (data[o] as number) * 2 ** 40 +
    (data[o + 1] as number) * 2 ** 32 +
    ((((data[o + 2] as number) << 24) | ((data[o + 3] as number) << 16) | ((data[o + 4] as number) << 8) | (data[o + 5] as number)) >>> 0);
}
