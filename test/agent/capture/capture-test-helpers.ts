/**
 * Shared helpers for the capture-reader tests: fixture discovery, a sink that records what a parser
 * delivered in comparable form, and chunked feeding.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCaptureParser, detectCaptureFormat, type CaptureParser } from '../../../agent/capture/capture-format.js';
import {
  CaptureFormatError,
  type CaptureInterface,
  type CaptureRecord,
  type CaptureSink,
} from '../../../agent/capture/capture-record.js';

export const FIXTURE_ROOT = fileURLToPath(new URL('../../fixtures/pcap/', import.meta.url));

/** Relative paths (e.g. "tcpdump/vxlan.pcap") of every capture under test/fixtures/pcap, sorted. */
export function listFixtures(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.pcap(ng)?$/.test(e.name)) out.push(relative(FIXTURE_ROOT, p).split('\\').join('/'));
    }
  };
  walk(FIXTURE_ROOT);
  return out.sort();
}

export function readFixture(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURE_ROOT, rel)));
}

/** The "Pkts" column of test/fixtures/pcap/README.md, by relative path. */
export function readmePacketCounts(): Map<string, number> {
  const text = readFileSync(join(FIXTURE_ROOT, 'README.md'), 'utf8');
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    // | `dir/file` | source @ path | license | format | Pkts |
    const m = /^\| `([^`]+\.pcap(?:ng)?)` \|[^|]*\|[^|]*\|[^|]*\| (\d+) \|$/.exec(line);
    if (m !== null) counts.set(m[1]!, Number(m[2]));
  }
  return counts;
}

/** FNV-1a over a byte range: cheap, and enough to tell packet payloads apart in comparisons. */
export function fnv1a(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= b[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export interface PacketSummary {
  interfaceId: number;
  linkType: number;
  tsSec: number;
  tsNsec: number;
  caplen: number;
  origlen: number;
  hash: number;
  direction: number;
  streamOffset: number;
}

/** Copies everything a parser reports, since the parser reuses its record and buffers. */
export class CollectingSink implements CaptureSink {
  readonly interfaces: CaptureInterface[] = [];
  readonly packets: PacketSummary[] = [];
  readonly payloads: Uint8Array[] = [];
  readonly warnings: string[] = [];

  constructor(private readonly keepPayloads = false) {}

  onInterface(iface: CaptureInterface): void {
    this.interfaces.push({ ...iface });
  }

  onPacket(r: CaptureRecord): void {
    if (r.offset < 0 || r.offset + r.caplen > r.data.length) {
      throw new Error(`record points outside its buffer: ${r.offset}+${r.caplen} > ${r.data.length}`);
    }
    this.packets.push({
      interfaceId: r.interfaceId,
      linkType: r.linkType,
      tsSec: r.tsSec,
      tsNsec: r.tsNsec,
      caplen: r.caplen,
      origlen: r.origlen,
      hash: fnv1a(r.data, r.offset, r.offset + r.caplen),
      direction: r.direction,
      streamOffset: r.streamOffset,
    });
    if (this.keepPayloads) this.payloads.push(r.data.slice(r.offset, r.offset + r.caplen));
  }

  onWarning(message: string): void {
    this.warnings.push(message);
  }
}

/** A sink that only counts, for fuzzing where copying would just slow things down. */
export class CountingSink implements CaptureSink {
  interfaces = 0;
  packets = 0;
  warnings = 0;
  onInterface(): void {
    this.interfaces++;
  }
  onPacket(r: CaptureRecord): void {
    if (r.offset < 0 || r.offset + r.caplen > r.data.length) throw new Error('record outside its buffer');
    this.packets++;
  }
  onWarning(): void {
    this.warnings++;
  }
}

export interface ParseOutcome<S extends CaptureSink> {
  sink: S;
  parser: CaptureParser;
  /** The CaptureFormatError that stopped the parse, if any (other errors propagate). */
  error: CaptureFormatError | undefined;
}

/**
 * Feeds bytes to a parser of the given format in chunks whose sizes cycle through chunkSizes
 * (a single huge size means one chunk), then ends it. Only CaptureFormatError is caught.
 */
export function parseBytes<S extends CaptureSink>(
  format: 'pcap' | 'pcapng',
  bytes: Uint8Array,
  sink: S,
  chunkSizes: readonly number[] = [Number.MAX_SAFE_INTEGER],
): ParseOutcome<S> {
  const parser = createCaptureParser(format, sink);
  let error: CaptureFormatError | undefined;
  try {
    let pos = 0;
    let i = 0;
    while (pos < bytes.length) {
      const n = Math.max(1, chunkSizes[i++ % chunkSizes.length]!);
      // Copy each chunk so a parser that kept a view past the callback would see different data.
      const chunk = bytes.slice(pos, Math.min(bytes.length, pos + n));
      parser.push(chunk);
      pos += chunk.length;
    }
    parser.end();
  } catch (e) {
    if (!(e instanceof CaptureFormatError)) throw e;
    error = e;
  }
  return { sink, parser, error };
}

/** Format of a fixture from its magic; every fixture is one of the two. */
export function fixtureFormat(bytes: Uint8Array): 'pcap' | 'pcapng' {
  const f = detectCaptureFormat(bytes);
  if (f !== 'pcap' && f !== 'pcapng') throw new Error(`fixture is ${f}`);
  return f;
}

/** Concatenates byte rows (one row per field in the hand-built captures). */
export function bytes(...rows: ReadonlyArray<readonly number[]>): Uint8Array {
  return new Uint8Array(rows.flat());
}

export function ascii(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}
