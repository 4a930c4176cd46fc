/**
 * Byte-level tests of the classic pcap reader on hand-built files, one field per line.
 */
import { describe, expect, it } from 'vitest';
import { CaptureFormatError, type CaptureRecord, type CaptureSink } from '../../../agent/capture/capture-record.js';
import { PcapParser, PCAP_MAX_CAPLEN } from '../../../agent/capture/pcap-reader.js';
import { bytes, CollectingSink, parseBytes } from './capture-test-helpers.js';

// Little-endian, microsecond timestamps; two records.
const LE_USEC = bytes(
  [0xd4, 0xc3, 0xb2, 0xa1], // magic 0xa1b2c3d4 stored little-endian: usec timestamps
  [0x02, 0x00], // major version 2
  [0x04, 0x00], // minor version 4
  [0x00, 0x00, 0x00, 0x00], // reserved1 (old thiszone)
  [0x00, 0x00, 0x00, 0x00], // reserved2 (old sigfigs)
  [0xff, 0xff, 0x00, 0x00], // snaplen 65535
  [0x01, 0x00, 0x00, 0x24], // link type 1 (EN10MB) with P bit set and FCS len 2 in the top bits
  // record 1 @24
  [0x10, 0x32, 0x54, 0x76], // ts seconds 0x76543210 = 1985229328
  [0x3f, 0x42, 0x0f, 0x00], // ts microseconds 999999
  [0x04, 0x00, 0x00, 0x00], // captured length 4
  [0x3c, 0x00, 0x00, 0x00], // original length 60
  [0xde, 0xad, 0xbe, 0xef], // packet data
  // record 2 @44
  [0x11, 0x32, 0x54, 0x76], // ts seconds 1985229329
  [0x00, 0x00, 0x00, 0x00], // ts microseconds 0
  [0x03, 0x00, 0x00, 0x00], // captured length 3
  [0x03, 0x00, 0x00, 0x00], // original length 3
  [0x0a, 0x0b, 0x0c], // packet data (records are not padded)
);

// Big-endian, nanosecond timestamps; one record.
const BE_NSEC = bytes(
  [0xa1, 0xb2, 0x3c, 0x4d], // magic 0xa1b23c4d stored big-endian: nsec timestamps
  [0x00, 0x02], // major version 2
  [0x00, 0x04], // minor version 4
  [0x00, 0x00, 0x00, 0x00], // reserved1
  [0x00, 0x00, 0x00, 0x00], // reserved2
  [0x00, 0x04, 0x00, 0x00], // snaplen 262144
  [0x00, 0x00, 0x00, 0xe4], // link type 228 (IPV4)
  // record @24
  [0x65, 0x53, 0xf1, 0x00], // ts seconds 0x6553f100 = 1700000000
  [0x07, 0x5b, 0xcd, 0x15], // ts nanoseconds 123456789
  [0x00, 0x00, 0x00, 0x02], // captured length 2
  [0x00, 0x00, 0x05, 0xdc], // original length 1500
  [0x45, 0x00], // packet data
);

// Big-endian, microsecond timestamps; one record.
const BE_USEC = bytes(
  [0xa1, 0xb2, 0xc3, 0xd4], // magic 0xa1b2c3d4 stored big-endian: usec timestamps
  [0x00, 0x02], // major version 2
  [0x00, 0x04], // minor version 4
  [0x00, 0x00, 0x00, 0x00], // reserved1
  [0x00, 0x00, 0x00, 0x00], // reserved2
  [0x00, 0x00, 0x00, 0x60], // snaplen 96
  [0x00, 0x00, 0x00, 0x71], // link type 113 (LINUX_SLL)
  // record @24
  [0x00, 0x00, 0x00, 0x01], // ts seconds 1
  [0x00, 0x00, 0x00, 0x02], // ts microseconds 2
  [0x00, 0x00, 0x00, 0x01], // captured length 1
  [0x00, 0x00, 0x00, 0x01], // original length 1
  [0x99], // packet data
);

// Little-endian, nanosecond timestamps; one record whose fraction overflows a second (corrupt).
const LE_NSEC = bytes(
  [0x4d, 0x3c, 0xb2, 0xa1], // magic 0xa1b23c4d stored little-endian: nsec timestamps
  [0x02, 0x00], // major version 2
  [0x04, 0x00], // minor version 4
  [0x00, 0x00, 0x00, 0x00], // reserved1
  [0x00, 0x00, 0x00, 0x00], // reserved2
  [0x00, 0x00, 0x04, 0x00], // snaplen 262144
  [0x14, 0x01, 0x00, 0x00], // link type 276 (LINUX_SLL2)
  // record @24
  [0x0a, 0x00, 0x00, 0x00], // ts seconds 10
  [0x00, 0x65, 0xcd, 0x1d], // ts nanoseconds 0x1dcd6500 = 500000000
  [0x00, 0x00, 0x00, 0x00], // captured length 0
  [0x00, 0x00, 0x00, 0x00], // original length 0
  // record @40
  [0x0a, 0x00, 0x00, 0x00], // ts seconds 10
  [0x00, 0x5e, 0xd0, 0xb2], // ts nanoseconds 0xb2d05e00 = 3000000000: out of range
  [0x00, 0x00, 0x00, 0x00], // captured length 0
  [0x00, 0x00, 0x00, 0x00], // original length 0
);

function read(b: Uint8Array, chunks?: number[]) {
  return parseBytes('pcap', b, new CollectingSink(true), chunks);
}

describe('PcapParser: the four magics', () => {
  it('little-endian microseconds; the FCS bits are masked off the link type', () => {
    const r = read(LE_USEC);
    expect(r.error).toBeUndefined();
    expect(r.sink.interfaces).toEqual([
      { id: 0, linkType: 1, snapLen: 65535, name: undefined, description: undefined },
    ]);
    expect(r.sink.packets).toMatchObject([
      { interfaceId: 0, linkType: 1, tsSec: 1985229328, tsNsec: 999999000, caplen: 4, origlen: 60, streamOffset: 24 },
      { interfaceId: 0, linkType: 1, tsSec: 1985229329, tsNsec: 0, caplen: 3, origlen: 3, streamOffset: 44 },
    ]);
    expect(r.sink.payloads.map((p) => Array.from(p))).toEqual([
      [0xde, 0xad, 0xbe, 0xef],
      [0x0a, 0x0b, 0x0c],
    ]);
    expect(r.sink.warnings).toEqual([]);
    const parser = r.parser as PcapParser;
    expect(parser.packets).toBe(2);
    expect(parser.bytesConsumed).toBe(LE_USEC.length);
  });

  it('big-endian nanoseconds', () => {
    const r = read(BE_NSEC);
    expect(r.error).toBeUndefined();
    expect(r.sink.interfaces[0]).toMatchObject({ linkType: 228, snapLen: 262144 });
    expect(r.sink.packets).toMatchObject([{ linkType: 228, tsSec: 1700000000, tsNsec: 123456789, caplen: 2, origlen: 1500 }]);
    expect(Array.from(r.sink.payloads[0]!)).toEqual([0x45, 0x00]);
  });

  it('big-endian microseconds', () => {
    const r = read(BE_USEC);
    expect(r.sink.interfaces[0]).toMatchObject({ linkType: 113, snapLen: 96 });
    expect(r.sink.packets).toMatchObject([{ tsSec: 1, tsNsec: 2000, caplen: 1, origlen: 1 }]);
  });

  it('little-endian nanoseconds; an out-of-range fraction is folded into the seconds', () => {
    const r = read(LE_NSEC);
    expect(r.sink.interfaces[0]).toMatchObject({ linkType: 276 });
    expect(r.sink.packets).toMatchObject([
      { tsSec: 10, tsNsec: 500000000, caplen: 0 },
      { tsSec: 13, tsNsec: 0, caplen: 0 },
    ]);
  });
});

describe('PcapParser: chunking', () => {
  it('hands out records inside a chunk as views into that chunk, without copying', () => {
    const seen: Array<{ same: boolean; offset: number }> = [];
    const sink: CaptureSink = {
      onInterface: () => {},
      onPacket: (r: CaptureRecord) => seen.push({ same: r.data === LE_USEC, offset: r.offset }),
      onWarning: () => {},
    };
    const p = new PcapParser(sink);
    p.push(LE_USEC);
    p.end();
    expect(seen).toEqual([
      { same: true, offset: 40 },
      { same: true, offset: 60 },
    ]);
  });

  it('reads the same whatever the split point of two chunks', () => {
    const whole = read(LE_USEC).sink;
    for (let cut = 0; cut <= LE_USEC.length; cut++) {
      const r = read(LE_USEC, [cut === 0 ? LE_USEC.length : cut, LE_USEC.length]);
      expect(r.error).toBeUndefined();
      expect(r.sink.packets).toEqual(whole.packets);
      expect(r.sink.payloads).toEqual(whole.payloads);
    }
  });

  it('reads the same one byte at a time', () => {
    for (const f of [LE_USEC, BE_NSEC, BE_USEC, LE_NSEC]) {
      expect(read(f, [1]).sink).toEqual(read(f).sink);
    }
  });
});

describe('PcapParser: format versions, as libpcap reads them', () => {
  function withVersion(major: number, minor: number, b: Uint8Array = LE_USEC): Uint8Array {
    const copy = b.slice();
    copy.set([major & 0xff, major >> 8, minor & 0xff, minor >> 8], 4);
    return copy;
  }

  it('refuses major version 1 as archaic and anything past 2.4 as unsupported (tcpdump refuses both)', () => {
    expect(read(withVersion(1, 0)).error?.message).toBe('archaic pcap format version 1.0 (libpcap reads 2.0 to 2.4) at byte offset 4');
    for (const [major, minor] of [[2, 5], [3, 0]] as const) {
      const r = read(withVersion(major, minor));
      expect(r.error?.message).toBe(`unsupported pcap version ${major}.${minor} (libpcap reads 2.0 to 2.4) at byte offset 4`);
      expect(r.sink.packets).toEqual([]);
    }
  });

  it('reads 2.0 to 2.2 with the wire length first, and 2.3 whichever way round makes the captured length the smaller', () => {
    // Record 1 of LE_USEC holds 4 captured bytes of a 60-byte packet; write it the old way round.
    const oldOrder = LE_USEC.slice();
    oldOrder.set([0x3c, 0, 0, 0, 0x04, 0, 0, 0], 24 + 8);
    for (const minor of [0, 1, 2, 3]) {
      const r = read(withVersion(2, minor, oldOrder));
      expect(r.error, `2.${minor}`).toBeUndefined();
      expect(r.sink.packets.map((p) => [p.caplen, p.origlen])).toEqual([[4, 60], [3, 3]]);
    }
    // 2.4 is read as written: the same bytes then claim 60 captured bytes, more than the file holds.
    expect(read(withVersion(2, 4, oldOrder)).sink.packets).toHaveLength(0);
  });
});

describe('PcapParser: truncation and bad input', () => {
  it('warns about a truncated final record and still delivers the packets before it', () => {
    const r = read(LE_USEC.subarray(0, LE_USEC.length - 2));
    expect(r.error).toBeUndefined();
    expect(r.sink.packets).toHaveLength(1);
    expect(r.sink.warnings).toEqual(['truncated final record at byte offset 44: 17 of 19 bytes']);
  });

  it('warns about a final record cut inside its header', () => {
    const r = read(LE_USEC.subarray(0, 44 + 5), [7]);
    expect(r.sink.packets).toHaveLength(1);
    expect(r.sink.warnings).toEqual(['truncated final record at byte offset 44: 5 of 16 bytes']);
  });

  it('accepts a header-only file (no packets)', () => {
    const r = read(LE_USEC.subarray(0, 24));
    expect(r.error).toBeUndefined();
    expect(r.sink.interfaces).toHaveLength(1);
    expect(r.sink.packets).toEqual([]);
  });

  it('rejects an absurd captured length, naming the record offset', () => {
    const b = LE_USEC.slice();
    b.set([0x00, 0x00, 0x00, 0x7f], 44 + 8); // record 2 captured length 0x7f000000
    const r = read(b);
    expect(r.error).toBeInstanceOf(CaptureFormatError);
    expect(r.error!.byteOffset).toBe(44);
    expect(r.error!.message).toBe(
      `absurd captured length 2130706432 (more than ${PCAP_MAX_CAPLEN}) in packet record at byte offset 44`,
    );
    // The record before the bad one was delivered.
    expect(r.sink.packets).toHaveLength(1);
  });

  it('accepts a captured length right at the bound (the record is then merely truncated)', () => {
    const b = LE_USEC.slice();
    b.set([0x00, 0x00, 0x00, 0x01], 44 + 8); // captured length 0x01000000 = 16 MiB
    const r = read(b);
    expect(r.error).toBeUndefined();
    expect(r.sink.warnings).toEqual([`truncated final record at byte offset 44: 19 of ${16 + PCAP_MAX_CAPLEN} bytes`]);
  });

  it('rejects a wrong magic as soon as four bytes are there', () => {
    const p = new PcapParser(new CollectingSink());
    expect(() => p.push(new Uint8Array([0x0a, 0x0d, 0x0d, 0x0a]))).toThrowError(
      new CaptureFormatError('not a pcap file (magic 0x0a0d0d0a)', 0),
    );
    // A failed parser keeps failing the same way.
    expect(() => p.push(new Uint8Array(1))).toThrow('not a pcap file');
    expect(() => p.end()).toThrow('not a pcap file');
  });

  it('rejects a file shorter than the 24-byte header, and an empty one', () => {
    expect(read(LE_USEC.subarray(0, 23)).error?.message).toBe(
      'file shorter than the 24-byte pcap header (23 bytes) at byte offset 0',
    );
    expect(read(new Uint8Array(0)).error?.message).toBe(
      'file shorter than the 24-byte pcap header (0 bytes) at byte offset 0',
    );
  });

  it('treats end() as idempotent and push() after end() as a programming error', () => {
    const p = new PcapParser(new CollectingSink());
    p.push(LE_USEC);
    p.end();
    p.end();
    expect(() => p.push(LE_USEC)).toThrow('after end()');
  });
});
