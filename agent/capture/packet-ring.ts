/**
 * A preallocated single-producer / single-consumer ring of packet slots over a SharedArrayBuffer:
 * the hand-over between a capture parser (producer) and the decode pipeline (consumer), in the same
 * thread or in two (the producer in a worker, see capture-worker.ts).
 *
 * Layout (one SharedArrayBuffer, all offsets fixed at creation):
 *
 *   bytes 0..63     header: magic, version, slot count, slot bytes (written once by create())
 *   bytes 64..127   write cursor   (Int32, stored only by the producer)     own cache line each, so
 *   bytes 128..191  read cursor    (Int32, stored only by the consumer)     the two threads do not
 *   bytes 192..255  closed flag, sequence word (the consumer's waits), the    fight over one line
 *                   producer-waiting and abandoned flags, lost and pushed counters (BigInt64)
 *   then            slot metadata: SLOT_META_INTS Int32 per slot (struct of arrays)
 *   then            slot data: slotBytes per slot
 *
 * Slot metadata, per slot:
 *
 *   [0] kind (bits 0-7: packet, interface, warning) | direction (bits 8-15) | streamOffset / 2^32 (bits 16-31)
 *   [1] tsSec     [2] tsNsec     [3] caplen (bytes in the slot)     [4] origlen
 *   [5] linkType  [6] interfaceId  [7] streamOffset mod 2^32
 *
 * Cursors count slots ever written / read, modulo 2^32 (Int32 storage, arithmetic with `| 0` and
 * `>>> 0`): the slot of cursor c is `c & (slots - 1)`, and `(w - r) >>> 0` is the fill level even
 * after the cursors wrap, because the slot count is a power of two no larger than 2^30. So a cursor
 * never needs resetting, however long the capture runs.
 *
 * Publication: the producer fills a slot with plain writes, then makes it visible by storing the
 * write cursor with Atomics (publish(), once per parsed chunk rather than per packet: one store and
 * one notify per chunk instead of a cache-line transfer per packet). The consumer loads the write
 * cursor with Atomics, reads the slots, runs the sink on each, and only then stores its read cursor,
 * so the producer never reuses a slot whose bytes a sink callback may still be looking at. Atomics
 * are sequentially consistent, which orders the plain slot accesses on both sides.
 *
 * A full ring overwrites nothing: the newest packet is not placed and is counted as lost (the issue's
 * "every overwrite counted as loss" becomes "every packet not placed is counted"). Dropping the
 * newest keeps the consumer's view consistent: slots it may be reading are never touched, the
 * packets it gets are an exact, in-order prefix-plus-gaps of the stream, and the loss counter says
 * how many are missing. Overwriting the oldest instead would need the consumer to detect slots torn
 * under it, which a lock-free reader cannot do cheaply. A producer in a worker thread may instead
 * wait for room (waitForRoom(): asleep until the consumer frees a slot), leaving the backlog in its
 * own input; the capture worker does that by default, so the ring adds to the kernel's buffer.
 *
 * Interface descriptions and warnings travel through the ring too, so they stay in order with the
 * packets (a packet's interface is always announced before it). They are never dropped: when the
 * ring is full they wait in a small queue in the producer, and packets behind them are counted as
 * lost until they fit (order is kept; the ring was full, so those packets had no room anyway).
 *
 * A packet longer than a slot is cut to the slot size (as a snap length would); origlen is kept.
 */
import { CaptureRecord, type CaptureInterface, type CaptureSink, type Direction } from './capture-record.js';

const MAGIC = 0x70777267; // "pwrg"
const VERSION = 1;
const CONTROL_BYTES = 256;

// Int32 indices into the control region.
const I_MAGIC = 0;
const I_VERSION = 1;
const I_SLOTS = 2;
const I_SLOT_BYTES = 3;
const I_WRITE = 16;
const I_READ = 32;
const I_CLOSED = 48;
/** Bumped on every publish and on close: what a waiting consumer sleeps on (see waitForData). */
const I_SEQ = 49;
/** 1 while the producer sleeps in waitForRoom(): the consumer then wakes it when it frees slots. */
const I_PRODUCER_WAITING = 50;
/** 1 once the consumer gave up (its sink failed): a waiting producer stops waiting. */
const I_ABANDONED = 51;
// BigInt64 indices into the control region.
const L_LOST = 26; // byte 208
const L_PUSHED = 27; // byte 216

export const SLOT_META_INTS = 8;

const enum Kind {
  Packet = 0,
  Interface = 1,
  Warning = 2,
}

/** Default slot size: the live capture's snap length (live-capture.ts). */
export const DEFAULT_SLOT_BYTES = 256;
/** Default slot count: about 32k packets, 8 MiB of packet bytes, absorbs 0.2 s at 150k packets/s. */
export const DEFAULT_RING_SLOTS = 1 << 15;
const MAX_SLOTS = 1 << 30;

export interface PacketRingOptions {
  /** Number of slots, a power of two (default DEFAULT_RING_SLOTS). */
  readonly slots?: number;
  /** Bytes of packet data per slot (default DEFAULT_SLOT_BYTES): longer packets are cut to this. */
  readonly slotBytes?: number;
  /** Where both cursors start (default 0); for tests of the wrap at 2^32 without 4 billion packets. */
  readonly initialCursor?: number;
}

/** The shared memory and the views on it; both sides build one from the same SharedArrayBuffer. */
export class PacketRing {
  readonly slots: number;
  readonly slotBytes: number;
  readonly mask: number;
  /** Control words: cursors, flags. */
  readonly control: Int32Array;
  /** Control counters: lost, pushed. */
  readonly counters: BigInt64Array;
  readonly meta: Int32Array;
  readonly data: Uint8Array;

  private constructor(readonly buffer: SharedArrayBuffer) {
    const control = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
    if (control[I_MAGIC] !== MAGIC || control[I_VERSION] !== VERSION) throw new Error('not a packet ring (or a ring of another version)');
    this.control = control;
    this.counters = new BigInt64Array(buffer, 0, CONTROL_BYTES / 8);
    this.slots = control[I_SLOTS] as number;
    this.slotBytes = control[I_SLOT_BYTES] as number;
    this.mask = this.slots - 1;
    this.meta = new Int32Array(buffer, CONTROL_BYTES, this.slots * SLOT_META_INTS);
    this.data = new Uint8Array(buffer, CONTROL_BYTES + this.slots * SLOT_META_INTS * 4, this.slots * this.slotBytes);
  }

  /** Allocates a ring (all of its memory, once). */
  static create(options: PacketRingOptions = {}): PacketRing {
    const slots = options.slots ?? DEFAULT_RING_SLOTS;
    const slotBytes = options.slotBytes ?? DEFAULT_SLOT_BYTES;
    if (!(Number.isInteger(slots) && slots >= 2 && slots <= MAX_SLOTS && (slots & (slots - 1)) === 0)) {
      throw new RangeError(`packet ring: slot count must be a power of two in [2, 2^30], not ${slots}`);
    }
    if (!(Number.isInteger(slotBytes) && slotBytes >= 64 && slotBytes <= 1 << 20)) throw new RangeError(`packet ring: slot size must be 64 bytes to 1 MiB, not ${slotBytes}`);
    // Slot data starts 8-byte aligned and each slot is a multiple of 8, so slots never share a word.
    const stride = (slotBytes + 7) & ~7;
    const buffer = new SharedArrayBuffer(CONTROL_BYTES + slots * SLOT_META_INTS * 4 + slots * stride);
    const control = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
    control[I_MAGIC] = MAGIC;
    control[I_VERSION] = VERSION;
    control[I_SLOTS] = slots;
    control[I_SLOT_BYTES] = stride;
    const start = (options.initialCursor ?? 0) | 0;
    Atomics.store(control, I_WRITE, start);
    Atomics.store(control, I_READ, start);
    return new PacketRing(buffer);
  }

  /** The same ring seen from another thread (the buffer came through postMessage or workerData). */
  static attach(buffer: SharedArrayBuffer): PacketRing {
    return new PacketRing(buffer);
  }

  /** Packets the producer could not place (ring full). */
  get lost(): number {
    return Number(Atomics.load(this.counters, L_LOST));
  }

  /** Packets the producer placed. */
  get pushed(): number {
    return Number(Atomics.load(this.counters, L_PUSHED));
  }

  /** Slots published and not yet consumed. */
  get fill(): number {
    return (Atomics.load(this.control, I_WRITE) - Atomics.load(this.control, I_READ)) >>> 0;
  }

  /** The producer said no more will come. */
  get closed(): boolean {
    return Atomics.load(this.control, I_CLOSED) !== 0;
  }

  /** The consumer said it reads no more (PacketRingConsumer.abandon). */
  get abandoned(): boolean {
    return Atomics.load(this.control, I_ABANDONED) !== 0;
  }
}

interface PendingEvent {
  readonly kind: Kind.Interface | Kind.Warning;
  readonly iface?: CaptureInterface;
  readonly message?: string;
}

const encoder = new TextEncoder();

/** Atomics.waitAsync (ES2024, in Node since 16; the project's lib is ES2022). */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number, timeoutMs: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

/** The writing side: one per ring, one thread. */
export class PacketRingProducer {
  private readonly control: Int32Array;
  private readonly meta: Int32Array;
  private readonly data: Uint8Array;
  private readonly mask: number;
  private readonly slots: number;
  private readonly slotBytes: number;
  /** Next slot to write (published or not). */
  private w: number;
  /** The consumer's cursor as last loaded: reloaded only when the ring looks full. */
  private readCache: number;
  private lostCount = 0;
  private pushedCount = 0;
  private lostPublished = 0;
  private readonly pending: PendingEvent[] = [];

  constructor(readonly ring: PacketRing) {
    this.control = ring.control;
    this.meta = ring.meta;
    this.data = ring.data;
    this.mask = ring.mask;
    this.slots = ring.slots;
    this.slotBytes = ring.slotBytes;
    this.w = Atomics.load(ring.control, I_WRITE);
    this.readCache = Atomics.load(ring.control, I_READ);
  }

  /** Packets not placed because the ring was full (including ones published to the ring's counter). */
  get lost(): number {
    return this.lostCount;
  }

  get pushed(): number {
    return this.pushedCount;
  }

  /** A free slot's index, or -1 when the ring is full (even after looking at the consumer again). */
  private freeSlot(): number {
    const w = this.w;
    if (((w - this.readCache) >>> 0) >= this.slots) {
      this.readCache = Atomics.load(this.control, I_READ);
      if (((w - this.readCache) >>> 0) >= this.slots) return -1;
    }
    return w & this.mask;
  }

  /**
   * Whether the next push() would find a free slot (events still queued are placed first, as push
   * would). For a producer that prefers to wait for the consumer over dropping (tests, replay).
   */
  hasRoom(): boolean {
    return (this.pending.length === 0 || this.flushPending()) && this.freeSlot() >= 0;
  }

  /**
   * Blocks until a slot is free or `timeoutMs` passed; true when there is room. Publishes first, so
   * the consumer sees everything written. For a producer in a worker thread that would rather make
   * its own input wait (tcpdump's pipe, and the kernel's buffer behind it) than drop: Atomics.wait
   * blocks the thread, so never call it where the consumer runs.
   */
  waitForRoom(timeoutMs: number): boolean {
    if (this.hasRoom()) return true;
    const c = this.control;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (Atomics.load(c, I_ABANDONED) !== 0) break; // nobody will make room
      this.publish();
      Atomics.store(c, I_PRODUCER_WAITING, 1);
      // Looked at again after raising the flag: a slot freed before the consumer could see the
      // flag is found here, and one freed after it comes with a notify.
      const r = Atomics.load(c, I_READ);
      if (this.hasRoom()) break;
      const left = deadline - Date.now();
      if (left <= 0) break;
      Atomics.wait(c, I_READ, r, left);
    }
    Atomics.store(c, I_PRODUCER_WAITING, 0);
    return this.hasRoom();
  }

  /**
   * Copies the record into the next slot. Returns false, and counts the packet lost, when the ring
   * is full. Not visible to the consumer until publish().
   */
  push(record: CaptureRecord): boolean {
    if (this.pending.length > 0 && !this.flushPending()) {
      this.lostCount++;
      return false;
    }
    const slot = this.freeSlot();
    if (slot < 0) {
      this.lostCount++;
      return false;
    }
    const len = record.caplen < this.slotBytes ? record.caplen : this.slotBytes;
    const off = record.offset;
    this.data.set(record.data.subarray(off, off + len), slot * this.slotBytes);
    const m = slot * SLOT_META_INTS;
    const meta = this.meta;
    const so = record.streamOffset;
    const soHigh = Math.floor(so / 0x1_0000_0000);
    meta[m] = Kind.Packet | ((record.direction & 0xff) << 8) | ((soHigh & 0xffff) << 16);
    meta[m + 1] = record.tsSec;
    meta[m + 2] = record.tsNsec;
    meta[m + 3] = len;
    meta[m + 4] = record.origlen;
    meta[m + 5] = record.linkType;
    meta[m + 6] = record.interfaceId;
    meta[m + 7] = so - soHigh * 0x1_0000_0000;
    this.w = (this.w + 1) | 0;
    this.pushedCount++;
    return true;
  }

  /** An interface description, in order with the packets; never dropped (queued while full). */
  pushInterface(iface: CaptureInterface): void {
    this.pending.push({ kind: Kind.Interface, iface });
    this.flushPending();
  }

  /** A reader warning, in order with the packets; never dropped (queued while full). */
  pushWarning(message: string): void {
    this.pending.push({ kind: Kind.Warning, message });
    this.flushPending();
  }

  /** Writes queued events while slots are free; true when none is left waiting. */
  flushPending(): boolean {
    const pending = this.pending;
    while (pending.length > 0) {
      const slot = this.freeSlot();
      if (slot < 0) return false;
      const e = pending.shift() as PendingEvent;
      const m = slot * SLOT_META_INTS;
      const base = slot * this.slotBytes;
      const room = this.data.subarray(base, base + this.slotBytes);
      const meta = this.meta;
      meta[m] = e.kind;
      if (e.kind === Kind.Interface) {
        const i = e.iface as CaptureInterface;
        // Name and description share the slot: their byte lengths (-1: absent) in [1] and [2].
        const name = i.name === undefined ? undefined : encoder.encode(i.name).subarray(0, this.slotBytes >> 1);
        const desc = i.description === undefined ? undefined : encoder.encode(i.description).subarray(0, this.slotBytes - (name?.length ?? 0));
        if (name) room.set(name, 0);
        if (desc) room.set(desc, name?.length ?? 0);
        meta[m + 1] = name ? name.length : -1;
        meta[m + 2] = desc ? desc.length : -1;
        meta[m + 3] = 0;
        meta[m + 4] = i.snapLen;
        meta[m + 5] = i.linkType;
        meta[m + 6] = i.id;
      } else {
        const text = encoder.encode(e.message ?? '').subarray(0, this.slotBytes);
        room.set(text, 0);
        meta[m + 3] = text.length;
      }
      this.w = (this.w + 1) | 0;
    }
    return true;
  }

  /** Makes every slot written so far visible to the consumer, and wakes it if it waits. */
  publish(): void {
    if (this.pending.length > 0) this.flushPending();
    const c = this.control;
    if (this.lostCount !== this.lostPublished) {
      Atomics.store(this.ring.counters, L_LOST, BigInt(this.lostCount));
      this.lostPublished = this.lostCount;
    }
    Atomics.store(this.ring.counters, L_PUSHED, BigInt(this.pushedCount));
    if (Atomics.load(c, I_WRITE) === this.w) return;
    Atomics.store(c, I_WRITE, this.w);
    Atomics.add(c, I_SEQ, 1);
    Atomics.notify(c, I_SEQ);
  }

  /**
   * Publishes what is written and marks the end of the stream. Returns false when queued events did
   * not fit (the caller may wait for the consumer and call close() again).
   */
  close(): boolean {
    const flushed = this.flushPending();
    this.publish();
    if (!flushed) return false;
    const c = this.control;
    Atomics.store(c, I_CLOSED, 1);
    Atomics.add(c, I_SEQ, 1);
    Atomics.notify(c, I_SEQ);
    return true;
  }
}

/** The reading side: one per ring, one thread. Delivers each slot to a CaptureSink, allocating nothing per packet. */
export class PacketRingConsumer {
  private readonly control: Int32Array;
  private readonly meta: Int32Array;
  private readonly slotBytes: number;
  private readonly mask: number;
  private r: number;
  /** Reused for every packet: valid only during the sink call, as the CaptureSink contract says. */
  private readonly record = new CaptureRecord();
  /** Records (packets and events) delivered so far. */
  delivered = 0;

  constructor(readonly ring: PacketRing) {
    this.control = ring.control;
    this.meta = ring.meta;
    this.slotBytes = ring.slotBytes;
    this.mask = ring.mask;
    this.r = Atomics.load(ring.control, I_READ);
    this.record.data = ring.data;
  }

  /** Slots published and not yet read by this consumer. */
  get available(): number {
    return (Atomics.load(this.control, I_WRITE) - this.r) >>> 0;
  }

  /** The producer closed the ring and every slot it published has been delivered. */
  get finished(): boolean {
    // Closed is stored after the last write cursor, so once it is seen the cursor read next is final.
    return Atomics.load(this.control, I_CLOSED) !== 0 && this.available === 0;
  }

  /**
   * Delivers up to `max` published slots to the sink, in order, then hands the slots back to the
   * producer (after the sink calls, so their bytes stay put while a callback looks at them).
   * Returns the number delivered. An exception from the sink propagates; the slots delivered before
   * it are handed back, the one that threw is not delivered again.
   */
  drain(sink: CaptureSink, max = 0x7fffffff): number {
    const w = Atomics.load(this.control, I_WRITE);
    let n = (w - this.r) >>> 0;
    if (n > max) n = max;
    if (n === 0) return 0;
    const meta = this.meta;
    const rec = this.record;
    const slotBytes = this.slotBytes;
    let r = this.r;
    let i = 0;
    try {
      for (; i < n; i++) {
        const slot = r & this.mask;
        r = (r + 1) | 0;
        const m = slot * SLOT_META_INTS;
        const head = meta[m] as number;
        const kind = head & 0xff;
        if (kind === Kind.Packet) {
          rec.offset = slot * slotBytes;
          rec.direction = ((head >>> 8) & 0xff) as Direction;
          rec.tsSec = (meta[m + 1] as number) >>> 0;
          rec.tsNsec = (meta[m + 2] as number) >>> 0;
          rec.caplen = meta[m + 3] as number;
          rec.origlen = (meta[m + 4] as number) >>> 0;
          rec.linkType = meta[m + 5] as number;
          rec.interfaceId = meta[m + 6] as number;
          rec.streamOffset = (head >>> 16) * 0x1_0000_0000 + ((meta[m + 7] as number) >>> 0);
          sink.onPacket(rec);
        } else {
          this.deliverEvent(sink, kind, slot, m);
        }
      }
    } finally {
      this.r = r;
      this.delivered += i;
      Atomics.store(this.control, I_READ, r);
      if (Atomics.load(this.control, I_PRODUCER_WAITING) !== 0) Atomics.notify(this.control, I_READ);
    }
    return n;
  }

  private deliverEvent(sink: CaptureSink, kind: number, slot: number, m: number): void {
    const meta = this.meta;
    const base = slot * this.slotBytes;
    // Copied out of shared memory first: TextDecoder does not take views of a SharedArrayBuffer.
    const text = (from: number, len: number): string | undefined => (len < 0 ? undefined : new TextDecoder().decode(this.ring.data.slice(base + from, base + from + len)));
    if (kind === Kind.Interface) {
      const nameLen = meta[m + 1] as number;
      sink.onInterface({
        id: meta[m + 6] as number,
        linkType: meta[m + 5] as number,
        snapLen: (meta[m + 4] as number) >>> 0,
        name: text(0, nameLen),
        description: text(nameLen < 0 ? 0 : nameLen, meta[m + 2] as number),
      });
    } else if (kind === Kind.Warning) {
      sink.onWarning(text(0, meta[m + 3] as number) ?? '');
    } else {
      throw new Error(`packet ring: slot ${slot} holds unknown kind ${kind}`);
    }
  }

  /** Gives up reading (the sink failed): a producer waiting for room is woken and waits no more. */
  abandon(): void {
    Atomics.store(this.control, I_ABANDONED, 1);
    Atomics.notify(this.control, I_READ);
  }

  /**
   * Resolves once something may be there to read: the producer published or closed since the last
   * drain, or `timeoutMs` passed. Resolves at once when slots are already waiting. Always resolves
   * asynchronously (through the event loop), so a loop of drain() and waitForData() lets timers run.
   */
  async waitForData(timeoutMs: number): Promise<void> {
    const c = this.control;
    // Load the sequence word before looking: a publish after this load changes it, so the wait
    // below returns at once ("not-equal") instead of missing the wake-up.
    const seq = Atomics.load(c, I_SEQ);
    if (this.available > 0 || Atomics.load(c, I_CLOSED) !== 0) {
      await new Promise<void>((res) => setImmediate(res));
      return;
    }
    const w = waitAsync(c, I_SEQ, seq, timeoutMs);
    if (w.async) await w.value;
    else await new Promise<void>((res) => setImmediate(res));
  }
}
