/**
 * The native decoder and fingerprint (native/engine) give the answers the TypeScript decoder and
 * fingerprint gave (agent/decode, agent/flow/fingerprint.ts, now deleted) on real and synthetic
 * captures: for every record, the status, every view field (arrays element by element, including
 * what a decode leaves from earlier packets), the decode events it added, the fingerprint and its
 * weak flag. Each capture goes through one decoder in order, as a pipeline would.
 *
 * The reference is frozen: while both implementations existed, every set was decoded by both, found
 * identical, and the TypeScript answers were stored as digests in
 * test/native/expected/decoder-answers.json (test/support/decoder-answers.ts says how; the sets are
 * built by test/support/decoder-answer-sets.ts). A failure names the set (the fixture file) and its
 * first differing record, with that record's input and the engine's answer now.
 *
 * A behaviour change that is meant: rewrite the expected answers from the engine, then review the
 * diff set by set:
 *   PATHWATCH_UPDATE_EXPECTED=1 npx vitest run test/native/decoder-differential.test.ts test/native/decoder-mutation-differential.test.ts
 * (refused under CI=true). test/native/decoder-mutation-differential.test.ts checks the mutated sets.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DECODE_EVENT_NAMES } from '../../agent/decode/decode-events.js';
import { fixtureSets, generatedCaptureSet, NUMBER_EDGE_CASES, numberEdgeSet, OTHER_TUNNEL_PORTS } from '../support/decoder-answer-sets.js';
import { DECODER_ANSWERS_PATH, engineAnswers, ExpectedDecoderAnswers, type ComputedSet } from '../support/decoder-answers.js';
import { DEFAULT_TUNNEL_PORTS, EngineDecoder, packDecodeBlock, VIEW_FIELD_NAMES } from '../support/engine-decoder.js';
import { engine, forEachRecord, listCaptureFixtures, type RecordCopy } from './engine-test-support.js';

/** Every capture under test/fixtures (pcap/ and mutants/); fewer means fixtures went missing. */
const MIN_FIXTURE_FILES = 91;
const MIN_FIXTURE_PACKETS = 850;

const expected = new ExpectedDecoderAnswers();

/** The group's sets are the frozen ones; the message lists every set that differs. */
function expectFrozenAnswers(group: string, sets: readonly ComputedSet[]): void {
  const problems = expected.check(group, sets);
  expect(problems, problems.join('\n\n')).toEqual([]);
}

describe('the native decoder gives the frozen answers of the TypeScript decoder', () => {
  it('counts the same decode events under the same names, in the same order', () => {
    expect(engine().decodeEventNames()).toEqual([...DECODE_EVENT_NAMES]);
    expect(expected.eventNames).toEqual([...DECODE_EVENT_NAMES]);
  });

  it("has exactly PacketView's fields, in the order the frozen answers list them", () => {
    const native = engine().decodeForTest(engine().createDecoder(), new Uint8Array(0), 0, 0, 1);
    expect(Object.keys(native.view)).toEqual(VIEW_FIELD_NAMES);
    expect(expected.viewFields).toEqual(VIEW_FIELD_NAMES);
  });

  it('on every record of every capture in test/fixtures, with the default tunnel ports and others', async () => {
    for (const [label, ports] of [['default-ports', DEFAULT_TUNNEL_PORTS], ['other-ports', OTHER_TUNNEL_PORTS]] as const) {
      const r = await fixtureSets(engineAnswers, ports, label);
      console.log(`tunnel ports ${JSON.stringify(ports)}: ${r.packets} packets in ${r.files} captures checked`);
      // The only capture the readers refuse part-way (pcapng 2.0, as libpcap does); its records before that count.
      expect(r.readerErrors.map((e) => e.split(':')[0])).toEqual(['pcap/gopacket/le-test901.pcapng']);
      expectFrozenAnswers(`fixtures/${label}`, r.sets);
      expect(r.files).toBeGreaterThanOrEqual(MIN_FIXTURE_FILES);
      expect(r.packets).toBeGreaterThanOrEqual(MIN_FIXTURE_PACKETS);
    }
  });

  it("on the benchmark generator's node capture (IPIP, VXLAN, IPv6, ARP, multicast, snap-length cuts; 50,000 packets)", () => {
    const set = generatedCaptureSet(engineAnswers);
    console.log(`generated capture: ${set.records} packets checked`);
    expectFrozenAnswers('generated', [set]);
    expect(set.records).toBe(50_000);
  });

  it("at the edges of JavaScript's numbers: lengths past 32 bits, keys and counters past 2^31", () => {
    expectFrozenAnswers('edges', [numberEdgeSet(engineAnswers)]);
    // The cases reach the edges they are about.
    const dec = new EngineDecoder();
    const [jumbo, greKey] = [NUMBER_EDGE_CASES[0]!, NUMBER_EDGE_CASES[3]!];
    dec.decode(jumbo[1], 0, jumbo[1].length, jumbo[0]);
    expect(dec.view.ipLength).toBe(0xffffffff + 40);
    dec.decode(greKey[1], 0, greKey[1].length, greKey[0]);
    expect(dec.view.encapVni[0]).toBe(-2);
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
    const records: RecordCopy[] = [];
    for (const rel of listCaptureFixtures()) await forEachRecord(rel, (r) => records.push({ linkType: r.linkType, bytes: r.data.slice(r.offset, r.offset + r.caplen) }));
    // Seven bytes in, so no record starts at offset 0.
    const block = packDecodeBlock(records, 7);
    const count = block.count;
    expect(e.decodeBatch(e.createDecoder(), block)).toBe(count);
    const one = e.createDecoder();
    const out = new Float64Array(2);
    for (let i = 0; i < count; i++) {
      const status = e.decodeInto(one, block.data, block.offsets[i]!, block.lengths[i]!, block.linkTypes[i]!, out);
      expect([block.status[i], block.fingerprints[i], block.weak[i]], `record ${i}`).toEqual([status, out[0], out[1]]);
    }
    // A record past the end of the block is refused, not read.
    block.lengths[count - 1] = block.lengths[count - 1]! + 1;
    expect(() => e.decodeBatch(e.createDecoder(), block)).toThrow(RangeError);
  });

  it('a tampered expected answer fails the check, naming the set and its first differing record', async () => {
    // The check itself, on a copy of the expected file with one fixture's answers tampered: one
    // record's block digest (and so the set's digest), another fixture's input digest, and a set removed.
    const dir = mkdtempSync(join(tmpdir(), 'pathwatch-answers-'));
    try {
      const path = join(dir, 'decoder-answers.json');
      copyFileSync(DECODER_ANSWERS_PATH, path);
      const file = JSON.parse(readFileSync(path, 'utf8')) as { sets: Record<string, { sha256: string; inputSha256: string; blocks: string }> };
      const flip = (hex: string): string => (hex[0] === '0' ? '1' : '0') + hex.slice(1);
      const vxlan = file.sets['fixtures/default-ports/pcap/tcpdump/vxlan.pcap']!;
      const blocks = vxlan.blocks.split(' ');
      blocks[3] = flip(blocks[3]!);
      vxlan.blocks = blocks.join(' ');
      vxlan.sha256 = flip(vxlan.sha256);
      const geneve = file.sets['fixtures/default-ports/pcap/tcpdump/geneve.pcap']!;
      geneve.inputSha256 = flip(geneve.inputSha256);
      delete file.sets['fixtures/default-ports/pcap/zeek/tunnels/4in4.pcap'];
      writeFileSync(path, JSON.stringify(file));
      const tampered = new ExpectedDecoderAnswers('native', path, false);
      const problems = tampered.check('fixtures/default-ports', (await fixtureSets(engineAnswers, DEFAULT_TUNNEL_PORTS, 'default-ports')).sets);
      expect(problems).toHaveLength(3);
      expect(problems[0]).toMatch(/^fixtures\/default-ports\/pcap\/tcpdump\/geneve\.pcap: its input changed/);
      expect(problems[1]).toMatch(/^fixtures\/default-ports\/pcap\/tcpdump\/vxlan\.pcap: 10 records, answers sha256 \w+ is not the expected/);
      expect(problems[1]).toContain('first differing record: 3 (0-based)');
      expect(problems[2]).toMatch(/^fixtures\/default-ports\/pcap\/zeek\/tunnels\/4in4\.pcap: no expected answers/);
      // Untouched, the same check passes.
      expect(new ExpectedDecoderAnswers('native', DECODER_ANSWERS_PATH, false).check('fixtures/default-ports', (await fixtureSets(engineAnswers, DEFAULT_TUNNEL_PORTS, 'default-ports')).sets)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
