/**
 * Recognises a capture's container format from its first bytes and builds the matching parser.
 *
 * Magic numbers, as they appear at the start of the stream:
 *
 *   pcap   (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/)
 *            a1 b2 c3 d4 | d4 c3 b2 a1   microsecond timestamps, big- | little-endian
 *            a1 b2 3c 4d | 4d 3c b2 a1   nanosecond timestamps,  big- | little-endian
 *   pcapng (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/)
 *            0a 0d 0d 0a                 Section Header Block type (same in both byte orders)
 *   gzip   (RFC 1952)
 *            1f 8b                       ID1 ID2
 *
 * The pcapng magic deliberately contains CR and LF so that a text-mode transfer, which would
 * mangle the file, also mangles the magic and the file is rejected instead of misread.
 */
import type { CaptureSink } from './capture-record.js';
import { PcapParser } from './pcap-reader.js';
import { PcapngParser } from './pcapng-reader.js';

export type CaptureFormat = 'pcap' | 'pcapng' | 'gzip' | 'unknown';

/**
 * What every capture parser offers: feed chunks of any size, then end(). The sink is called
 * synchronously from push()/end(); an exception thrown by the sink propagates and leaves the parser
 * unusable.
 */
export interface CaptureParser {
  /** Parses as much of the stream as the bytes so far allow; throws CaptureFormatError on bad input. */
  push(chunk: Uint8Array): void;
  /** Signals the end of the stream: a truncated last unit is a warning, a missing header an error. */
  end(): void;
  /** Packets delivered to the sink so far. */
  readonly packets: number;
}

/** Needs 4 bytes to tell pcap and pcapng apart (2 suffice for gzip); fewer give 'unknown'. */
export function detectCaptureFormat(firstBytes: Uint8Array): CaptureFormat {
  if (firstBytes.length >= 2 && firstBytes[0] === 0x1f && firstBytes[1] === 0x8b) return 'gzip';
  if (firstBytes.length < 4) return 'unknown';
  const magic =
    ((firstBytes[0] << 24) | (firstBytes[1] << 16) | (firstBytes[2] << 8) | firstBytes[3]) >>> 0;
  switch (magic) {
    case 0xa1b2c3d4:
    case 0xd4c3b2a1:
    case 0xa1b23c4d:
    case 0x4d3cb2a1:
      return 'pcap';
    case 0x0a0d0d0a:
      return 'pcapng';
    default:
      return 'unknown';
  }
}

export function createCaptureParser(format: 'pcap' | 'pcapng', sink: CaptureSink): CaptureParser {
  return format === 'pcap' ? new PcapParser(sink) : new PcapngParser(sink);
}
