/**
 * The contract between capture readers (files, live capture) and the decoder.
 *
 * A reader owns one CaptureRecord and overwrites it for every packet: the record and the bytes it
 * points at are valid only during the callback. Nothing per packet is allocated; a consumer that
 * needs to keep bytes copies them.
 */

/** Direction of a packet relative to the interface it was captured on. */
export const enum Direction {
  Unknown = 0,
  In = 1,
  Out = 2,
}

/** How the direction of a packet became known; reported so users can judge a verdict. */
export const enum DirectionSource {
  None = 0,
  /** pcapng epb_flags inbound/outbound bits. */
  PcapngFlags = 1,
  /** Linux SLL/SLL2 packet type (PACKET_HOST, PACKET_OUTGOING, ...). */
  LinuxPacketType = 2,
  /** Source MAC address learned as the interface's own. */
  LearnedMac = 3,
  /** Source or destination address is one of the node's own, or lives behind another interface. */
  Addresses = 4,
  /** The order of the packet's hops on the node (first in, last out; tunnel stages). */
  HopOrder = 5,
}

export class CaptureRecord {
  /** Buffer holding the packet bytes: data[offset, offset + caplen). */
  data: Uint8Array = new Uint8Array(0);
  offset = 0;
  /** Captured length (bytes present). */
  caplen = 0;
  /** Original length on the wire (may exceed caplen when the snap length cut it). */
  origlen = 0;
  /** Timestamp: whole seconds since the epoch and the nanoseconds within that second. */
  tsSec = 0;
  tsNsec = 0;
  /** LINKTYPE_* of the interface the packet was captured on. */
  linkType = 0;
  /** Reader-wide interface number (pcapng: index of the interface across all sections; pcap: 0). */
  interfaceId = 0;
  /** Direction from capture metadata (pcapng epb_flags); SLL/SLL2 direction comes from the decoder. */
  direction: Direction = Direction.Unknown;
  /** Byte offset of this record in the input stream (decompressed), for error messages. */
  streamOffset = 0;
  /**
   * `data` is a buffer the reader reuses for the next record (its carry for a record that straddled
   * two chunks): a consumer keeping the bytes must copy them. Otherwise `data` is the chunk itself,
   * which readers never reuse; a live capture's chunks (agent/capture/live-capture.ts) are its
   * blocks, filled again once the next chunk is read, and the live pipeline keeps nothing past the
   * callback.
   */
  transient = false;
}

/** The record's time in milliseconds since the epoch (fractional). */
export function recordTimeMs(r: CaptureRecord): number {
  return r.tsSec * 1000 + r.tsNsec / 1e6;
}

/** One capture interface as described by the file (pcapng IDB) or implied by it (pcap). */
export interface CaptureInterface {
  /** Reader-wide interface number, matching CaptureRecord.interfaceId. */
  readonly id: number;
  readonly linkType: number;
  readonly snapLen: number;
  /** pcapng if_name, if present. */
  readonly name: string | undefined;
  /** pcapng if_description, if present. */
  readonly description: string | undefined;
}

/** Sink for a reader's output. */
/** How a pcap stream lays out its records (read from its file header), for a sink that walks them itself. */
export interface PcapRecordFormat {
  readonly kind?: 'pcap';
  readonly littleEndian: boolean;
  /** Nanosecond timestamps (else microseconds). */
  readonly nano: boolean;
  /** Where the captured length is: 0 first (2.4), 1 second (2.0-2.2), 2 whichever is smaller (2.3). */
  readonly lengthOrder: 0 | 1 | 2;
  readonly linkType: number;
  /** The capture interface of every record (pcap: 0). */
  readonly interfaceId: number;
}

/**
 * How a pcapng section lays out the packets of its one interface (from its Section Header and
 * Interface Description Blocks), for a sink that walks them itself: Enhanced Packet Blocks of that
 * interface only; any other block is left to the reader.
 */
export interface PcapngRecordFormat {
  readonly kind: 'pcapng';
  readonly littleEndian: boolean;
  readonly linkType: number;
  /** The interface's reader-wide id (CaptureRecord.interfaceId), and its section's first. */
  readonly interfaceId: number;
  readonly sectionBase: number;
  /** if_tsresol as units per second; nanoseconds per unit when whole (else 0); if_tsoffset in seconds. */
  readonly unitsPerSec: number;
  readonly nsPerUnit: number;
  readonly tsOffset: number;
}

export interface CaptureSink {
  onInterface(iface: CaptureInterface): void;
  onPacket(record: CaptureRecord): void;
  /**
   * Optional: takes the complete pcap records (or pcapng packet blocks) of chunk[pos, end) itself, in one call (the native
   * engine's walk), instead of one onPacket each. Returns the byte where it stopped (pos when it
   * declines) and adds the records it took to `walked.records`; the reader goes on from there
   * (a record cut by the chunk's end, or one it refuses with its own error).
   */
  onPcapRecords?(chunk: Uint8Array, pos: number, end: number, format: PcapRecordFormat | PcapngRecordFormat, walked: { records: number }): number;
  /** A recoverable problem (for example a truncated final record); the reader goes on. */
  onWarning(message: string): void;
}

/**
 * A capture that cannot be read: not a capture file, or structurally broken. Carries the byte offset
 * so the one-line message can say where.
 */
export class CaptureFormatError extends Error {
  constructor(
    readonly reason: string,
    readonly byteOffset: number,
  ) {
    super(`${reason} at byte offset ${byteOffset}`);
    this.name = 'CaptureFormatError';
  }
}
