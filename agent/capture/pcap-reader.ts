/**
 * Streaming reader for classic pcap files (libpcap savefile format).
 * Spec: https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/
 *
 * File header (24 octets), then packet records back to back, no padding:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +---------------------------------------------------------------+
 *  0|            Magic Number (a1b2c3d4 usec / a1b23c4d nsec)        |
 *   +-------------------------------+-------------------------------+
 *  4|         Major Version         |         Minor Version         |
 *   +-------------------------------+-------------------------------+
 *  8|                 Reserved1 (ignored: old "thiszone")           |
 * 12|                 Reserved2 (ignored: old "sigfigs")            |
 *   +---------------------------------------------------------------+
 * 16|                            SnapLen                            |
 *   +-------+-+-+-------------------+-------------------------------+
 * 20|FCS len|R|P|     Reserved3     |        Link-layer type        |
 *   +-------+-+-+-------------------+-------------------------------+
 *
 * Packet record (16-octet header, then Captured Packet Length octets of data):
 *
 *   +---------------------------------------------------------------+
 *  0|                      Timestamp (seconds)                      |
 *  4|            Timestamp (microseconds or nanoseconds)            |
 *  8|                    Captured Packet Length                     |
 * 12|                    Original Packet Length                     |
 *   +---------------------------------------------------------------+
 * 16/                 Packet Data (not padded)                      /
 *   +---------------------------------------------------------------+
 *
 * The writer's byte order is used throughout; the magic number read in either order tells which.
 * The draft numbers bits from the most significant end: the link-layer type is the LOW 16 bits of
 * the last header word, and the top 16 bits carry FCS information and reserved bits that readers
 * must not treat as part of the link type (libpcap's LT_LINKTYPE() masks them off too).
 *
 * Chunks arrive in arbitrary sizes. A unit (the file header or one record) wholly inside a chunk is
 * handed to the sink as a view into that chunk; only a unit that straddles chunk boundaries is
 * assembled in a carry buffer, which is reused and grows geometrically, so the steady state
 * allocates nothing per packet.
 */
import { UnitStreamParser } from './unit-stream-parser.js';
import { CaptureFormatError, CaptureRecord, type CaptureInterface, type CaptureSink, type PcapRecordFormat } from './capture-record.js';

const FILE_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;

/**
 * Largest captured length accepted. libpcap stops at 256 KiB for most link types, but BIG TCP and
 * GSO captures legitimately exceed that; beyond 16 MiB the length field is far more likely to be
 * garbage, and honouring it would make the reader buffer that much data before noticing.
 */
export const PCAP_MAX_CAPLEN = 16 * 1024 * 1024;

const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;
const MAGIC_USEC_SWAPPED = 0xd4c3b2a1;
const MAGIC_NSEC_SWAPPED = 0x4d3cb2a1;


const PCAP_VERSION_MAJOR = 2;
const PCAP_VERSION_MINOR = 4;

const enum LengthOrder {
  Standard,
  Swapped,
  MaybeSwapped,
}

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

export class PcapParser extends UnitStreamParser {
  private readonly record = new CaptureRecord();
  private headerRead = false;
  private littleEndian = true;
  /** Multiplier from the fractional timestamp field to nanoseconds (1000 for usec files, 1 for nsec). */
  private fracToNs = 1000;
  /** The fractional field's value for one whole second, to normalise corrupt overflowing values. */
  private fracPerSec = 1_000_000;
  /**
   * Writers before format 2.3 put the wire length before the captured length; libpcap swaps them back
   * for 2.0-2.2 and, for 2.3 (written both ways), whenever the captured length exceeds the wire length.
   */
  private lengthOrder: LengthOrder = LengthOrder.Standard;

  /** The records' layout once the file header is read, for a sink that walks them (onPcapRecords). */
  private format: PcapRecordFormat | undefined;
  private readonly walked = { records: 0 };

  constructor(sink: CaptureSink) {
    super(sink);
  }

  protected override walkUnits(chunk: Uint8Array, pos: number, len: number): number {
    const format = this.format;
    if (format === undefined || this.sink.onPcapRecords === undefined) return pos;
    this.walked.records = 0;
    const next = this.sink.onPcapRecords(chunk, pos, len, format, this.walked);
    this.packets += this.walked.records;
    return next;
  }

  protected get headerDone(): boolean {
    return this.headerRead;
  }

  protected missingHeaderError(): CaptureFormatError {
    return new CaptureFormatError(`file shorter than the ${FILE_HEADER_LEN}-byte pcap header (${this.carryLen} bytes)`, 0);
  }

  protected truncatedUnitWarning(): string {
    const need = this.carryLen < RECORD_HEADER_LEN ? RECORD_HEADER_LEN : RECORD_HEADER_LEN + this.caplenAt(this.carry, 0);
    return `truncated final record at byte offset ${this.bytesConsumed}: ${this.carryLen} of ${need} bytes`;
  }

  /**
   * Length of the unit starting at buf[pos], given avail bytes of it are present. While its fixed
   * header is incomplete this is the header length (a lower bound); once the header is there it is
   * the exact length, validated.
   */
  protected unitLength(buf: Uint8Array, pos: number, avail: number): number {
    if (!this.headerRead) {
      if (avail >= 4) this.checkMagic(u32be(buf, pos));
      return FILE_HEADER_LEN;
    }
    if (avail < RECORD_HEADER_LEN) return RECORD_HEADER_LEN;
    return RECORD_HEADER_LEN + this.caplenAt(buf, pos);
  }

  private caplenAt(buf: Uint8Array, pos: number): number {
    const caplen = this.lengthsAt(buf, pos, true);
    if (caplen > PCAP_MAX_CAPLEN) {
      throw new CaptureFormatError(
        `absurd captured length ${caplen} (more than ${PCAP_MAX_CAPLEN}) in packet record`,
        this.bytesConsumed,
      );
    }
    return caplen;
  }

  /** The captured (first) or wire length of the record at buf[pos], in the order the file's version wrote them. */
  private lengthsAt(buf: Uint8Array, pos: number, captured: boolean): number {
    const rd = this.littleEndian ? u32le : u32be;
    const first = rd(buf, pos + 8);
    const second = rd(buf, pos + 12);
    const swapped = this.lengthOrder === LengthOrder.Swapped || (this.lengthOrder === LengthOrder.MaybeSwapped && first > second);
    return captured === swapped ? second : first;
  }

  private checkMagic(magic: number): void {
    if (
      magic !== MAGIC_USEC &&
      magic !== MAGIC_NSEC &&
      magic !== MAGIC_USEC_SWAPPED &&
      magic !== MAGIC_NSEC_SWAPPED
    ) {
      throw new CaptureFormatError(`not a pcap file (magic 0x${magic.toString(16).padStart(8, '0')})`, 0);
    }
  }

  protected processUnit(buf: Uint8Array, pos: number, len: number): void {
    if (!this.headerRead) {
      this.processFileHeader(buf, pos);
    } else {
      this.processRecord(buf, pos, len);
    }
  }

  private processFileHeader(buf: Uint8Array, pos: number): void {
    const magic = u32be(buf, pos);
    // Magic read big-endian equals the constant exactly when the file is big-endian.
    this.littleEndian = magic === MAGIC_USEC_SWAPPED || magic === MAGIC_NSEC_SWAPPED;
    const nano = magic === MAGIC_NSEC || magic === MAGIC_NSEC_SWAPPED;
    this.fracToNs = nano ? 1 : 1000;
    this.fracPerSec = nano ? 1_000_000_000 : 1_000_000;
    const rd = this.littleEndian ? u32le : u32be;
    const rd16 = this.littleEndian ? u16le : u16be;
    this.checkVersion(rd16(buf, pos + 4), rd16(buf, pos + 6));
    const snapLen = rd(buf, pos + 16);
    const linkType = rd(buf, pos + 20) & 0xffff;
    this.headerRead = true;
    const rec = this.record;
    rec.linkType = linkType;
    rec.interfaceId = 0;
    this.format = { littleEndian: this.littleEndian, nano, lengthOrder: this.lengthOrder as 0 | 1 | 2, linkType, interfaceId: 0 };
    const iface: CaptureInterface = { id: 0, linkType, snapLen, name: undefined, description: undefined };
    this.sink.onInterface(iface);
  }

  /** The versions libpcap reads (2.0 to 2.4), refused otherwise with libpcap's reason. */
  private checkVersion(major: number, minor: number): void {
    if (major < PCAP_VERSION_MAJOR) {
      throw new CaptureFormatError(`archaic pcap format version ${major}.${minor} (libpcap reads 2.0 to 2.4)`, 4);
    }
    if (major !== PCAP_VERSION_MAJOR || minor > PCAP_VERSION_MINOR) {
      throw new CaptureFormatError(`unsupported pcap version ${major}.${minor} (libpcap reads 2.0 to 2.4)`, 4);
    }
    this.lengthOrder = minor < 3 ? LengthOrder.Swapped : minor === 3 ? LengthOrder.MaybeSwapped : LengthOrder.Standard;
  }

  private processRecord(buf: Uint8Array, pos: number, len: number): void {
    const le = this.littleEndian;
    let sec = le ? u32le(buf, pos) : u32be(buf, pos);
    let frac = le ? u32le(buf, pos + 4) : u32be(buf, pos + 4);
    if (frac >= this.fracPerSec) {
      // Out of range for a sub-second field; keep the record but fold the excess into seconds
      // so consumers can rely on tsNsec < 1e9.
      const carrySec = Math.floor(frac / this.fracPerSec);
      sec += carrySec;
      frac -= carrySec * this.fracPerSec;
    }
    const rec = this.record;
    rec.tsSec = sec;
    rec.tsNsec = frac * this.fracToNs;
    rec.caplen = len - RECORD_HEADER_LEN;
    rec.origlen = this.lengthsAt(buf, pos, false);
    rec.data = buf;
    rec.transient = this.inCarry;
    rec.offset = pos + RECORD_HEADER_LEN;
    rec.streamOffset = this.bytesConsumed;
    this.packets++;
    this.sink.onPacket(rec);
  }
}
