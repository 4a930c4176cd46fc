/**
 * The native decoder and fingerprint against the TypeScript ones under mutation: for every link
 * type, packets of every kind the decoder walks (test/native/mutation-packets.ts) and every fixture
 * record of that link type, mutated as test/hardening/decoder-hardening.test.ts does (flips, absurd
 * 16-bit values, truncation, garbage inserted) and placed at a random offset inside a larger buffer
 * of random bytes, must decode identically: status, every view field, every event counter,
 * fingerprint and weak flag. Then arbitrary bytes on any link type, known or not, other tunnel
 * ports, and nesting far past every cap.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DecodeStatus, PacketDecoder } from '../../agent/decode/packet-decoder.js';
import { concat, ethernet, ipv4, udp, vxlan } from '../support/packet-builder.js';
import { allFixtureRecords, DecoderPair, type RecordCopy } from './engine-test-support.js';
import { carries, framed, IP_PACKETS, LINK_TYPES, mutate, mutation } from './mutation-packets.js';

const RUNS_PER_LINK_TYPE = 5000;

let fixtures: RecordCopy[] = [];
beforeAll(async () => {
  fixtures = await allFixtureRecords();
});

/** Compares one case and fails the property with the difference. */
function check(pair: DecoderPair, data: Uint8Array, offset: number, length: number, linkType: number): void {
  const diff = pair.compare(data, offset, length, linkType);
  if (diff !== undefined) expect.fail(diff);
}

/** `bytes` at a random position of a buffer with random bytes around it. */
const placed = (bytes: Uint8Array, before: Uint8Array, after: Uint8Array): { data: Uint8Array; offset: number } => ({
  data: concat(before, bytes, after),
  offset: before.length,
});

describe('the native decoder is the TypeScript decoder under mutation', () => {
  it('starts from valid packets: every built packet decodes (Ok, or a tunnel named undecoded on purpose) on every link type, identically', () => {
    const pair = new DecoderPair();
    const alone = new PacketDecoder();
    for (const lt of LINK_TYPES) {
      for (const ip of IP_PACKETS) {
        if (!carries(lt, ip)) continue;
        const f = framed(lt, ip);
        check(pair, f, 0, f.length, lt);
        const status = alone.decode(f, 0, f.length, lt);
        expect([DecodeStatus.Ok, DecodeStatus.UndecodedTunnel], `link type ${lt}: ${Buffer.from(ip).toString('hex')}`).toContain(status);
      }
    }
  });

  for (const lt of LINK_TYPES) {
    it(`link type ${lt}: ${RUNS_PER_LINK_TYPE} mutated packets (built and from the fixtures) decode identically`, () => {
      const pair = new DecoderPair();
      const built = IP_PACKETS.filter((ip) => carries(lt, ip)).map((ip) => framed(lt, ip));
      const seeds = [...built, ...fixtures.filter((r) => r.linkType === lt).map((r) => r.bytes)];
      fc.assert(
        fc.property(
          fc.constantFrom(...seeds),
          fc.array(mutation, { minLength: 1, maxLength: 6 }),
          fc.uint8Array({ maxLength: 8 }),
          fc.uint8Array({ maxLength: 8 }),
          (seed, muts, before, after) => {
            const { data, offset } = placed(mutate(seed, muts), before, after);
            check(pair, data, offset, data.length - before.length - after.length, lt);
          },
        ),
        { numRuns: RUNS_PER_LINK_TYPE },
      );
      console.log(`link type ${lt}: ${pair.compared} mutated packets compared (${built.length} built and ${seeds.length - built.length} fixture seeds)`);
    });
  }

  it('fixture records of one link type read as every other link type, mutated', () => {
    const pair = new DecoderPair();
    fc.assert(
      fc.property(fc.constantFrom(...fixtures), fc.constantFrom(...LINK_TYPES), fc.array(mutation, { maxLength: 3 }), (r, lt, muts) => {
        const data = mutate(r.bytes, muts);
        check(pair, data, 0, data.length, lt);
      }),
      { numRuns: 5000 },
    );
  });

  it('arbitrary bytes at any position of a larger buffer, on every link type and unknown ones', () => {
    const pair = new DecoderPair();
    const linkType = fc.oneof(fc.constantFrom(...LINK_TYPES), fc.integer({ min: 0, max: 0xffffffff }));
    fc.assert(
      fc.property(linkType, fc.uint8Array({ maxLength: 600 }), fc.nat(), fc.nat(), (lt, data, a, b) => {
        const offset = data.length === 0 ? 0 : a % (data.length + 1);
        const length = data.length - offset === 0 ? 0 : b % (data.length - offset + 1);
        check(pair, data, offset, length, lt);
      }),
      { numRuns: 5000 },
    );
  });

  it('with other tunnel ports (VXLAN on 53 and 0, Geneve on 4789)', () => {
    const pair = new DecoderPair({ vxlanPorts: [53, 0, 8472], genevePorts: [4789, 6081] });
    fc.assert(
      fc.property(fc.constantFrom(...LINK_TYPES), fc.constantFrom(...IP_PACKETS), fc.array(mutation, { maxLength: 4 }), (lt, ip, muts) => {
        if (!carries(lt, ip)) return;
        const data = mutate(framed(lt, ip), muts);
        check(pair, data, 0, data.length, lt);
      }),
      { numRuns: 4000 },
    );
  });

  it('tunnels, tags and extension headers nested past every cap (depth 4, 8 tags, 8 headers, 32 layers)', () => {
    const pair = new DecoderPair();
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
    for (const p of ipNested) {
      for (const lt of LINK_TYPES) {
        if (!carries(lt, p)) continue;
        const f = framed(lt, p);
        check(pair, f, 0, f.length, lt);
      }
    }
    for (const f of tagged) check(pair, f, 0, f.length, 1);
    expect(pair.compared).toBeGreaterThan(500);
  });
});
