/**
 * Byte-level tests of the pcapng reader on hand-built captures, one field per line.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureFormatError, Direction } from '../../../agent/capture/capture-record.js';
import { PcapngParser } from '../../../agent/capture/pcapng-reader.js';
import { ascii, bytes, CollectingSink, parseBytes } from './capture-test-helpers.js';

// ---- Section 1: little-endian ----

const SHB_LE = [
  [0x0a, 0x0d, 0x0d, 0x0a], // block type: Section Header Block
  [0x1c, 0x00, 0x00, 0x00], // block total length 28
  [0x4d, 0x3c, 0x2b, 0x1a], // byte-order magic 0x1a2b3c4d read little-endian: LE section
  [0x01, 0x00], // major version 1
  [0x00, 0x00], // minor version 0
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // section length -1 (not given)
  [0x1c, 0x00, 0x00, 0x00], // block total length 28
];

// @28: interface 0
const IDB_ETH0 = [
  [0x01, 0x00, 0x00, 0x00], // block type: Interface Description Block
  [0x28, 0x00, 0x00, 0x00], // block total length 40
  [0x01, 0x00], // link type 1 (EN10MB)
  [0x00, 0x00], // reserved
  [0x00, 0x00, 0x04, 0x00], // snaplen 262144
  [0x02, 0x00, 0x04, 0x00], // option if_name, length 4
  ascii('eth0'), // "eth0"
  [0x09, 0x00, 0x01, 0x00], // option if_tsresol, length 1
  [0x09, 0x00, 0x00, 0x00], // 9: 10^-9 s units (nanoseconds), 3 bytes padding
  [0x00, 0x00, 0x00, 0x00], // opt_endofopt
  [0x28, 0x00, 0x00, 0x00], // block total length 40
];

// @68: interface 1
const IDB_UPLINK = [
  [0x01, 0x00, 0x00, 0x00], // block type: IDB
  [0x38, 0x00, 0x00, 0x00], // block total length 56
  [0x65, 0x00], // link type 101 (RAW)
  [0x00, 0x00], // reserved
  [0x00, 0x00, 0x00, 0x00], // snaplen 0: no limit
  [0x03, 0x00, 0x06, 0x00], // option if_description, length 6
  [...ascii('uplink'), 0x00, 0x00], // "uplink", 2 bytes padding
  [0x09, 0x00, 0x01, 0x00], // option if_tsresol, length 1
  [0x94, 0x00, 0x00, 0x00], // 0x80|20: 2^-20 s units, 3 bytes padding
  [0x0e, 0x00, 0x08, 0x00], // option if_tsoffset, length 8
  [0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // +100 s
  [0x00, 0x00, 0x00, 0x00], // opt_endofopt
  [0x38, 0x00, 0x00, 0x00], // block total length 56
];

// @124: inbound packet on interface 0
const EPB_IN = [
  [0x06, 0x00, 0x00, 0x00], // block type: Enhanced Packet Block
  [0x34, 0x00, 0x00, 0x00], // block total length 52
  [0x00, 0x00, 0x00, 0x00], // interface id 0
  [0xfe, 0x9c, 0x97, 0x17], // timestamp high 0x17979cfe
  [0x15, 0xcd, 0x85, 0x3d], // timestamp low 0x3d85cd15: 1700000000123456789 ns
  [0x05, 0x00, 0x00, 0x00], // captured length 5
  [0x3c, 0x00, 0x00, 0x00], // original length 60
  [0x01, 0x02, 0x03, 0x04, 0x05], // packet data
  [0x00, 0x00, 0x00], // padding to 32 bits
  [0x02, 0x00, 0x04, 0x00], // option epb_flags, length 4
  [0x01, 0x00, 0x00, 0x00], // direction bits 01: inbound
  [0x00, 0x00, 0x00, 0x00], // opt_endofopt
  [0x34, 0x00, 0x00, 0x00], // block total length 52
];

// @176: outbound packet on interface 0; the options simply end at the block end (no endofopt)
const EPB_OUT = [
  [0x06, 0x00, 0x00, 0x00], // block type: EPB
  [0x2c, 0x00, 0x00, 0x00], // block total length 44
  [0x00, 0x00, 0x00, 0x00], // interface id 0
  [0xfe, 0x9c, 0x97, 0x17], // timestamp high
  [0xff, 0xc9, 0xc4, 0x71], // timestamp low: 1700000000999999999 ns
  [0x04, 0x00, 0x00, 0x00], // captured length 4
  [0x04, 0x00, 0x00, 0x00], // original length 4
  [0xaa, 0xbb, 0xcc, 0xdd], // packet data
  [0x02, 0x00, 0x04, 0x00], // option epb_flags, length 4
  [0x06, 0x00, 0x00, 0x00], // direction bits 10 (outbound) + reception type 001 (unicast) in bits 2-4
  [0x2c, 0x00, 0x00, 0x00], // block total length 44
];

// @220: packet on interface 1 (2^-20 s units, +100 s offset), no data, no options
const EPB_UPLINK = [
  [0x06, 0x00, 0x00, 0x00], // block type: EPB
  [0x20, 0x00, 0x00, 0x00], // block total length 32
  [0x01, 0x00, 0x00, 0x00], // interface id 1
  [0x00, 0x00, 0x00, 0x00], // timestamp high 0
  [0x01, 0x00, 0x88, 0x3e], // timestamp low 0x3e880001 = 1000 * 2^20 + 2^19 + 1 units
  [0x00, 0x00, 0x00, 0x00], // captured length 0
  [0x00, 0x00, 0x00, 0x00], // original length 0
  [0x20, 0x00, 0x00, 0x00], // block total length 32
];

// @252: a block type this reader does not know; must be skipped
const UNKNOWN_BLOCK = [
  [0x78, 0x56, 0x34, 0x12], // block type 0x12345678
  [0x10, 0x00, 0x00, 0x00], // block total length 16
  [0xde, 0xad, 0xbe, 0xef], // body
  [0x10, 0x00, 0x00, 0x00], // block total length 16
];

// @268: Simple Packet Block: interface 0, no timestamp, captured length from the block room
const SPB = [
  [0x03, 0x00, 0x00, 0x00], // block type: Simple Packet Block
  [0x18, 0x00, 0x00, 0x00], // block total length 24
  [0x64, 0x00, 0x00, 0x00], // original length 100
  [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08], // packet data: the 8 bytes that fit
  [0x18, 0x00, 0x00, 0x00], // block total length 24
];

// @292: obsolete Packet Block on interface 1
const OPB = [
  [0x02, 0x00, 0x00, 0x00], // block type: Packet Block (obsolete)
  [0x2c, 0x00, 0x00, 0x00], // block total length 44
  [0x01, 0x00], // interface id 1 (16 bits)
  [0x07, 0x00], // drops count 7 (16 bits)
  [0x00, 0x00, 0x00, 0x00], // timestamp high 0
  [0x00, 0x00, 0x50, 0x00], // timestamp low 0x500000 = 5 * 2^20 units: 5 s
  [0x03, 0x00, 0x00, 0x00], // captured length 3
  [0x03, 0x00, 0x00, 0x00], // original length 3
  [0x11, 0x22, 0x33], // packet data
  [0x00], // padding
  [0x02, 0x00, 0x04, 0x00], // option pack_flags, length 4
  [0x01, 0x00, 0x00, 0x00], // direction bits 01: inbound
  [0x2c, 0x00, 0x00, 0x00], // block total length 44
];

// ---- Section 2: big-endian ----

// @336
const SHB_BE = [
  [0x0a, 0x0d, 0x0d, 0x0a], // block type: SHB (same bytes in either order)
  [0x00, 0x00, 0x00, 0x1c], // block total length 28
  [0x1a, 0x2b, 0x3c, 0x4d], // byte-order magic: BE section
  [0x00, 0x01], // major version 1
  [0x00, 0x00], // minor version 0
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // section length -1
  [0x00, 0x00, 0x00, 0x1c], // block total length 28
];

// @364: the section's interface 0 = reader-wide interface 2
const IDB_SLL_BE = [
  [0x00, 0x00, 0x00, 0x01], // block type: IDB
  [0x00, 0x00, 0x00, 0x14], // block total length 20
  [0x00, 0x71], // link type 113 (LINUX_SLL)
  [0x00, 0x00], // reserved
  [0x00, 0x00, 0xff, 0xff], // snaplen 65535
  [0x00, 0x00, 0x00, 0x14], // block total length 20
];

// @384
const EPB_BE = [
  [0x00, 0x00, 0x00, 0x06], // block type: EPB
  [0x00, 0x00, 0x00, 0x24], // block total length 36
  [0x00, 0x00, 0x00, 0x00], // interface id 0 (of this section)
  [0x00, 0x04, 0x62, 0xd5], // timestamp high 0x462d5
  [0x3c, 0x92, 0xd4, 0x71], // timestamp low 0x3c92d471: 1234567890654321 us (default resolution)
  [0x00, 0x00, 0x00, 0x02], // captured length 2
  [0x00, 0x00, 0x00, 0x02], // original length 2
  [0xca, 0xfe, 0x00, 0x00], // packet data, 2 bytes padding
  [0x00, 0x00, 0x00, 0x24], // block total length 36
];

const CAPTURE = bytes(
  ...SHB_LE,
  ...IDB_ETH0,
  ...IDB_UPLINK,
  ...EPB_IN,
  ...EPB_OUT,
  ...EPB_UPLINK,
  ...UNKNOWN_BLOCK,
  ...SPB,
  ...OPB,
  ...SHB_BE,
  ...IDB_SLL_BE,
  ...EPB_BE,
);

function read(b: Uint8Array, chunks?: number[]) {
  return parseBytes('pcapng', b, new CollectingSink(true), chunks);
}

/** A copy of a block with the 4 bytes at offset replaced. */
function patched(block: number[][], offset: number, value: number[]): number[] {
  const flat = block.flat();
  flat.splice(offset, value.length, ...value);
  return flat;
}

describe('PcapngParser: a two-section capture', () => {
  const r = read(CAPTURE);

  it('reads without error or warning', () => {
    expect(CAPTURE.length).toBe(420);
    expect(r.error).toBeUndefined();
    expect(r.sink.warnings).toEqual([]);
    expect(r.parser.packets).toBe(6);
    expect((r.parser as PcapngParser).bytesConsumed).toBe(420);
  });

  it('reports interfaces with names, descriptions and reader-wide ids', () => {
    expect(r.sink.interfaces).toEqual([
      { id: 0, linkType: 1, snapLen: 262144, name: 'eth0', description: undefined },
      { id: 1, linkType: 101, snapLen: 0, name: undefined, description: 'uplink' },
      { id: 2, linkType: 113, snapLen: 65535, name: undefined, description: undefined },
    ]);
  });

  it('decodes every packet block type, timestamps, and directions', () => {
    expect(r.sink.packets).toMatchObject([
      // EPB, if_tsresol 9, epb_flags inbound
      { interfaceId: 0, linkType: 1, tsSec: 1700000000, tsNsec: 123456789, caplen: 5, origlen: 60, direction: Direction.In, streamOffset: 124 },
      // EPB, epb_flags outbound with other flag bits set
      { interfaceId: 0, linkType: 1, tsSec: 1700000000, tsNsec: 999999999, caplen: 4, origlen: 4, direction: Direction.Out, streamOffset: 176 },
      // EPB, if_tsresol 2^-20 and if_tsoffset 100: 1000.5 s + one unit (953.67 ns, rounded down) + 100 s
      { interfaceId: 1, linkType: 101, tsSec: 1100, tsNsec: 500000953, caplen: 0, origlen: 0, direction: Direction.Unknown, streamOffset: 220 },
      // SPB (after the skipped unknown block): interface 0, no timestamp, caplen = room in the block
      { interfaceId: 0, linkType: 1, tsSec: 0, tsNsec: 0, caplen: 8, origlen: 100, direction: Direction.Unknown, streamOffset: 268 },
      // obsolete PB, pack_flags inbound
      { interfaceId: 1, linkType: 101, tsSec: 105, tsNsec: 0, caplen: 3, origlen: 3, direction: Direction.In, streamOffset: 292 },
      // big-endian section: its interface 0 is reader-wide 2; default resolution is microseconds
      { interfaceId: 2, linkType: 113, tsSec: 1234567890, tsNsec: 654321000, caplen: 2, origlen: 2, direction: Direction.Unknown, streamOffset: 384 },
    ]);
    expect(r.sink.payloads.map((p) => Array.from(p))).toEqual([
      [1, 2, 3, 4, 5],
      [0xaa, 0xbb, 0xcc, 0xdd],
      [],
      [1, 2, 3, 4, 5, 6, 7, 8],
      [0x11, 0x22, 0x33],
      [0xca, 0xfe],
    ]);
  });

  it('reads the same one byte at a time and at every two-chunk split', () => {
    expect(read(CAPTURE, [1]).sink).toEqual(r.sink);
    for (let cut = 1; cut < CAPTURE.length; cut++) {
      expect(read(CAPTURE, [cut, CAPTURE.length]).sink).toEqual(r.sink);
    }
  });

  it('limits an SPB to the snaplen of the section interface 0', () => {
    const snap4 = patched(IDB_ETH0, 12, [0x04, 0x00, 0x00, 0x00]); // snaplen 4
    const s = read(bytes(...SHB_LE, snap4, ...SPB));
    expect(s.sink.packets).toMatchObject([{ caplen: 4, origlen: 100 }]);
    // and to the original length when that is smaller than the room
    const orig3 = patched(SPB, 8, [0x03, 0x00, 0x00, 0x00]);
    expect(read(bytes(...SHB_LE, ...IDB_ETH0, orig3)).sink.packets).toMatchObject([{ caplen: 3, origlen: 3 }]);
  });
});

describe('PcapngParser: structural errors', () => {
  const head = [...SHB_LE, ...IDB_ETH0];

  function errorOf(...rows: ReadonlyArray<readonly number[]>): CaptureFormatError | undefined {
    return read(bytes(...rows)).error;
  }

  it('rejects input that does not start with a Section Header Block', () => {
    expect(errorOf(...IDB_ETH0)?.message).toBe('not a pcapng file (no Section Header Block) at byte offset 0');
  });

  it('rejects an SHB major version other than 1, naming the version field', () => {
    const v2 = patched(SHB_LE, 12, [0x02, 0x00]);
    expect(errorOf(v2)?.message).toBe('unsupported pcapng version 2.0 (libpcap reads 1.0 and 1.2) at byte offset 12');
  });

  it('reads the versions libpcap reads (1.0 and 1.2) and refuses 1.1 and 1.3 as it does (tcpdump: "unsupported pcapng savefile version 1.1")', () => {
    const version = (minor: number) => [...patched(SHB_LE, 14, [minor, 0x00]), ...IDB_ETH0.flat(), ...SPB.flat()];
    for (const minor of [0, 2]) {
      const r = read(bytes(version(minor)));
      expect(r.error, `1.${minor}`).toBeUndefined();
      expect(r.sink.packets).toHaveLength(1);
    }
    for (const minor of [1, 3]) {
      expect(read(bytes(version(minor))).error?.message).toBe(`unsupported pcapng version 1.${minor} (libpcap reads 1.0 and 1.2) at byte offset 12`);
    }
  });

  it('rejects a bad byte-order magic', () => {
    const bad = patched(SHB_LE, 8, [0x01, 0x02, 0x03, 0x04]);
    expect(errorOf(bad)?.message).toBe('bad byte-order magic 0x04030201 in Section Header Block at byte offset 8');
  });

  it('rejects block lengths that are not a multiple of 4, below 12, or absurd', () => {
    expect(errorOf(...head, patched(EPB_IN, 4, [0x33, 0x00, 0x00, 0x00]))).toMatchObject({
      reason: 'invalid block total length 51 (block type 0x6)',
      byteOffset: 68,
    });
    expect(errorOf(...head, patched(EPB_IN, 4, [0x08, 0x00, 0x00, 0x00]))?.reason).toBe(
      'invalid block total length 8 (block type 0x6)',
    );
    expect(errorOf(...head, patched(EPB_IN, 4, [0x00, 0x00, 0x00, 0x40]))?.reason).toBe(
      'invalid block total length 1073741824 (block type 0x6)',
    );
    // An SHB shorter than its fixed fields.
    expect(errorOf(patched(SHB_LE, 4, [0x18, 0x00, 0x00, 0x00]))?.reason).toMatch(/^invalid block total length 24/);
  });

  it('rejects a trailing length that does not match', () => {
    const bad = patched(EPB_IN, 48, [0x30, 0x00, 0x00, 0x00]);
    expect(errorOf(...head, bad)).toMatchObject({
      reason: 'trailing block length 48 does not match leading length 52',
      byteOffset: 68 + 48,
    });
  });

  it('rejects a packet on an interface its section has not described', () => {
    const bad = patched(EPB_IN, 8, [0x01, 0x00, 0x00, 0x00]); // interface 1; only 0 exists
    expect(errorOf(...head, bad)).toMatchObject({
      reason: 'packet block refers to unknown interface 1 of its section',
      byteOffset: 68 + 8,
    });
    // Interfaces of an earlier section do not count.
    expect(errorOf(...head, ...SHB_LE, ...EPB_IN)?.reason).toBe('packet block refers to unknown interface 0 of its section');
    expect(errorOf(...SHB_LE, ...SPB)?.reason).toBe('Simple Packet Block before any Interface Description Block in its section');
  });

  it('rejects a captured length or an option running past the block end', () => {
    const caplen = patched(EPB_IN, 20, [0x40, 0x00, 0x00, 0x00]); // 64 bytes in a 52-byte block
    expect(errorOf(...head, caplen)?.reason).toBe('captured length 64 runs past the end of a 52-byte block');
    const opt = patched(EPB_IN, 38, [0x40, 0x00]); // epb_flags claims 64 bytes
    expect(errorOf(...head, opt)?.reason).toBe('option 2 runs past the end of its block');
  });

  it('keeps failing with the same error once failed', () => {
    const p = new PcapngParser(new CollectingSink());
    expect(() => p.push(bytes(...IDB_ETH0))).toThrow(CaptureFormatError);
    expect(() => p.push(bytes(...SHB_LE))).toThrow('not a pcapng file');
    expect(() => p.end()).toThrow('not a pcapng file');
  });
});

describe('PcapngParser: truncation', () => {
  it('warns about a truncated final block and delivers the packets before it', () => {
    const r = read(CAPTURE.subarray(0, CAPTURE.length - 3), [50]);
    expect(r.error).toBeUndefined();
    expect(r.sink.packets).toHaveLength(5);
    expect(r.sink.warnings).toEqual(['truncated final block at byte offset 384: 33 of 36 bytes']);
  });

  it('warns about a final block cut inside its first 12 bytes', () => {
    const r = read(bytes(...SHB_LE, ...IDB_ETH0, EPB_IN.flat().slice(0, 5)));
    expect(r.sink.warnings).toEqual(['truncated final block at byte offset 68: 5 of 12 bytes']);
  });

  it('rejects input without one complete SHB', () => {
    expect(read(new Uint8Array(0)).error?.message).toBe(
      'no complete Section Header Block (0 bytes of input) at byte offset 0',
    );
    expect(read(bytes(SHB_LE.flat().slice(0, 20))).error?.reason).toBe(
      'no complete Section Header Block (20 bytes of input)',
    );
  });
});

/** SHB + IDB (given if_tsresol byte, optional if_tsoffset) + one EPB with the given timestamp. */
function timestampCapture(tsresol: number, high: number, low: number, offset = 0): Uint8Array {
  const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  const off = BigInt.asUintN(64, BigInt(offset));
  const idb = [
    ...le32(1), ...le32(40), 1, 0, 0, 0, ...le32(0),
    9, 0, 1, 0, tsresol, 0, 0, 0, // if_tsresol
    14, 0, 8, 0, ...le32(Number(off & 0xffffffffn)), ...le32(Number(off >> 32n)), // if_tsoffset
    ...le32(40),
  ];
  const epb = [...le32(6), ...le32(32), ...le32(0), ...le32(high), ...le32(low), ...le32(0), ...le32(0), ...le32(32)];
  return bytes(...SHB_LE, idb, epb);
}

/** Exact expectation with BigInt (allowed in tests, not on the reader's hot path). */
function exact(tsresol: number, high: number, low: number, offset: number): [number, number] {
  const ts = (BigInt(high) << 32n) | BigInt(low);
  const units = tsresol & 0x80 ? 1n << BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
  const sec = ts / units;
  const nsec = ((ts % units) * 1_000_000_000n) / units;
  return [Number(sec) + offset, Number(nsec)];
}

describe('PcapngParser: timestamp arithmetic without BigInt', () => {
  const decimal = fc.integer({ min: 0, max: 9 });
  const binary = fc.integer({ min: 0, max: 36 }).map((k) => 0x80 | k);
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  // High words below 2^21 take the single-double path; uniform u32s would almost never pick them.
  const high = fc.oneof(u32, fc.integer({ min: 0, max: 0x1fffff }));

  it('matches exact arithmetic for 10^-0..10^-9 and 2^-0..2^-36 units, over the whole 64-bit range', () => {
    fc.assert(
      fc.property(fc.oneof(decimal, binary), high, u32, fc.integer({ min: -1e9, max: 1e9 }), (res, hi, lo, offset) => {
        const r = read(timestampCapture(res, hi, lo, offset));
        expect(r.error).toBeUndefined();
        const p = r.sink.packets[0]!;
        const [sec, nsec] = exact(res, hi, lo, offset);
        // Seconds beyond 2^53 cannot be exact in a number; compare those approximately.
        if (Math.abs(sec) < 2 ** 53) expect(p.tsSec).toBe(sec);
        else expect(p.tsSec / sec).toBeCloseTo(1, 12);
        // 2^-k fractions are exact in doubles until rem * 1e9 outgrows 2^53 (k > 23); allow 1 ns there.
        if (res & 0x80 && (res & 0x7f) > 23) expect(Math.abs(p.tsNsec - nsec)).toBeLessThanOrEqual(1);
        else expect(p.tsNsec).toBe(nsec);
      }),
      { numRuns: 1000 },
    );
  });

  it('is exact at the edges: one unit below a whole second, and the largest count', () => {
    for (const [res, hi, lo] of [
      [9, 0x17979cfe, 0x3d85cd15], // 1700000000.123456789 in ns: needs the 16-bit long division
      [9, 0xffffffff, 0xffffffff], // 2^64 - 1 ns
      [6, 0x001fffff, 0xffffffff], // 2^53 - 1 us: the largest single-double count
      [6, 0x00200000, 0x00000000], // 2^53 us: the first long-division count
      [0x80 | 20, 0xffffffff, 0xffffffff],
      [3, 0, 999], // 999 ms
      [0, 0, 1700000000], // whole seconds
    ] as const) {
      const p = read(timestampCapture(res, hi, lo)).sink.packets[0]!;
      expect([p.tsSec, p.tsNsec]).toEqual(exact(res, hi, lo, 0));
    }
  });

  it('rounds finer-than-2^-36 resolutions sensibly (picoseconds)', () => {
    // 1700000000.123456789012 s in ps: 1700000000123456789012 does not fit 64 bits; use 1.5 s.
    const ps = 1_500_000_000_000;
    const p = read(timestampCapture(12, Math.floor(ps / 2 ** 32), ps % 2 ** 32)).sink.packets[0]!;
    expect([p.tsSec, p.tsNsec]).toEqual([1, 500000000]);
  });
});
