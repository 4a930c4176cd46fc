/**
 * The native decoder and fingerprint (native/engine) against the TypeScript ones (agent/decode,
 * agent/flow/fingerprint.ts) on real and synthetic captures: for every record, the status, every
 * PacketView field (typed arrays element by element, including what reset() leaves from earlier
 * packets), every decode event counter, the fingerprint and its weak flag must be identical. Each
 * capture goes through one TypeScript and one native decoder in the same order, as a pipeline would.
 */
import { describe, expect, it } from 'vitest';
import { createCaptureParser } from '../../agent/capture/capture-format.js';
import type { CaptureRecord } from '../../agent/capture/capture-record.js';
import { DECODE_EVENT_NAMES } from '../../agent/decode/decode-events.js';
import { DEFAULT_TUNNEL_PORTS } from '../../agent/decode/dispatch-tables.js';
import { generateCapture } from '../../bench/capture/generator.js';
import { DecoderPair, engine, forEachRecord, listCaptureFixtures, VIEW_FIELDS } from './engine-test-support.js';

/** Every capture under test/fixtures (pcap/ and mutants/); fewer means fixtures went missing. */
const MIN_FIXTURE_FILES = 91;
const MIN_FIXTURE_PACKETS = 850;
/** Tunnel ports other than the defaults: DNS's 53 as VXLAN, 4789 as Geneve (a port in both lists is Geneve's). */
const OTHER_PORTS = { vxlanPorts: [8472, 53, 0], genevePorts: [6081, 4789] };
const MAX_REPORTED = 10;

interface Comparison {
  files: number;
  packets: number;
  readerErrors: string[];
  differences: string[];
}

async function compareFixtures(tunnelPorts?: { vxlanPorts: number[]; genevePorts: number[] }): Promise<Comparison> {
  const out: Comparison = { files: 0, packets: 0, readerErrors: [], differences: [] };
  for (const rel of listCaptureFixtures()) {
    const pair = new DecoderPair(tunnelPorts);
    let n = 0;
    const err = await forEachRecord(rel, (r) => {
      n++;
      const diff = pair.compare(r.data, r.offset, r.caplen, r.linkType);
      if (diff !== undefined && out.differences.length < MAX_REPORTED) out.differences.push(`${rel} packet ${n}: ${diff}`);
    });
    if (err !== undefined) out.readerErrors.push(`${rel}: ${err}`);
    out.files++;
    out.packets += pair.compared;
  }
  return out;
}

describe('the native decoder is the TypeScript decoder', () => {
  it('counts the same decode events under the same names, in the same order', () => {
    expect(engine().decodeEventNames()).toEqual([...DECODE_EVENT_NAMES]);
  });

  it("has exactly PacketView's fields", () => {
    const native = engine().decodeForTest(engine().createDecoder(), new Uint8Array(0), 0, 0, 1);
    expect(Object.keys(native.view)).toEqual(VIEW_FIELDS);
  });

  it('on every record of every capture in test/fixtures, with the default tunnel ports and others', async () => {
    for (const ports of [DEFAULT_TUNNEL_PORTS, OTHER_PORTS]) {
      const r = await compareFixtures({ vxlanPorts: [...ports.vxlanPorts], genevePorts: [...ports.genevePorts] });
      console.log(`tunnel ports ${JSON.stringify(ports)}: ${r.packets} packets in ${r.files} captures compared, ${r.differences.length} differing`);
      // The only capture the readers refuse part-way (pcapng 2.0, as libpcap does); its records before that count.
      expect(r.readerErrors.map((e) => e.split(':')[0])).toEqual(['pcap/gopacket/le-test901.pcapng']);
      expect(r.differences, r.differences.join('\n')).toEqual([]);
      expect(r.files).toBeGreaterThanOrEqual(MIN_FIXTURE_FILES);
      expect(r.packets).toBeGreaterThanOrEqual(MIN_FIXTURE_PACKETS);
    }
  });

  it("on the benchmark generator's node capture (IPIP, VXLAN, IPv6, ARP, multicast, snap-length cuts; 50,000 packets)", () => {
    const pair = new DecoderPair();
    const differences: string[] = [];
    const parser = createCaptureParser('pcap', {
      onInterface() {},
      onWarning() {},
      onPacket(r: CaptureRecord) {
        const diff = pair.compare(r.data, r.offset, r.caplen, r.linkType);
        if (diff !== undefined && differences.length < MAX_REPORTED) differences.push(`packet ${pair.compared}: ${diff}`);
      },
    });
    generateCapture({ packets: 50_000, seed: 11, truncateRate: 0.2 }, (chunk) => parser.push(chunk));
    parser.end();
    console.log(`generated capture: ${pair.compared} packets compared, ${differences.length} differing`);
    expect(differences, differences.join('\n')).toEqual([]);
    expect(pair.compared).toBe(50_000);
  });

  it("at the edges of JavaScript's numbers: lengths past 32 bits, keys and counters past 2^31", () => {
    const pair = new DecoderPair();
    const be32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
    const v6 = (next: number, payloadLength: number, body: number[]): Uint8Array =>
      new Uint8Array([0x6f, 0xff, 0xff, 0xff, payloadLength >> 8, payloadLength & 255, next, 255, ...new Array<number>(32).fill(0xff), ...body]);
    const tcpMax = [0xff, 0xff, 0xff, 0xff, ...be32(0xffffffff), ...be32(0x80000000), 0x51, 0xff, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7];
    const cases: [number, Uint8Array][] = [
      // Jumbograms claiming 2^32 - 1 and 65535 bytes (ipLength 2^32 + 39; a bad jumbo): truncated, then fingerprinted.
      [101, v6(0, 0, [6, 0, 0xc2, 4, ...be32(0xffffffff), ...tcpMax])],
      [101, v6(0, 0, [17, 0, 0xc2, 4, ...be32(0xffff), 0, 1, 0, 2, 0, 0, 0, 0])],
      // Flow label 0xfffff, hop limit 255, TCP sequence, acknowledgement and flags at their maximum.
      [229, v6(6, tcpMax.length, tcpMax)],
      // A GRE key with the top bit set (negative in TypeScript's Int32Array) around IPv4 with IPv4 multicast and all-ones fields.
      [228, new Uint8Array([0x45, 0, 0, 68, 0xff, 0xff, 0, 0, 255, 47, 0, 0, 192, 168, 0, 1, 192, 168, 0, 2, 0x20, 0, 0x08, 0, ...be32(0xfffffffe), 0x45, 0, 0, 40, 0xff, 0xff, 0x3f, 0xff, 1, 17, 0, 0, 169, 254, 0, 1, 255, 255, 255, 255, 0xff, 0xff, 0xff, 0xff, 0, 20, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9])],
      // SLL2 with an interface index past 2^31 and a VXLAN VNI of 2^24 - 1.
      [276, new Uint8Array([0x08, 0x00, 0, 0, ...be32(0xfffffff0), 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x45, 0, 0, 50, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0x12, 0xb5, 0, 30, 0, 0, 0x08, 0, 0, 0, 0xff, 0xff, 0xff, 0, 1, 2, 3, 4, 5, 6])],
    ];
    for (const [lt, bytes] of cases) {
      const diff = pair.compare(bytes, 0, bytes.length, lt);
      expect(diff, diff).toBeUndefined();
    }
    // The cases reach the edges they are about.
    pair.ts.decode(cases[0]![1], 0, cases[0]![1].length, 101);
    expect(pair.ts.view.ipLength).toBe(0xffffffff + 40);
    pair.ts.decode(cases[3]![1], 0, cases[3]![1].length, 228);
    expect(pair.ts.view.encapVni[0]).toBe(-2);
  });

  it('refuses bad arguments instead of reading outside the buffer', () => {
    const e = engine();
    const dec = e.createDecoder();
    const data = new Uint8Array(64);
    expect(() => e.decodeForTest(dec, data, 60, 5, 1)).toThrow(RangeError);
    expect(() => e.decodeForTest(dec, data, 65, 0, 1)).toThrow(RangeError);
    expect(() => e.decodeForTest(dec, data, -1, 1, 1)).toThrow(RangeError);
    expect(() => e.decodeForTest(dec, data, 0.5, 1, 1)).toThrow(RangeError);
    expect(() => e.decodeForTest({} as typeof dec, data, 0, 1, 1)).toThrow(TypeError);
    expect(() => e.decodeForTest(dec, new Uint16Array(4) as unknown as Uint8Array, 0, 1, 1)).toThrow(TypeError);
    expect(() => e.createDecoder({ vxlanPorts: [65536], genevePorts: [] })).toThrow(RangeError);
    expect(() => e.decodeInto(dec, data, 0, 64, 1, new Float64Array(1))).toThrow(RangeError);
    // A sub-view of a larger buffer: offsets are the view's own, as for any Uint8Array.
    expect(e.decodeForTest(dec, new Uint8Array(100).subarray(90), 0, 10, 1).status).toBe(1);
  });

  it('decodes a block in one call with the same statuses and fingerprints as one call per packet', async () => {
    const e = engine();
    const records: { linkType: number; bytes: Uint8Array }[] = [];
    for (const rel of listCaptureFixtures()) await forEachRecord(rel, (r) => records.push({ linkType: r.linkType, bytes: r.data.slice(r.offset, r.offset + r.caplen) }));
    const total = records.reduce((n, r) => n + r.bytes.length, 0);
    const data = new Uint8Array(total + 7);
    const count = records.length;
    const block = {
      data,
      count,
      offsets: new Uint32Array(count),
      lengths: new Uint32Array(count),
      linkTypes: new Uint32Array(count),
      status: new Uint8Array(count),
      fingerprints: new Float64Array(count),
      weak: new Uint8Array(count),
    };
    let at = 7;
    records.forEach((r, i) => {
      data.set(r.bytes, at);
      block.offsets[i] = at;
      block.lengths[i] = r.bytes.length;
      block.linkTypes[i] = r.linkType;
      at += r.bytes.length;
    });
    expect(e.decodeBatch(e.createDecoder(), block)).toBe(count);
    const one = e.createDecoder();
    const out = new Float64Array(2);
    for (let i = 0; i < count; i++) {
      const status = e.decodeInto(one, data, block.offsets[i]!, block.lengths[i]!, block.linkTypes[i]!, out);
      expect([block.status[i], block.fingerprints[i], block.weak[i]], `record ${i}`).toEqual([status, out[0], out[1]]);
    }
    // A record past the end of the block is refused, not read.
    block.lengths[count - 1] = block.lengths[count - 1]! + 1;
    expect(() => e.decodeBatch(e.createDecoder(), block)).toThrow(RangeError);
  });
});
