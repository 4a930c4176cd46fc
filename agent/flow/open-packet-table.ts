/**
 * Packets still inside their correlation window on one node, keyed by fingerprint. Each entry keeps
 * the innermost packet's identity (addresses, protocol, ports), its sightings so far by stage, and
 * the chain of its sightings in the SightingStore. Entries are expired in creation order (a ring of
 * entry ids), which is time order up to the interleaving of inputs; expiry is driven by a watermark
 * that every input has passed.
 *
 * The same fingerprint seen again more than a window later is another packet (a retransmission
 * identical to the byte, an IPv6 packet without an id): it gets its own entry, linked to the older
 * ones of the same fingerprint, and each sighting joins the entry whose window holds it.
 *
 * Layout: an entry is one 96-byte record of a shared ArrayBuffer (the header in the first 64 bytes,
 * the addresses after), so finding, updating and expiring it touches one or two cache lines.
 */
import { RecordBuffer } from './record-buffer.js';
import { HashIndex } from './hash-index.js';
import { SIGHTING_FINGERPRINT, SIGHTING_TS, type Sighting } from './sighting.js';

const NONE = -1;
const WORDS = 24;
const W_FINGERPRINT = 0; // f64: words 0-1
const W_FIRST_TS = 2; // f64: words 2-3
const W_HEAD = 4;
const W_TAIL = 5;
const W_OLDER = 6;
const W_NEWER = 7;
const W_NEXT_FREE = 8;
/** ipVersion | proto << 8 (proto stored + 1 so -1 fits) */
const W_META = 9;
const W_PORTS = 10;
/** Bytes 44..49: stage counts (arrivals plain, tunnel, encapsulated; departures the same); byte 50: resolved. */
const B_STAGES = 11 * 4;
const B_RESOLVED = B_STAGES + 6;
const W_SRC = 16;
const W_DST = 20;

export class OpenPacketTable {
  private readonly byFingerprint = new HashIndex();
  private readonly rec: RecordBuffer;
  private freeHead = NONE;
  private used = 0;
  /** FIFO of entry ids in creation order. */
  private fifo: Int32Array;
  private fifoHead = 0;
  private fifoTail = 0;

  constructor(initialCapacity = 1 << 14) {
    this.rec = new RecordBuffer(WORDS, initialCapacity);
    this.fifo = new Int32Array(initialCapacity);
  }

  /** Fingerprints with open entries. */
  get size(): number {
    return this.byFingerprint.size;
  }

  /** The open entry for the sighting's fingerprint whose window holds its time, or NONE. */
  find(s: Sighting, window: number): number {
    const ts = s.numbers[SIGHTING_TS] as number;
    for (let e = this.byFingerprint.get(s.numbers, SIGHTING_FINGERPRINT); e !== NONE; e = this.rec.i32[e * WORDS + W_OLDER] as number) {
      const d = ts - (this.rec.f64[(e * WORDS + W_FIRST_TS) >> 1] as number);
      if (d <= window && d >= -window) return e;
    }
    return NONE;
  }

  /** Creates the entry for a packet first seen in this sighting, taking its identity from its view. */
  create(s: Sighting): number {
    const view = s.view;
    const fp = s.numbers[SIGHTING_FINGERPRINT] as number;
    let e: number;
    if (this.freeHead !== NONE) {
      e = this.freeHead;
      this.freeHead = this.rec.i32[e * WORDS + W_NEXT_FREE] as number;
    } else {
      if (this.used === this.rec.capacity) this.rec.grow();
      e = this.used++;
    }
    const w = e * WORDS;
    const i32 = this.rec.i32;
    const newest = this.byFingerprint.get(s.numbers, SIGHTING_FINGERPRINT);
    i32[w + W_OLDER] = newest;
    i32[w + W_NEWER] = NONE;
    if (newest !== NONE) i32[newest * WORDS + W_NEWER] = e;
    this.byFingerprint.set(s.numbers, SIGHTING_FINGERPRINT, e);
    this.rec.f64[(w + W_FINGERPRINT) >> 1] = fp;
    this.rec.f64[(w + W_FIRST_TS) >> 1] = s.numbers[SIGHTING_TS] as number;
    i32[w + W_HEAD] = NONE;
    i32[w + W_TAIL] = NONE;
    i32[w + W_META] = view.ipVersion | ((view.proto + 1) << 8);
    i32[w + W_PORTS] = (view.sport << 16) | view.dport;
    this.rec.u8.fill(0, w * 4 + B_STAGES, w * 4 + B_RESOLVED + 1);
    const u32 = this.rec.u32;
    for (let k = 0; k < 4; k++) {
      u32[w + W_SRC + k] = view.src[k] as number;
      u32[w + W_DST + k] = view.dst[k] as number;
    }
    this.fifo[this.fifoTail] = e;
    this.fifoTail = (this.fifoTail + 1) & (this.fifo.length - 1);
    if (this.fifoTail === this.fifoHead) this.growFifo();
    return e;
  }

  // ---- fields of an entry ----

  fingerprint(e: number): number {
    return this.rec.f64[(e * WORDS + W_FINGERPRINT) >> 1] as number;
  }

  firstTs(e: number): number {
    return this.rec.f64[(e * WORDS + W_FIRST_TS) >> 1] as number;
  }

  /** Whether the entry was first seen before bound[0] (a bound in a Float64Array: never boxed). */
  startedBefore(e: number, bound: Float64Array): boolean {
    return (this.rec.f64[(e * WORDS + W_FIRST_TS) >> 1] as number) < (bound[0] as number);
  }

  head(e: number): number {
    return this.rec.i32[e * WORDS + W_HEAD] as number;
  }

  tail(e: number): number {
    return this.rec.i32[e * WORDS + W_TAIL] as number;
  }

  setChain(e: number, head: number, tail: number): void {
    this.rec.i32[e * WORDS + W_HEAD] = head;
    this.rec.i32[e * WORDS + W_TAIL] = tail;
  }

  ipVersion(e: number): number {
    return (this.rec.i32[e * WORDS + W_META] as number) & 0xff;
  }

  proto(e: number): number {
    return ((this.rec.i32[e * WORDS + W_META] as number) >> 8) - 1;
  }

  sport(e: number): number {
    return (this.rec.i32[e * WORDS + W_PORTS] as number) >>> 16;
  }

  dport(e: number): number {
    return (this.rec.i32[e * WORDS + W_PORTS] as number) & 0xffff;
  }

  /** The words array holding addresses, and an entry's offsets in it (4 words each). */
  get words(): Uint32Array {
    return this.rec.u32;
  }

  srcOffset(e: number): number {
    return e * WORDS + W_SRC;
  }

  dstOffset(e: number): number {
    return e * WORDS + W_DST;
  }

  /** Stage counts as bytes of `stageBytes`, starting at stageOffset(e): see B_STAGES. */
  get stageBytes(): Uint8Array {
    return this.rec.u8;
  }

  stageOffset(e: number): number {
    return e * WORDS * 4 + B_STAGES;
  }

  resolved(e: number): boolean {
    return this.rec.u8[e * WORDS * 4 + B_RESOLVED] === 1;
  }

  markResolved(e: number): void {
    this.rec.u8[e * WORDS * 4 + B_RESOLVED] = 1;
    this.setChain(e, NONE, NONE);
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
    const w = e * WORDS;
    const newer = this.rec.i32[w + W_NEWER] as number;
    if (newer !== NONE) this.rec.i32[newer * WORDS + W_OLDER] = NONE;
    else this.byFingerprint.delete(this.rec.f64, (w + W_FINGERPRINT) >> 1);
    this.rec.i32[w + W_NEXT_FREE] = this.freeHead;
    this.freeHead = e;
  }



  /** The ring is full (tail caught up with head): double it, unrolling the live part. */
  private growFifo(): void {
    const old = this.fifo;
    const n = old.length;
    const grown = new Int32Array(n * 2);
    grown.set(old.subarray(this.fifoHead), 0);
    grown.set(old.subarray(0, this.fifoHead), n - this.fifoHead);
    this.fifo = grown;
    this.fifoHead = 0;
    this.fifoTail = n;
  }
}
