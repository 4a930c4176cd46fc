/**
 * Streaming reader for pcapng (PCAP Next Generation) captures.
 * Spec: https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/
 *
 * A file is a sequence of blocks, all framed the same way (lengths include the framing):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +---------------------------------------------------------------+
 *  0|                          Block Type                           |
 *  4|                      Block Total Length                       |
 *  8/                          Block Body  (padded to 32 bits)      /
 *   |                      Block Total Length                       |
 *   +---------------------------------------------------------------+
 *
 * Section Header Block (0x0A0D0D0A; the type is a palindrome so it reads the same in either order,
 * and the byte-order magic says which order the rest of the section uses):
 *
 *  8|                 Byte-Order Magic (0x1A2B3C4D)                 |
 * 12|         Major Version (1)     |         Minor Version         |
 * 16|                Section Length (64 bits, ignored)              |
 * 24/                           Options                             /
 *
 * Interface Description Block (1):
 *
 *  8|           LinkType            |           Reserved            |
 * 12|                            SnapLen                            |
 * 16/      Options: if_name (2), if_description (3), if_tsresol (9),/
 *   /               if_tsoffset (14)                                /
 *
 * Enhanced Packet Block (6) and the obsolete Packet Block (2):
 *
 *  8|                         Interface ID                          |   EPB
 *  8|        Interface ID           |          Drops Count          |   PB
 * 12|                       Timestamp (High)                        |
 * 16|                       Timestamp (Low)                         |
 * 20|                    Captured Packet Length                     |
 * 24|                    Original Packet Length                     |
 * 28/                 Packet Data (padded to 32 bits)               /
 *   /       Options: epb_flags / pack_flags (2): bits 0-1 direction /
 *
 * Simple Packet Block (3): no interface id (always interface 0 of the section), no timestamp,
 * no captured length (it is min(original length, snaplen, room in the block)):
 *
 *  8|                    Original Packet Length                     |
 * 12/                 Packet Data (padded to 32 bits)               /
 *
 * Options are (code u16, length u16, value padded to 32 bits), ended by code 0 or the block end.
 *
 * Interface ids in the file are per section; CaptureRecord.interfaceId is reader-wide (a running
 * count of IDBs), so interfaces of different sections never collide. Timestamps are 64-bit counts
 * of if_tsresol units; they are split into seconds and nanoseconds with double arithmetic on 16-bit
 * digits so that the per-packet path needs no BigInt. Seconds are exact for resolutions down to
 * 2^-36 s; nanoseconds are exact for 10^-0..10^-9 and 2^-0..2^-23, within 1 ns for finer binary
 * resolutions, and approximate beyond 2^-36 (finer than anything a capture can really measure).
 *
 * Chunking follows the pcap reader: blocks wholly inside a chunk are read in place; only a block
 * straddling chunk boundaries is assembled in a reused, geometrically grown carry buffer.
 */
import { UnitStreamParser } from './unit-stream-parser.js';
import { TextDecoder } from 'node:util';
import {
  CaptureFormatError,
  CaptureRecord,
  Direction,
  type CaptureInterface,
  type CaptureSink,
  type PcapngRecordFormat,
} from './capture-record.js';

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_PB = 0x00000002;
const BT_SPB = 0x00000003;
const BT_EPB = 0x00000006;

const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BYTE_ORDER_MAGIC_SWAPPED = 0x4d3c2b1a;

/** Enough of any block to know its type and length (and, for an SHB, its byte order). */
const BLOCK_PREFIX_LEN = 12;
const SHB_MIN_LEN = 28;
const IDB_MIN_LEN = 20;
const EPB_MIN_LEN = 32;
const SPB_MIN_LEN = 16;

const OPT_ENDOFOPT = 0;
const OPT_IF_NAME = 2;
const OPT_IF_DESCRIPTION = 3;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
/** epb_flags in an EPB, pack_flags in the obsolete PB: same code, same layout. */
const OPT_PACKET_FLAGS = 2;

/**
 * Largest block accepted: a 16 MiB packet (the pcap reader's bound) plus generous room for the
 * block's fields and options. A larger length field is taken to be corruption rather than a reason
 * to buffer that much data.
 */
export const PCAPNG_MAX_BLOCK_LEN = 16 * 1024 * 1024 + 64 * 1024;

/** Units per second at or below which the 16-bit-digit long division stays below 2^53. */
const EXACT_DIVISION_MAX_UNITS = 2 ** 36;
const TWO_POW_32 = 4294967296;
/** Timestamps whose high word is below this are below 2^53 units and exact as one double. */
const SINGLE_DOUBLE_HIGH_LIMIT = 0x200000;


function u16le(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8);
}

function u16be(b: Uint8Array, p: number): number {
  return (b[p] << 8) | b[p + 1];
}

function u32le(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

function u32be(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

export class PcapngParser extends UnitStreamParser {
  private readonly record = new CaptureRecord();
  /** Byte order of the current section; meaningless before the first SHB. */
  private littleEndian = true;
  private inSection = false;
  /** Reader-wide id of the current section's interface 0. */
  private sectionBase = 0;

  // Per-interface state, indexed by reader-wide interface id. Parallel arrays keep the per-packet
  // lookup to plain element loads.
  private readonly ifLinkType: number[] = [];
  private readonly ifSnapLen: number[] = [];
  /** if_tsresol as timestamp units per second. */
  private readonly ifUnitsPerSec: number[] = [];
  /** Nanoseconds per unit when that is an integer (units divide 1e9), else 0. */
  private readonly ifNsPerUnit: number[] = [];
  /** if_tsoffset, seconds. */
  private readonly ifTsOffset: number[] = [];

  private textDecoder: TextDecoder | undefined;
  /** The section's packet layout while it has exactly one interface, for a sink that walks packet blocks (onPcapRecords). */
  private walkFormat: PcapngRecordFormat | undefined;
  private readonly walked = { records: 0 };

  constructor(sink: CaptureSink) {
    super(sink);
  }

  protected override walkUnits(chunk: Uint8Array, pos: number, len: number): number {
    const format = this.walkFormat;
    if (format === undefined || this.sink.onPcapRecords === undefined) return pos;
    this.walked.records = 0;
    const next = this.sink.onPcapRecords(chunk, pos, len, format, this.walked);
    this.packets += this.walked.records;
    return next;
  }

  /** After a section or interface block: packet blocks are walked while the section has one interface. */
  private updateWalkFormat(): void {
    const id = this.sectionBase;
    if (this.ifLinkType.length !== id + 1) {
      this.walkFormat = undefined;
      return;
    }
    this.walkFormat = {
      kind: 'pcapng',
      littleEndian: this.littleEndian,
      linkType: this.ifLinkType[id] as number,
      interfaceId: id,
      sectionBase: id,
      unitsPerSec: this.ifUnitsPerSec[id] as number,
      nsPerUnit: this.ifNsPerUnit[id] as number,
      tsOffset: this.ifTsOffset[id] as number,
    };
  }

  protected get headerDone(): boolean {
    return this.inSection;
  }

  protected missingHeaderError(): CaptureFormatError {
    return new CaptureFormatError(`no complete Section Header Block (${this.carryLen} bytes of input)`, 0);
  }

  protected truncatedUnitWarning(): string {
    const need = this.carryLen < BLOCK_PREFIX_LEN ? BLOCK_PREFIX_LEN : this.blockLength(this.carry, 0);
    return `truncated final block at byte offset ${this.bytesConsumed}: ${this.carryLen} of ${need} bytes`;
  }

  protected processUnit(buf: Uint8Array, pos: number, len: number): void {
    this.processBlock(buf, pos, len);
  }

  /** Bytes the block at buf[pos] needs: the prefix length until the prefix is there, then exact. */
  protected unitLength(buf: Uint8Array, pos: number, avail: number): number {
    if (!this.inSection && avail >= 4 && u32le(buf, pos) !== BT_SHB) {
      throw new CaptureFormatError('not a pcapng file (no Section Header Block)', 0);
    }
    if (avail < BLOCK_PREFIX_LEN) return BLOCK_PREFIX_LEN;
    return this.blockLength(buf, pos);
  }

  /** Validated Block Total Length of the block at buf[pos] (at least BLOCK_PREFIX_LEN bytes there). */
  private blockLength(buf: Uint8Array, pos: number): number {
    const type = u32le(buf, pos);
    let le = this.littleEndian;
    let min = BLOCK_PREFIX_LEN;
    if (type === BT_SHB) {
      le = this.sectionByteOrder(buf, pos);
      min = SHB_MIN_LEN;
    }
    const len = le ? u32le(buf, pos + 4) : u32be(buf, pos + 4);
    if (len % 4 !== 0 || len < min || len > PCAPNG_MAX_BLOCK_LEN) {
      throw new CaptureFormatError(
        `invalid block total length ${len} (block type 0x${(le ? type : u32be(buf, pos)).toString(16)})`,
        this.bytesConsumed,
      );
    }
    return len;
  }

  /** True for a little-endian section, from the SHB's byte-order magic. */
  private sectionByteOrder(buf: Uint8Array, pos: number): boolean {
    const bom = u32le(buf, pos + 8);
    if (bom === BYTE_ORDER_MAGIC) return true;
    if (bom === BYTE_ORDER_MAGIC_SWAPPED) return false;
    throw new CaptureFormatError(
      `bad byte-order magic 0x${bom.toString(16).padStart(8, '0')} in Section Header Block`,
      this.bytesConsumed + 8,
    );
  }

  private processBlock(buf: Uint8Array, pos: number, len: number): void {
    const le = u32le(buf, pos) === BT_SHB ? this.sectionByteOrder(buf, pos) : this.littleEndian;
    const trailer = le ? u32le(buf, pos + len - 4) : u32be(buf, pos + len - 4);
    if (trailer !== len) {
      throw new CaptureFormatError(
        `trailing block length ${trailer} does not match leading length ${len}`,
        this.bytesConsumed + len - 4,
      );
    }
    const type = le ? u32le(buf, pos) : u32be(buf, pos);
    switch (type) {
      case BT_EPB:
        this.processEnhancedPacket(buf, pos, len, false);
        break;
      case BT_SHB:
        this.processSectionHeader(buf, pos, le);
        this.updateWalkFormat();
        break;
      case BT_IDB:
        this.processInterface(buf, pos, len);
        this.updateWalkFormat();
        break;
      case BT_SPB:
        this.processSimplePacket(buf, pos, len);
        break;
      case BT_PB:
        this.processEnhancedPacket(buf, pos, len, true);
        break;
      default:
        // NRB, ISB, DSB, custom and unknown blocks carry nothing the decoder uses.
        break;
    }
  }

  private processSectionHeader(buf: Uint8Array, pos: number, le: boolean): void {
    const major = le ? u16le(buf, pos + 12) : u16be(buf, pos + 12);
    const minor = le ? u16le(buf, pos + 14) : u16be(buf, pos + 14);
    // As libpcap: 1.0, and 1.2 (which some writers used for 1.0's format); 1.1 and others were never defined.
    if (major !== 1 || (minor !== 0 && minor !== 2)) {
      throw new CaptureFormatError(`unsupported pcapng version ${major}.${minor} (libpcap reads 1.0 and 1.2)`, this.bytesConsumed + 12);
    }
    this.littleEndian = le;
    this.inSection = true;
    // Interface ids restart in each section; reader-wide ids keep counting.
    this.sectionBase = this.ifLinkType.length;
  }

  private processInterface(buf: Uint8Array, pos: number, len: number): void {
    if (len < IDB_MIN_LEN) this.tooShort('Interface Description', len);
    const le = this.littleEndian;
    const linkType = le ? u16le(buf, pos + 8) : u16be(buf, pos + 8);
    const snapLen = le ? u32le(buf, pos + 12) : u32be(buf, pos + 12);
    let name: string | undefined;
    let description: string | undefined;
    let unitsPerSec = 1_000_000;
    let nsPerUnit = 1000;
    let tsOffset = 0;
    const end = pos + len - 4;
    let p = pos + 16;
    while (p + 4 <= end) {
      const code = le ? u16le(buf, p) : u16be(buf, p);
      const olen = le ? u16le(buf, p + 2) : u16be(buf, p + 2);
      if (code === OPT_ENDOFOPT) break;
      const v = p + 4;
      if (v + olen > end) this.optionOverrun(code, p, pos);
      switch (code) {
        case OPT_IF_NAME:
          name = this.decodeString(buf, v, olen);
          break;
        case OPT_IF_DESCRIPTION:
          description = this.decodeString(buf, v, olen);
          break;
        case OPT_IF_TSRESOL:
          if (olen >= 1) {
            const r = buf[v];
            // High bit clear: 10^-r seconds per unit; set: 2^-(r & 0x7f).
            unitsPerSec = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
            nsPerUnit = unitsPerSec <= 1e9 && 1e9 % unitsPerSec === 0 ? 1e9 / unitsPerSec : 0;
          }
          break;
        case OPT_IF_TSOFFSET:
          if (olen >= 8) {
            // Signed 64-bit seconds; any plausible offset fits a double exactly.
            const hi = le ? u32le(buf, v + 4) : u32be(buf, v);
            const lo = le ? u32le(buf, v) : u32be(buf, v + 4);
            tsOffset = (hi | 0) * TWO_POW_32 + lo;
          }
          break;
        default:
          break;
      }
      p = v + pad4(olen);
    }
    const id = this.ifLinkType.length;
    this.ifLinkType.push(linkType);
    this.ifSnapLen.push(snapLen);
    this.ifUnitsPerSec.push(unitsPerSec);
    this.ifNsPerUnit.push(nsPerUnit);
    this.ifTsOffset.push(tsOffset);
    const iface: CaptureInterface = { id, linkType, snapLen, name, description };
    this.sink.onInterface(iface);
  }

  /** EPB, or with obsolete=true the old Packet Block (16-bit interface id and drop count). */
  private processEnhancedPacket(buf: Uint8Array, pos: number, len: number, obsolete: boolean): void {
    if (len < EPB_MIN_LEN) this.tooShort(obsolete ? 'Packet' : 'Enhanced Packet', len);
    const le = this.littleEndian;
    const localId = obsolete
      ? le
        ? u16le(buf, pos + 8)
        : u16be(buf, pos + 8)
      : le
        ? u32le(buf, pos + 8)
        : u32be(buf, pos + 8);
    const ifx = this.sectionBase + localId;
    if (ifx >= this.ifLinkType.length) {
      throw new CaptureFormatError(
        `packet block refers to unknown interface ${localId} of its section`,
        this.bytesConsumed + 8,
      );
    }
    const tsHigh = le ? u32le(buf, pos + 12) : u32be(buf, pos + 12);
    const tsLow = le ? u32le(buf, pos + 16) : u32be(buf, pos + 16);
    const caplen = le ? u32le(buf, pos + 20) : u32be(buf, pos + 20);
    const origlen = le ? u32le(buf, pos + 24) : u32be(buf, pos + 24);
    const end = pos + len - 4;
    const dataEnd = pos + 28 + caplen;
    if (dataEnd > end) {
      throw new CaptureFormatError(
        `captured length ${caplen} runs past the end of a ${len}-byte block`,
        this.bytesConsumed + 20,
      );
    }
    let direction = Direction.Unknown;
    let p = pos + 28 + pad4(caplen);
    while (p + 4 <= end) {
      const code = le ? u16le(buf, p) : u16be(buf, p);
      const olen = le ? u16le(buf, p + 2) : u16be(buf, p + 2);
      if (code === OPT_ENDOFOPT) break;
      if (p + 4 + olen > end) this.optionOverrun(code, p, pos);
      if (code === OPT_PACKET_FLAGS && olen >= 4) {
        const flags = le ? u32le(buf, p + 4) : u32be(buf, p + 4);
        const dir = flags & 3;
        direction = dir === 1 ? Direction.In : dir === 2 ? Direction.Out : Direction.Unknown;
      }
      p += 4 + pad4(olen);
    }
    const rec = this.record;
    this.setTimestamp(rec, tsHigh, tsLow, ifx);
    rec.caplen = caplen;
    rec.origlen = origlen;
    rec.direction = direction;
    this.emit(rec, buf, pos + 28, ifx);
  }

  private processSimplePacket(buf: Uint8Array, pos: number, len: number): void {
    if (len < SPB_MIN_LEN) this.tooShort('Simple Packet', len);
    const ifx = this.sectionBase;
    if (ifx >= this.ifLinkType.length) {
      throw new CaptureFormatError(
        'Simple Packet Block before any Interface Description Block in its section',
        this.bytesConsumed,
      );
    }
    const origlen = this.littleEndian ? u32le(buf, pos + 8) : u32be(buf, pos + 8);
    let caplen = len - SPB_MIN_LEN;
    if (origlen < caplen) caplen = origlen;
    const snapLen = this.ifSnapLen[ifx];
    // SnapLen 0 means "no limit" in an IDB.
    if (snapLen !== 0 && snapLen < caplen) caplen = snapLen;
    const rec = this.record;
    rec.tsSec = 0;
    rec.tsNsec = 0;
    rec.caplen = caplen;
    rec.origlen = origlen;
    rec.direction = Direction.Unknown;
    this.emit(rec, buf, pos + 12, ifx);
  }

  private emit(rec: CaptureRecord, buf: Uint8Array, dataPos: number, ifx: number): void {
    rec.data = buf;
    rec.transient = this.inCarry;
    rec.offset = dataPos;
    rec.interfaceId = ifx;
    rec.linkType = this.ifLinkType[ifx];
    rec.streamOffset = this.bytesConsumed;
    this.packets++;
    this.sink.onPacket(rec);
  }

  /** Splits a timestamp of (high * 2^32 + low) if_tsresol units into seconds and nanoseconds. */
  private setTimestamp(rec: CaptureRecord, high: number, low: number, ifx: number): void {
    const units = this.ifUnitsPerSec[ifx];
    let sec: number;
    let rem: number;
    if (high < SINGLE_DOUBLE_HIGH_LIMIT) {
      // Below 2^53: the count is exact as one double (typical for microsecond captures).
      const ts = high * TWO_POW_32 + low;
      sec = Math.floor(ts / units);
      rem = ts - sec * units;
      // The rounded quotient can land on the next integer when the true one is just below it.
      if (rem < 0) {
        sec -= 1;
        rem += units;
      }
    } else if (units <= EXACT_DIVISION_MAX_UNITS) {
      // Schoolbook division by 16-bit digits: each partial dividend stays below units * 2^16 <= 2^52.
      sec = 0;
      rem = 0;
      for (let i = 0; i < 4; i++) {
        const digit = i === 0 ? high >>> 16 : i === 1 ? high & 0xffff : i === 2 ? low >>> 16 : low & 0xffff;
        const t = rem * 65536 + digit;
        let q = Math.floor(t / units);
        rem = t - q * units;
        if (rem < 0) {
          q -= 1;
          rem += units;
        }
        sec = sec * 65536 + q;
      }
    } else {
      // Finer than 2^-36 s: approximate, as the resolution is far below anything we can use.
      const ts = high * TWO_POW_32 + low;
      sec = Math.floor(ts / units);
      rem = ts - sec * units;
      if (rem < 0) rem = 0;
    }
    const nsPerUnit = this.ifNsPerUnit[ifx];
    let nsec = nsPerUnit !== 0 ? rem * nsPerUnit : Math.floor((rem * 1e9) / units);
    if (nsec > 999_999_999) nsec = 999_999_999;
    rec.tsSec = sec + this.ifTsOffset[ifx];
    rec.tsNsec = nsec;
  }

  private decodeString(buf: Uint8Array, p: number, n: number): string {
    this.textDecoder ??= new TextDecoder('utf-8');
    // Some writers include the C string terminator; it is not part of the name.
    let end = p + n;
    while (end > p && buf[end - 1] === 0) end--;
    return this.textDecoder.decode(buf.subarray(p, end));
  }

  private optionOverrun(code: number, optPos: number, blockPos: number): never {
    throw new CaptureFormatError(
      `option ${code} runs past the end of its block`,
      this.bytesConsumed + (optPos - blockPos),
    );
  }

  private tooShort(what: string, len: number): never {
    throw new CaptureFormatError(`${what} Block too short (${len} bytes)`, this.bytesConsumed);
  }
}
