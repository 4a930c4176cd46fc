/**
 * What pcap and pcapng readers share: a stream of length-prefixed units (file header and records,
 * or blocks) parsed in place from each chunk, with the unit that straddles two chunks assembled in a
 * carry buffer. A format error is sticky (every later call throws it again); the end of input with a
 * unit half-read is a warning, not an error, so the analysis of what came before goes on.
 */
import { appendToCarry } from './carry-buffer.js';
import type { CaptureParser } from './capture-format.js';
import { CaptureFormatError, type CaptureSink } from './capture-record.js';
import { plainBytes } from './plain-bytes.js';

export abstract class UnitStreamParser implements CaptureParser {
  /** Packets delivered to the sink so far. */
  packets = 0;
  /** Stream bytes belonging to completely parsed units. */
  bytesConsumed = 0;
  protected carry: Uint8Array = new Uint8Array(0);
  protected carryLen = 0;
  /**
   * The unit being processed sits in the carry buffer, which the next chunk overwrites: a consumer
   * that keeps a record's bytes past the callback must copy these (CaptureRecord.transient).
   */
  protected inCarry = false;
  private ended = false;
  private failure: CaptureFormatError | undefined;

  constructor(protected readonly sink: CaptureSink) {}

  /**
   * Bytes the unit at buf[pos] needs, given `avail` of them are present: a lower bound (its fixed
   * prefix) until the prefix is there, then its exact, validated length.
   */
  protected abstract unitLength(buf: Uint8Array, pos: number, avail: number): number;
  /** Parses one complete unit of `len` bytes at buf[pos]. */
  protected abstract processUnit(buf: Uint8Array, pos: number, len: number): void;
  /**
   * Complete units of chunk[pos, len) taken in one go by the sink, if it walks them itself; returns
   * the position after them (pos: none taken). Each unit walked must be complete and valid as
   * unitLength would find it.
   */
  protected walkUnits(_chunk: Uint8Array, pos: number, _len: number): number {
    return pos;
  }
  /** Whether the stream's header (pcap file header, first section header) has been read. */
  protected abstract get headerDone(): boolean;
  /** The error for a stream that ended before its header was complete. */
  protected abstract missingHeaderError(): CaptureFormatError;
  /** The warning for a stream that ended inside a unit. */
  protected abstract truncatedUnitWarning(): string;

  push(chunk: Uint8Array): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.ended) throw new Error(`${this.constructor.name}.push() called after end()`);
    try {
      this.consume(plainBytes(chunk));
    } catch (e) {
      if (e instanceof CaptureFormatError) this.failure = e;
      throw e;
    }
  }

  end(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.ended) return;
    this.ended = true;
    if (!this.headerDone) {
      this.failure = this.missingHeaderError();
      throw this.failure;
    }
    if (this.carryLen > 0) {
      this.sink.onWarning(this.truncatedUnitWarning());
      this.carryLen = 0;
    }
  }

  private consume(chunk: Uint8Array): void {
    const len = chunk.length;
    let pos = 0;
    if (this.carryLen > 0) {
      pos = this.completeCarry(chunk);
      if (this.carryLen > 0) return;
    }
    while (pos < len) {
      const walked = this.walkUnits(chunk, pos, len);
      if (walked !== pos) {
        this.bytesConsumed += walked - pos;
        pos = walked;
        continue;
      }
      const avail = len - pos;
      const need = this.unitLength(chunk, pos, avail);
      if (avail < need) {
        this.appendCarry(chunk, pos, avail);
        return;
      }
      this.processUnit(chunk, pos, need);
      this.bytesConsumed += need;
      pos += need;
    }
  }

  /**
   * Moves bytes from the chunk into the carry until the pending unit is complete (then processes it)
   * or the chunk runs out. Never takes bytes past the unit, so the rest of the chunk can be parsed
   * in place. Returns the chunk position after the bytes taken.
   */
  private completeCarry(chunk: Uint8Array): number {
    let pos = 0;
    for (;;) {
      const need = this.unitLength(this.carry, 0, this.carryLen);
      if (this.carryLen >= need) {
        this.carryLen = 0;
        this.inCarry = true;
        try {
          this.processUnit(this.carry, 0, need);
        } finally {
          this.inCarry = false;
        }
        this.bytesConsumed += need;
        return pos;
      }
      if (pos === chunk.length) return pos;
      const take = Math.min(need - this.carryLen, chunk.length - pos);
      this.appendCarry(chunk, pos, take);
      pos += take;
    }
  }

  private appendCarry(src: Uint8Array, pos: number, n: number): void {
    this.carry = appendToCarry(this.carry, this.carryLen, src, pos, n);
    this.carryLen += n;
  }
}
