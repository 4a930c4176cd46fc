/**
 * Format detection, parser selection, and the file/stdin/gzip input layer.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createCaptureParser, detectCaptureFormat } from '../../../agent/capture/capture-format.js';
import { CaptureInputError, readCaptureChunks, readCaptureFile } from '../../../agent/capture/capture-input.js';
import { CaptureFormatError } from '../../../agent/capture/capture-record.js';
import { PcapParser } from '../../../agent/capture/pcap-reader.js';
import { PcapngParser } from '../../../agent/capture/pcapng-reader.js';
import { CollectingSink, FIXTURE_ROOT, fixtureFormat, parseBytes, readFixture } from './capture-test-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'pathwatch-capture-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tmpFile(name: string, content: Uint8Array | string): string {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
}

/** What parsing the bytes in memory gives: the reference for the file/stdin/gzip paths. */
function inMemory(bytes: Uint8Array) {
  const r = parseBytes(fixtureFormat(bytes), bytes, new CollectingSink());
  return { interfaces: r.sink.interfaces, packets: r.sink.packets, warnings: r.sink.warnings };
}

async function viaFile(path: string) {
  const sink = new CollectingSink();
  const result = await readCaptureFile(path, sink);
  return { result, observed: { interfaces: sink.interfaces, packets: sink.packets, warnings: sink.warnings } };
}

/** A synthetic little-endian pcap with n records of the given size, each filled with its index. */
function bigPcap(n: number, size: number): Uint8Array {
  const b = new Uint8Array(24 + n * (16 + size));
  const v = new DataView(b.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true);
  v.setUint32(20, 1, true);
  for (let i = 0, o = 24; i < n; i++, o += 16 + size) {
    v.setUint32(o, 1_600_000_000 + i, true);
    v.setUint32(o + 4, i % 1_000_000, true);
    v.setUint32(o + 8, size, true);
    v.setUint32(o + 12, size, true);
    b.fill(i & 0xff, o + 16, o + 16 + size);
  }
  return b;
}

describe('detectCaptureFormat', () => {
  it.each([
    [[0xd4, 0xc3, 0xb2, 0xa1], 'pcap'],
    [[0xa1, 0xb2, 0xc3, 0xd4], 'pcap'],
    [[0x4d, 0x3c, 0xb2, 0xa1], 'pcap'],
    [[0xa1, 0xb2, 0x3c, 0x4d], 'pcap'],
    [[0x0a, 0x0d, 0x0d, 0x0a], 'pcapng'],
    [[0x1f, 0x8b], 'gzip'],
    [[0x1f, 0x8b, 0x08, 0x00], 'gzip'],
    [[0xd4, 0xc3, 0xb2], 'unknown'],
    [[], 'unknown'],
    [[0x7b, 0x22, 0x61, 0x22], 'unknown'],
  ] as const)('%j is %s', (first, format) => {
    expect(detectCaptureFormat(new Uint8Array(first))).toBe(format);
  });

  it('detects every fixture as what its extension says', () => {
    expect(detectCaptureFormat(readFixture('tcpdump/pptp.pcap'))).toBe('pcap');
    expect(detectCaptureFormat(readFixture('gopacket/be-test005.pcapng'))).toBe('pcapng');
  });
});

describe('createCaptureParser', () => {
  it('builds the parser for the format', () => {
    const sink = new CollectingSink();
    expect(createCaptureParser('pcap', sink)).toBeInstanceOf(PcapParser);
    expect(createCaptureParser('pcapng', sink)).toBeInstanceOf(PcapngParser);
  });
});

describe('readCaptureFile', () => {
  it.each(['tcpdump/pptp.pcap', 'tcpdump/tcp-handshake-nano.pcap', 'zeek/pcapng-multi-interface.pcapng', 'gopacket/le-test202.pcapng'])(
    'reads %s the same as in memory',
    async (rel) => {
      const { result, observed } = await viaFile(join(FIXTURE_ROOT, rel));
      expect(observed).toEqual(inMemory(readFixture(rel)));
      expect(result.packets).toBe(observed.packets.length);
    },
  );

  it('reads a gzip-compressed fixture the same as the plain one', async () => {
    for (const rel of ['tcpdump/various_gre.pcap', 'gopacket/linux_sll_oversized_addr.pcapng']) {
      const plain = readFixture(rel);
      const gz = tmpFile(rel.replace('/', '_') + '.gz', gzipSync(plain));
      const { result, observed } = await viaFile(gz);
      expect(observed).toEqual(inMemory(plain));
      expect(result.packets).toBeGreaterThan(0);
    }
  });

  it('reads a cut-off gzip file as far as it goes and warns about the last record', async () => {
    const plain = readFixture('tcpdump/geneve.pcap');
    const gz = gzipSync(plain, { level: 1 });
    const path = tmpFile('cut.pcap.gz', gz.subarray(0, Math.floor(gz.length * 0.6)));
    const { result, observed } = await viaFile(path);
    expect(result.packets).toBeGreaterThan(0);
    expect(result.packets).toBeLessThan(39);
    expect(observed.warnings).toHaveLength(1);
    expect(observed.warnings[0]).toMatch(/^truncated final record at byte offset \d+: \d+ of \d+ bytes$/);
    // What was delivered is a prefix of the full capture.
    expect(observed.packets).toEqual(inMemory(plain).packets.slice(0, result.packets));
  });

  it('reads a capture larger than one 1 MiB read, with records straddling the reads', async () => {
    const big = bigPcap(2500, 1003); // 2.55 MB; 1003-byte records never align with 1 MiB
    const path = tmpFile('big.pcap', big);
    const sizes: number[] = [];
    for await (const c of readCaptureChunks(path)) sizes.push(c.length);
    expect(sizes.length).toBe(3);
    expect(sizes[0]).toBe(1 << 20);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(big.length);
    const { result, observed } = await viaFile(path);
    expect(result.packets).toBe(2500);
    expect(observed).toEqual(inMemory(big));
  });

  it('rejects input that is neither pcap nor pcapng, also after gunzip', async () => {
    const notCapture = new CaptureFormatError('not a pcap or pcapng capture', 0);
    await expect(readCaptureFile(tmpFile('text.txt', 'hello, world\n'), new CollectingSink())).rejects.toEqual(notCapture);
    await expect(readCaptureFile(tmpFile('empty.pcap', new Uint8Array(0)), new CollectingSink())).rejects.toEqual(notCapture);
    await expect(readCaptureFile(tmpFile('ab.pcap', 'ab'), new CollectingSink())).rejects.toEqual(notCapture);
    await expect(readCaptureFile(tmpFile('text.gz', gzipSync('{"json": true}')), new CollectingSink())).rejects.toEqual(
      notCapture,
    );
  });

  it('passes format errors from the parser through', async () => {
    const err = await readCaptureFile(join(FIXTURE_ROOT, 'gopacket/le-test901.pcapng'), new CollectingSink()).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CaptureFormatError);
    expect((err as CaptureFormatError).message).toBe('unsupported pcapng version 2.0 (libpcap reads 1.0 and 1.2) at byte offset 492');
  });
});

describe('input errors', () => {
  it('reports a missing file as CaptureInputError "cannot open PATH: reason", without a stack', async () => {
    const path = join(tmp, 'does-not-exist.pcap');
    const err = await readCaptureFile(path, new CollectingSink()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaptureInputError);
    expect((err as Error).message).toBe(`cannot open ${path}: no such file or directory`);
    expect((err as Error).stack).toBe(`CaptureInputError: cannot open ${path}: no such file or directory`);
  });

  it('reports a directory as a read error', async () => {
    const dir = join(tmp, 'a-directory');
    mkdirSync(dir);
    const err = await readCaptureFile(dir, new CollectingSink()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaptureInputError);
    expect((err as Error).message).toBe(`cannot read ${dir}: illegal operation on a directory`);
  });

  it('reports corrupt gzip data as CaptureInputError', async () => {
    const path = tmpFile('corrupt.gz', new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x03, 0xff, 0xff, 0xff]));
    const err = await readCaptureFile(path, new CollectingSink()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaptureInputError);
    expect((err as Error).message).toMatch(new RegExp(`^cannot decompress ${path}: `));
  });
});

describe("readCaptureChunks('-') reads stdin", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Replaces process.stdin with a stream of the given chunks (the injection seam is the getter). */
  function fakeStdin(chunks: Uint8Array[]): void {
    const stream = Readable.from(chunks.map((c) => Buffer.from(c)), { objectMode: false });
    vi.spyOn(process, 'stdin', 'get').mockReturnValue(stream as unknown as typeof process.stdin);
  }

  /** Splits bytes the way a pipe might: a single byte first, then uneven pieces. */
  function pipeChunks(b: Uint8Array): Uint8Array[] {
    const out = [b.subarray(0, 1)];
    for (let p = 1, n = 3; p < b.length; p += n, n = (n * 7) % 4093 || 1) out.push(b.subarray(p, p + n));
    return out;
  }

  it('plain capture', async () => {
    const plain = readFixture('tcpdump/vxlan.pcap');
    fakeStdin(pipeChunks(plain));
    const { observed } = await viaFile('-');
    expect(observed).toEqual(inMemory(plain));
  });

  it('gzip-compressed capture, with a one-byte first read', async () => {
    const plain = readFixture('zeek/pcapng-multi-interface.pcapng');
    fakeStdin(pipeChunks(gzipSync(plain)));
    const chunks: Uint8Array[] = [];
    for await (const c of readCaptureChunks('-')) chunks.push(Uint8Array.from(c));
    expect(Buffer.concat(chunks)).toEqual(Buffer.from(plain));
  });

  it('empty stdin is not a capture', async () => {
    fakeStdin([]);
    await expect(readCaptureFile('-', new CollectingSink())).rejects.toThrow('not a pcap or pcapng capture');
  });
});
