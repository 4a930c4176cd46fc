/**
 * The packet sets whose decoder answers are frozen in test/native/expected/decoder-answers.json
 * (test/support/decoder-answers.ts): built the same way on every run, whoever answers (the native
 * engine in the tests; the TypeScript decoder when the answers were frozen).
 *
 *  - every record of every capture under test/fixtures, one decoder per file, with the default tunnel
 *    ports and with others (a set per file: a failure names the file and the record);
 *  - the benchmark generator's node capture (50,000 packets, seed 11, 20% snap-length cuts);
 *  - packets at the edges of JavaScript's numbers;
 *  - the mutation sets: packets of every kind the decoder walks and the fixture records, mutated
 *    (flips, absurd 16-bit values, truncation, garbage inserted) and placed at a random offset inside
 *    random bytes, per link type; fixture records read as every other link type; arbitrary bytes on
 *    known and unknown link types; other tunnel ports; nesting far past every cap. fast-check draws
 *    them with fixed seeds.
 *
 * Fixture and generated records are decoded from copies of their bytes at offset 0, so the answers
 * (whose offsets are buffer offsets) do not depend on how the capture readers chunk their input.
 */
import fc from 'fast-check';
import { createCaptureParser } from '../../agent/capture/capture-format.js';
import type { CaptureRecord } from '../../agent/capture/capture-record.js';
import type { NativeTunnelPorts } from '../../agent/native/engine-native.js';
import { generateCapture } from '../../bench/capture/generator.js';
import { forEachRecord, listCaptureFixtures, type RecordCopy } from '../native/engine-test-support.js';
import { carries, framed, IP_PACKETS, LINK_TYPES, mutate, mutation } from '../native/mutation-packets.js';
import { AnswerRecorder, type AnsweringDecoderFactory, type ComputedSet } from './decoder-answers.js';
import { concat, ethernet, ipv4, udp, vxlan } from './packet-builder.js';

/** Tunnel ports other than the defaults: DNS's 53 and 0 as VXLAN, 4789 as Geneve (a port in both lists is Geneve's). */
export const OTHER_TUNNEL_PORTS: NativeTunnelPorts = { vxlanPorts: [8472, 53, 0], genevePorts: [6081, 4789] };
/** The mutation test's other ports (in another order: the lists are sets). */
export const MUTATION_TUNNEL_PORTS: NativeTunnelPorts = { vxlanPorts: [53, 0, 8472], genevePorts: [4789, 6081] };

/** Mutated packets per link type, and in the other mutation sets. */
export const RUNS_PER_LINK_TYPE = 5000;
const CROSS_LINK_TYPE_RUNS = 5000;
const ARBITRARY_BYTES_RUNS = 5000;
const OTHER_PORTS_RUNS = 4000;

/** fast-check seeds of the drawn sets: fixed, so every run draws the same packets. */
const SEEDS = { linkType: (lt: number): number => 0x5eed0000 + lt, crossLinkTypes: 0x5eed1001, arbitraryBytes: 0x5eed1002, otherPorts: 0x5eed1003 };

/** Block sizes of the block digests: single records where sets are small, so a failure names the record. */
const BLOCK = { fixture: 1, generated: 250, drawn: 25, built: 1, nested: 4, edges: 1 };

export interface FixtureSets {
  readonly sets: ComputedSet[];
  readonly files: number;
  readonly packets: number;
  /** Files the capture readers refused part-way (their records before that point are in the sets). */
  readonly readerErrors: string[];
}

/** Every fixture capture, one decoder per file: group `fixtures/<portsLabel>`, a set per file. */
export async function fixtureSets(factory: AnsweringDecoderFactory, tunnelPorts: NativeTunnelPorts, portsLabel: string): Promise<FixtureSets> {
  const sets: ComputedSet[] = [];
  const readerErrors: string[] = [];
  let packets = 0;
  const files = listCaptureFixtures();
  for (const rel of files) {
    const rec = new AnswerRecorder(`fixtures/${portsLabel}/${rel}`, factory, BLOCK.fixture, tunnelPorts);
    const err = await forEachRecord(rel, (r) => {
      const copy = r.data.slice(r.offset, r.offset + r.caplen);
      rec.decode(copy, 0, copy.length, r.linkType);
    });
    if (err !== undefined) readerErrors.push(`${rel}: ${err}`);
    packets += rec.records;
    sets.push(rec.finish());
  }
  return { sets, files: files.length, packets, readerErrors };
}

/** The benchmark generator's node capture (IPIP, VXLAN, IPv6, ARP, multicast, snap-length cuts). */
export function generatedCaptureSet(factory: AnsweringDecoderFactory): ComputedSet {
  const rec = new AnswerRecorder('generated/node-capture-50000-seed-11', factory, BLOCK.generated);
  const parser = createCaptureParser('pcap', {
    onInterface() {},
    onWarning() {},
    onPacket(r: CaptureRecord) {
      const copy = r.data.slice(r.offset, r.offset + r.caplen);
      rec.decode(copy, 0, copy.length, r.linkType);
    },
  });
  generateCapture({ packets: 50_000, seed: 11, truncateRate: 0.2 }, (chunk) => parser.push(chunk));
  parser.end();
  return rec.finish();
}

const be32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const v6 = (next: number, payloadLength: number, body: number[]): Uint8Array =>
  new Uint8Array([0x6f, 0xff, 0xff, 0xff, payloadLength >> 8, payloadLength & 255, next, 255, ...new Array<number>(32).fill(0xff), ...body]);
const tcpMax = [0xff, 0xff, 0xff, 0xff, ...be32(0xffffffff), ...be32(0x80000000), 0x51, 0xff, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7];

/** Packets at the edges of JavaScript's numbers: lengths past 32 bits, keys and counters past 2^31 ([link type, bytes]). */
export const NUMBER_EDGE_CASES: readonly (readonly [number, Uint8Array])[] = [
  // Jumbograms claiming 2^32 - 1 and 65535 bytes (ipLength 2^32 + 39; a bad jumbo): truncated, then fingerprinted.
  [101, v6(0, 0, [6, 0, 0xc2, 4, ...be32(0xffffffff), ...tcpMax])],
  [101, v6(0, 0, [17, 0, 0xc2, 4, ...be32(0xffff), 0, 1, 0, 2, 0, 0, 0, 0])],
  // Flow label 0xfffff, hop limit 255, TCP sequence, acknowledgement and flags at their maximum.
  [229, v6(6, tcpMax.length, tcpMax)],
  // A GRE key with the top bit set (negative as a signed 32-bit VNI) around IPv4 with IPv4 multicast and all-ones fields.
  [228, new Uint8Array([0x45, 0, 0, 68, 0xff, 0xff, 0, 0, 255, 47, 0, 0, 192, 168, 0, 1, 192, 168, 0, 2, 0x20, 0, 0x08, 0, ...be32(0xfffffffe), 0x45, 0, 0, 40, 0xff, 0xff, 0x3f, 0xff, 1, 17, 0, 0, 169, 254, 0, 1, 255, 255, 255, 255, 0xff, 0xff, 0xff, 0xff, 0, 20, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9])],
  // SLL2 with an interface index past 2^31 and a VXLAN VNI of 2^24 - 1.
  [276, new Uint8Array([0x08, 0x00, 0, 0, ...be32(0xfffffff0), 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x45, 0, 0, 50, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0x12, 0xb5, 0, 30, 0, 0, 0x08, 0, 0, 0, 0xff, 0xff, 0xff, 0, 1, 2, 3, 4, 5, 6])],
];

export function numberEdgeSet(factory: AnsweringDecoderFactory): ComputedSet {
  const rec = new AnswerRecorder('edges/javascript-number-limits', factory, BLOCK.edges);
  for (const [lt, bytes] of NUMBER_EDGE_CASES) rec.decode(bytes, 0, bytes.length, lt);
  return rec.finish();
}

/** Every built packet framed for every link type that carries it, in order. */
export function builtPackets(): { linkType: number; ip: Uint8Array; frame: Uint8Array }[] {
  const out: { linkType: number; ip: Uint8Array; frame: Uint8Array }[] = [];
  for (const lt of LINK_TYPES) for (const ip of IP_PACKETS) if (carries(lt, ip)) out.push({ linkType: lt, ip, frame: framed(lt, ip) });
  return out;
}

/** The mutations' starting points: every built packet on every link type, unmutated. */
export function builtPacketsSet(factory: AnsweringDecoderFactory): ComputedSet {
  const rec = new AnswerRecorder('mutation/built/every-link-type', factory, BLOCK.built);
  for (const b of builtPackets()) rec.decode(b.frame, 0, b.frame.length, b.linkType);
  return rec.finish();
}

/** `bytes` at a position inside random bytes. */
function placed(bytes: Uint8Array, before: Uint8Array, after: Uint8Array): { data: Uint8Array; offset: number } {
  return { data: concat(before, bytes, after), offset: before.length };
}

export interface LinkTypeMutationSet {
  readonly set: ComputedSet;
  readonly builtSeeds: number;
  readonly fixtureSeeds: number;
}

/** Built packets and fixture records of one link type, mutated and placed inside random bytes. */
export function linkTypeMutationSet(factory: AnsweringDecoderFactory, linkType: number, fixtures: readonly RecordCopy[]): LinkTypeMutationSet {
  const built = IP_PACKETS.filter((ip) => carries(linkType, ip)).map((ip) => framed(linkType, ip));
  const seeds = [...built, ...fixtures.filter((r) => r.linkType === linkType).map((r) => r.bytes)];
  const drawn = fc.sample(fc.tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 })), {
    numRuns: RUNS_PER_LINK_TYPE,
    seed: SEEDS.linkType(linkType),
  });
  const rec = new AnswerRecorder(`mutation/link-type-${linkType}`, factory, BLOCK.drawn);
  for (const [seed, muts, before, after] of drawn) {
    const { data, offset } = placed(mutate(seed, muts), before, after);
    rec.decode(data, offset, data.length - before.length - after.length, linkType);
  }
  return { set: rec.finish(), builtSeeds: built.length, fixtureSeeds: seeds.length - built.length };
}

/** Fixture records of one link type read as every other link type, mutated. */
export function crossLinkTypeSet(factory: AnsweringDecoderFactory, fixtures: readonly RecordCopy[]): ComputedSet {
  const drawn = fc.sample(fc.tuple(fc.constantFrom(...fixtures), fc.constantFrom(...LINK_TYPES), fc.array(mutation, { maxLength: 3 })), {
    numRuns: CROSS_LINK_TYPE_RUNS,
    seed: SEEDS.crossLinkTypes,
  });
  const rec = new AnswerRecorder('mutation/fixtures-as-other-link-types', factory, BLOCK.drawn);
  for (const [r, lt, muts] of drawn) {
    const data = mutate(r.bytes, muts);
    rec.decode(data, 0, data.length, lt);
  }
  return rec.finish();
}

/** Arbitrary bytes at any position of a larger buffer, on every link type and unknown ones. */
export function arbitraryBytesSet(factory: AnsweringDecoderFactory): ComputedSet {
  const linkType = fc.oneof(fc.constantFrom(...LINK_TYPES), fc.integer({ min: 0, max: 0xffffffff }));
  const drawn = fc.sample(fc.tuple(linkType, fc.uint8Array({ maxLength: 600 }), fc.nat(), fc.nat()), { numRuns: ARBITRARY_BYTES_RUNS, seed: SEEDS.arbitraryBytes });
  const rec = new AnswerRecorder('mutation/arbitrary-bytes', factory, BLOCK.drawn);
  for (const [lt, data, a, b] of drawn) {
    const offset = data.length === 0 ? 0 : a % (data.length + 1);
    const length = data.length - offset === 0 ? 0 : b % (data.length - offset + 1);
    rec.decode(data, offset, length, lt);
  }
  return rec.finish();
}

/** Built packets, mutated, on a decoder with other tunnel ports (VXLAN on 53 and 0, Geneve on 4789). */
export function otherTunnelPortsSet(factory: AnsweringDecoderFactory): ComputedSet {
  const drawn = fc.sample(fc.tuple(fc.constantFrom(...LINK_TYPES), fc.constantFrom(...IP_PACKETS), fc.array(mutation, { maxLength: 4 })), { numRuns: OTHER_PORTS_RUNS, seed: SEEDS.otherPorts });
  const rec = new AnswerRecorder('mutation/other-tunnel-ports', factory, BLOCK.drawn, MUTATION_TUNNEL_PORTS);
  for (const [lt, ip, muts] of drawn) {
    if (!carries(lt, ip)) continue;
    const data = mutate(framed(lt, ip), muts);
    rec.decode(data, 0, data.length, lt);
  }
  return rec.finish();
}

/** Tunnels, tags and extension headers nested past every cap (depth 4, 8 tags, 8 headers, 32 layers). */
export function nestedPastCapsSet(factory: AnsweringDecoderFactory): ComputedSet {
  const innerTcp = IP_PACKETS[0] as Uint8Array;
  const nodes = { src: '192.168.77.11', dst: '192.168.77.12' };
  /** Network-layer packets, decoded on every link type. */
  const ipNested: Uint8Array[] = [];
  let ipip: Uint8Array = innerTcp;
  let vx: Uint8Array = innerTcp;
  for (let i = 0; i < 40; i++) {
    ipip = ipv4({ ...nodes, proto: 4 }, ipip);
    vx = ipv4({ ...nodes, proto: 17 }, udp({ sport: 1, dport: 4789 }, vxlan(i, ethernet({}, vx))));
    ipNested.push(ipip, vx);
  }
  let ext: Uint8Array = new Uint8Array([128, 0, 0, 0, 0, 1, 0, 1]);
  let next = 58;
  for (let i = 0; i < 12; i++) {
    ext = concat([next, 0, 1, 4, 0, 0, 0, 0], ext);
    next = 0;
    ipNested.push(concat([0x60, 0, 0, 0, ext.length >> 8, ext.length & 255, 0, 64], new Uint8Array(32).fill(1), ext));
  }
  /** Ethernet frames with ever more VLAN tags. */
  const tagged: Uint8Array[] = [];
  let frame = ethernet({}, innerTcp);
  for (let i = 0; i < 12; i++) {
    frame = concat(frame.subarray(0, 12), [0x81, 0x00, 0, i], frame.subarray(12));
    tagged.push(frame);
  }
  const rec = new AnswerRecorder('mutation/nested-past-caps', factory, BLOCK.nested);
  for (const p of ipNested) {
    for (const lt of LINK_TYPES) {
      if (!carries(lt, p)) continue;
      const f = framed(lt, p);
      rec.decode(f, 0, f.length, lt);
    }
  }
  for (const f of tagged) rec.decode(f, 0, f.length, 1);
  return rec.finish();
}

