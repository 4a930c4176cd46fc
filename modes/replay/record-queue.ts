/**
 * One replay input's records, released in canonical order: by time, then interface name, then
 * their order on that interface. A file of one capture interface (a pcap per interface, or a
 * `tcpdump -i any` file) is in that order already: its records are released as they come. A pcapng
 * of several interfaces is not: dumpcap writes each interface's buffer as it fills (measured in the
 * lab: records up to 206 ms older than one already written; its read timeout is 250 ms). Once an
 * input shows a second interface its records are held until it has shown a record REORDER_MS
 * later (or has ended), and released sorted.
 *
 * Release depends only on the sequence of records, never on how they were chunked, read or
 * decompressed: the same packets give the same order, and the same analysis, whether they come as
 * one pcapng or as a pcap per interface (replay-runner merges inputs on the same key).
 *
 * Records keep pointing into the chunks they were read from (readers never reuse chunks); the rare
 * record in a reader's carry buffer (CaptureRecord.transient) is copied. Bounded: beyond
 * MAX_HELD records the oldest is released early (also a function of the sequence alone).
 */
import { CaptureRecord, Direction } from '../../agent/capture/capture-record.js';

/** How far back in time a record of a multi-interface file may come and still be put in its place. */
export const REORDER_MS = 500;
const MAX_HELD = 1 << 20;

/**
 * Orders two records of different inputs or interfaces with equal times: by node, then interface
 * name (never by argument order, so permuted inputs merge the same).
 */
export type TieBreak = (interfaceId: number) => string;

export class RecordQueue {
  private cap = 1024;
  private sec = new Float64Array(this.cap);
  private nsec = new Int32Array(this.cap);
  private data: Uint8Array[] = new Array<Uint8Array>(this.cap);
  private offset = new Int32Array(this.cap);
  private caplen = new Int32Array(this.cap);
  private origlen = new Float64Array(this.cap);
  private linkType = new Int32Array(this.cap);
  private iface = new Int32Array(this.cap);
  private direction = new Uint8Array(this.cap);
  private streamOffset = new Float64Array(this.cap);
  /** Order of arrival in the input: the last tie-break (order on one interface). */
  private seq = new Float64Array(this.cap);
  /** Held records occupy [head, tail). */
  private head = 0;
  private tail = 0;
  private arrived = 0;
  /** Latest time seen in the input (ms), and whether it has ended. */
  private latestMs = -Infinity;
  private ended = false;
  /** Hold records for reordering (the input has several interfaces); off: release at once. */
  private hold = false;

  constructor(private readonly tieKey: TieBreak) {}

  get size(): number {
    return this.tail - this.head;
  }

  /** The input has no more records: everything held can go. */
  end(): void {
    this.ended = true;
  }

  /** From now on, hold records REORDER_MS for sorting (the input showed a second interface). */
  holdForReorder(): void {
    this.hold = true;
  }

  get holding(): boolean {
    return this.hold;
  }

  /** Takes a record (its bytes are kept, or copied when the reader reuses them). */
  push(r: CaptureRecord): void {
    if (this.tail === this.cap) this.makeRoom();
    let at = this.tail;
    // Without a hold the file's order is kept as it is (sorting would depend on what a read chunk
    // left in the queue). Held records mostly come in order: their place is found from the back.
    while (this.hold && at > this.head && this.after(at - 1, r)) at--;
    if (at < this.tail) this.shift(at);
    this.tail++;
    const i = at;
    this.sec[i] = r.tsSec;
    this.nsec[i] = r.tsNsec;
    this.data[i] = r.transient ? r.data.slice(r.offset, r.offset + r.caplen) : r.data;
    this.offset[i] = r.transient ? 0 : r.offset;
    this.caplen[i] = r.caplen;
    this.origlen[i] = r.origlen;
    this.linkType[i] = r.linkType;
    this.iface[i] = r.interfaceId;
    this.direction[i] = r.direction;
    this.streamOffset[i] = r.streamOffset;
    this.seq[i] = this.arrived++;
    const ms = r.tsSec * 1000 + r.tsNsec / 1e6;
    if (ms > this.latestMs) this.latestMs = ms;
  }

  /** Whether the first held record may be released (no later record can sort before it). */
  get ready(): boolean {
    if (this.head === this.tail) return false;
    if (!this.hold || this.ended || this.tail - this.head > MAX_HELD) return true;
    const h = this.head;
    return (this.sec[h] as number) * 1000 + (this.nsec[h] as number) / 1e6 + REORDER_MS <= this.latestMs;
  }

  /** Seconds, nanoseconds and tie key of the first held record (for merging inputs). */
  headSec(): number {
    return this.sec[this.head] as number;
  }

  headNsec(): number {
    return this.nsec[this.head] as number;
  }

  headInterface(): number {
    return this.iface[this.head] as number;
  }

  headSeq(): number {
    return this.seq[this.head] as number;
  }

  /** Releases the first held record into `into` (its bytes valid until the next push). */
  pop(into: CaptureRecord): void {
    const i = this.head++;
    into.tsSec = this.sec[i] as number;
    into.tsNsec = this.nsec[i] as number;
    into.data = this.data[i] as Uint8Array;
    into.offset = this.offset[i] as number;
    into.caplen = this.caplen[i] as number;
    into.origlen = this.origlen[i] as number;
    into.linkType = this.linkType[i] as number;
    into.interfaceId = this.iface[i] as number;
    into.direction = this.direction[i] as Direction;
    into.streamOffset = this.streamOffset[i] as number;
    into.transient = false;
    // Let go of the chunk as soon as its last record is gone.
    this.data[i] = EMPTY;
    if (this.head === this.tail) this.head = this.tail = 0;
  }

  /** Whether held record i sorts after r. */
  private after(i: number, r: CaptureRecord): boolean {
    const s = this.sec[i] as number;
    if (s !== r.tsSec) return s > r.tsSec;
    const n = this.nsec[i] as number;
    if (n !== r.tsNsec) return n > r.tsNsec;
    const a = this.iface[i] as number;
    if (a === r.interfaceId) return false; // same interface: arrival order
    return this.tieKey(a) > this.tieKey(r.interfaceId);
  }

  /** Opens a gap at position `at` by moving [at, tail) one place on. */
  private shift(at: number): void {
    const n = this.tail;
    for (const a of [this.sec, this.nsec, this.offset, this.caplen, this.origlen, this.linkType, this.iface, this.direction, this.streamOffset, this.seq]) a.copyWithin(at + 1, at, n);
    this.data.copyWithin(at + 1, at, n);
  }

  /** Slides the held records to the front, or grows the arrays when they are full of held records. */
  private makeRoom(): void {
    const held = this.tail - this.head;
    if (held * 2 <= this.cap && this.head > 0) {
      this.moveTo(0, this.sec, this.nsec, this.offset, this.caplen, this.origlen, this.linkType, this.iface, this.direction, this.streamOffset, this.seq);
      this.data.copyWithin(0, this.head, this.tail);
      this.data.fill(EMPTY, held, this.tail);
    } else {
      this.cap *= 2;
      this.sec = grow(this.sec, this.cap, this.head, this.tail);
      this.nsec = grow(this.nsec, this.cap, this.head, this.tail);
      this.offset = grow(this.offset, this.cap, this.head, this.tail);
      this.caplen = grow(this.caplen, this.cap, this.head, this.tail);
      this.origlen = grow(this.origlen, this.cap, this.head, this.tail);
      this.linkType = grow(this.linkType, this.cap, this.head, this.tail);
      this.iface = grow(this.iface, this.cap, this.head, this.tail);
      this.direction = grow(this.direction, this.cap, this.head, this.tail);
      this.streamOffset = grow(this.streamOffset, this.cap, this.head, this.tail);
      this.seq = grow(this.seq, this.cap, this.head, this.tail);
      const data = new Array<Uint8Array>(this.cap);
      for (let i = this.head; i < this.tail; i++) data[i - this.head] = this.data[i] as Uint8Array;
      this.data = data;
    }
    this.tail = held;
    this.head = 0;
  }

  private moveTo(to: number, ...arrays: { copyWithin(target: number, start: number, end: number): unknown }[]): void {
    for (const a of arrays) a.copyWithin(to, this.head, this.tail);
  }
}

const EMPTY = new Uint8Array(0);

function grow<T extends Float64Array | Int32Array | Uint8Array>(a: T, cap: number, head: number, tail: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a.subarray(head, tail) as unknown as ArrayLike<number>, 0);
  return b;
}
