/**
 * Every capture in test/fixtures/pcap read whole: packet counts against the README's "Pkts" column
 * and, when tcpdump is installed, against libpcap itself (count and per-packet timestamps). The six
 * gopacket pcapng structure tests that libpcap rejects are checked against values read off the
 * file bytes by hand (offsets in the comments are from `xxd`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Direction } from '../../../agent/capture/capture-record.js';
import {
  CollectingSink,
  FIXTURE_ROOT,
  fixtureFormat,
  listFixtures,
  parseBytes,
  readFixture,
  readmePacketCounts,
} from './capture-test-helpers.js';

const fixtures = listFixtures();
const readme = readmePacketCounts();

/** pcapng files libpcap 1.10.3 refuses (mixed snaplens/link types across IDBs, SHB version 2). */
const LIBPCAP_REJECTS = new Set([
  'gopacket/be-test005.pcapng',
  'gopacket/le-test005.pcapng',
  'gopacket/le-test006.pcapng',
  'gopacket/le-test100.pcapng',
  'gopacket/le-test202.pcapng',
  'gopacket/le-test901.pcapng',
]);
const libpcapReadable = fixtures.filter((f) => !LIBPCAP_REJECTS.has(f));

function read(rel: string) {
  const b = readFixture(rel);
  return { bytes: b, ...parseBytes(fixtureFormat(b), b, new CollectingSink()) };
}

describe('fixture set', () => {
  it('holds the 90 captures the README lists, and nothing else', () => {
    expect(fixtures).toHaveLength(90);
    expect([...readme.keys()].sort()).toEqual(fixtures);
  });
});

describe('fixtures libpcap reads', () => {
  it.each(libpcapReadable)('%s: packet count equals the README, no warning, no error', (rel) => {
    const r = read(rel);
    expect(r.error).toBeUndefined();
    expect(r.sink.warnings).toEqual([]);
    expect(r.sink.packets).toHaveLength(readme.get(rel)!);
    expect(r.parser.packets).toBe(readme.get(rel));
    for (const p of r.sink.packets) {
      expect(p.caplen).toBeLessThanOrEqual(r.bytes.length);
      expect(p.tsNsec).toBeGreaterThanOrEqual(0);
      expect(p.tsNsec).toBeLessThan(1e9);
      expect(p.direction).toBe(Direction.Unknown);
    }
  });
});

/** tcpdump on PATH (or in the sbin directories, where distributions often put it). */
function findTcpdump(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const d of dirs) {
    if (d === '') continue;
    const p = join(d, 'tcpdump');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

const tcpdump = findTcpdump();

/** Skips when tcpdump is absent, except in CI, where a missing tcpdump must fail the run. */
function requireTcpdump(skip: (note: string) => never): string {
  if (tcpdump !== undefined) return tcpdump;
  if (process.env.CI === 'true') throw new Error('tcpdump is required in CI (CI=true) but was not found on PATH');
  skip('tcpdump not installed: libpcap cross-check skipped');
}

describe('cross-check with libpcap (tcpdump)', () => {
  it.for(libpcapReadable)('%s: same packet count and timestamps as tcpdump', (rel, { skip }) => {
    const bin = requireTcpdump(skip);
    const file = join(FIXTURE_ROOT, rel);
    // `tcpdump -r F | wc -l` counts lines, and several printers emit more than one line per packet;
    // --count asks libpcap for the packet count itself.
    const counted = execFileSync(bin, ['--count', '-r', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /^(\d+) packets?/m.exec(counted);
    expect(m, `tcpdump --count output: ${counted}`).not.toBeNull();
    const r = read(rel);
    expect(r.sink.packets.length).toBe(Number(m![1]));

    // With -# every packet's first line starts with its number and, with -tt --nano, the epoch time.
    const printed = spawnSync(bin, ['-#', '-n', '-tt', '--nano', '-r', file], { encoding: 'utf8' });
    expect(printed.status).toBe(0);
    const stamps: string[] = [];
    for (const line of printed.stdout.split('\n')) {
      const t = /^\s*\d+\s+(\d+\.\d{9})\s/.exec(line);
      if (t !== null) stamps.push(t[1]!);
    }
    expect(r.sink.packets.map((p) => `${p.tsSec}.${String(p.tsNsec).padStart(9, '0')}`)).toEqual(stamps);
  });
});

/** [interfaceId, linkType, tsSec, tsNsec, caplen, origlen, streamOffset] */
type Expected = [number, number, number, number, number, number, number];
/** [id, linkType, snapLen, name] */
type ExpectedIface = [number, number, number, string | undefined];

function summary(rel: string) {
  const r = read(rel);
  return {
    error: r.error?.message,
    warnings: r.sink.warnings,
    interfaces: r.sink.interfaces.map((i): ExpectedIface => [i.id, i.linkType, i.snapLen, i.name]),
    packets: r.sink.packets.map((p): Expected => [
      p.interfaceId,
      p.linkType,
      p.tsSec,
      p.tsNsec,
      p.caplen,
      p.origlen,
      p.streamOffset,
    ]),
    directions: r.sink.packets.map((p) => p.direction),
  };
}

// All gopacket test packets are stamped 0x0004c397_64ca47aa + k*1000 microseconds (no if_tsresol:
// the default 10^-6), i.e. 1340954905.298858 s + k ms.
const T = 1340954905;

describe('gopacket pcapng structure tests (libpcap rejects them)', () => {
  it('le-test005: two IDBs with different snaplens, the second after the first EPB', () => {
    expect(summary('gopacket/le-test005.pcapng')).toEqual({
      error: undefined,
      warnings: [],
      // IDB @0x60: linktype 1, snaplen 0x60, if_name "eth0"; IDB @0x100: snaplen 0x80, "en1".
      interfaces: [
        [0, 1, 96, 'eth0'],
        [1, 1, 128, 'en1'],
      ],
      // EPBs @0x80, @0x120, @0x1c0, @0x240: interface ids 0,1,0,1; caplen = the IDB's snaplen.
      packets: [
        [0, 1, T, 298858000, 96, 314, 0x80],
        [1, 1, T, 299858000, 128, 342, 0x120],
        [0, 1, T, 300858000, 96, 314, 0x1c0],
        [1, 1, T, 301858000, 128, 342, 0x240],
      ],
      directions: [0, 0, 0, 0],
    });
  });

  it('be-test005: the same blocks in a big-endian section read the same', () => {
    expect(summary('gopacket/be-test005.pcapng')).toEqual(summary('gopacket/le-test005.pcapng'));
    // The BOM really is swapped in this file: 1a 2b 3c 4d at offset 8.
    expect(Array.from(readFixture('gopacket/be-test005.pcapng').subarray(8, 12))).toEqual([0x1a, 0x2b, 0x3c, 0x4d]);
  });

  it('le-test006: an Ethernet and a NULL/loopback interface', () => {
    expect(summary('gopacket/le-test006.pcapng')).toEqual({
      error: undefined,
      warnings: [],
      // IDB @0x60: linktype 1, snaplen 96, "eth0"; IDB @0x80: linktype 0 (NULL), snaplen 0 (no limit), "en1".
      interfaces: [
        [0, 1, 96, 'eth0'],
        [1, 0, 0, 'en1'],
      ],
      packets: [
        [0, 1, T, 298858000, 96, 314, 0xa0],
        // EPB @0x120 on the loopback interface: 168 bytes, not cut.
        [1, 0, T, 299858000, 168, 168, 0x120],
        [0, 1, T, 300858000, 96, 342, 0x1e8],
        [0, 1, T, 301858000, 96, 314, 0x268],
        [0, 1, T, 302858000, 96, 342, 0x2e8],
      ],
      directions: [0, 0, 0, 0, 0],
    });
  });

  it('le-test100: three IDBs interleaved with NRBs, SPBs and EPBs', () => {
    expect(summary('gopacket/le-test100.pcapng')).toEqual({
      error: undefined,
      warnings: [],
      // IDB @0x5c eth0 (snaplen 0); IDB @0x2bc null1 (linktype 0); IDB @0x468 "wifi2?" (snaplen 128).
      interfaces: [
        [0, 1, 0, 'eth0'],
        [1, 0, 0, 'null1'],
        [2, 1, 128, 'wifi2?'],
      ],
      packets: [
        // SPB @0x148: original length 314, block room 316, interface 0 has no snaplen: caplen 314, no timestamp.
        [0, 1, 0, 0, 314, 314, 0x148],
        [0, 1, T, 298858000, 342, 342, 0x2f4],
        // SPB @0x500: still interface 0 of the section (snaplen 0), not the later 128-byte "wifi2?".
        [0, 1, 0, 0, 314, 314, 0x500],
        [0, 1, T, 300858000, 342, 342, 0x64c],
        [1, 0, T, 301858000, 168, 168, 0x7c4],
      ],
      directions: [0, 0, 0, 0, 0],
    });
  });

  it('le-test202: three sections (LE, BE, LE); interface ids keep counting across sections', () => {
    expect(summary('gopacket/le-test202.pcapng')).toEqual({
      error: undefined,
      warnings: [],
      interfaces: [
        // Section 1 (little-endian, SHB @0x0): eth0 snaplen 96, null1.
        [0, 1, 96, 'eth0'],
        [1, 0, 0, 'null1'],
        // Section 2 (big-endian, SHB @0x3a0): one IDB, snaplen 128.
        [2, 1, 128, 'silly ethernet interface 2'],
        // Section 3 (little-endian, SHB @0x850): eth0 and null1 again, as new interfaces.
        [3, 1, 96, 'eth0'],
        [4, 0, 0, 'null1'],
      ],
      packets: [
        [0, 1, T, 298858000, 96, 314, 0x1c0],
        // (an ISB @0x240 sits between these two EPBs)
        [0, 1, T, 298858000, 96, 342, 0x258],
        [1, 0, T, 301858000, 168, 168, 0x2d8],
        // Big-endian section: SPB @0x454 cut to the 128-byte snaplen; its EPBs say interface 0 = id 2.
        [2, 1, 0, 0, 128, 314, 0x454],
        [2, 1, T, 298858000, 128, 342, 0x4e4],
        [2, 1, 0, 0, 128, 314, 0x720],
        [2, 1, T, 298858000, 128, 342, 0x7b0],
        // Last section: EPB @0xa94 says interface 1 of its section = reader-wide id 4.
        [4, 0, T, 301858000, 168, 168, 0xa94],
      ],
      directions: [0, 0, 0, 0, 0, 0, 0, 0],
    });
  });

  it('le-test901: the second SHB has major version 2, so reading stops with a format error', () => {
    expect(summary('gopacket/le-test901.pcapng')).toEqual({
      // The SHB @0x1e0 (480) has its version field at +12.
      error: 'unsupported pcapng version 2.0 (libpcap reads 1.0 and 1.2) at byte offset 492',
      warnings: [],
      interfaces: [[0, 1, 0, 'eth0']],
      // The first section's one packet is delivered before the error (libpcap does the same).
      packets: [[0, 1, T, 298858000, 314, 314, 0x84]],
      directions: [0],
    });
  });
});

describe('pcapng interface metadata in the other fixtures', () => {
  it('zeek multi-interface: names, description, and per-interface timestamp resolution', () => {
    const r = read('zeek/pcapng-multi-interface.pcapng');
    expect(r.sink.interfaces).toEqual([
      { id: 0, linkType: 1, snapLen: 262144, name: 'eth0', description: undefined },
      {
        id: 1,
        linkType: 1,
        snapLen: 262144,
        name: '\\Device\\NPF_{5AE6EDB4-EFF9-46B3-A3C2-EE50C688A9E6}',
        description: 'Ethernet 2',
      },
    ]);
    // eth0 has if_tsresol 9 (nanoseconds), the Windows interface if_tsresol 6.
    const first = r.sink.packets[0]!;
    expect([first.interfaceId, first.tsSec, first.tsNsec]).toEqual([0, 1767663089, 500330493]);
    const windows = r.sink.packets.find((p) => p.interfaceId === 1)!;
    expect(windows.tsNsec % 1000).toBe(0);
  });

  it('text2pcap interface name', () => {
    expect(read('tcpdump/icmp-length-zero.pcapng').sink.interfaces[0]!.name).toBe('Fake IF, text2pcap');
  });
});
