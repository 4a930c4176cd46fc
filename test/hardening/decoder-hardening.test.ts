/**
 * The native engine's decoder under hostile input, complementing
 * test/agent/decode/decoder-properties.test.ts (which checks the view's invariants and exact decodes):
 * here every link type that agent/decode/link-types.ts declares, fed packets built with
 * test/support/packet-builder.ts and then mutated (flipped bytes, 16-bit length fields set to absurd
 * values, truncated, garbage inserted, shifted inside a bigger buffer), and arbitrary bytes, must,
 * through the engine's per-packet entry (decodeInto, via test/support/engine-decoder.ts),
 *  - never throw (the decoder has no error type at all: it returns a status),
 *  - return within a time budget for every call,
 *  - allocate nothing per call on the JavaScript heap (the young generation does not grow over
 *    thousands of calls).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as LinkTypes from '../../agent/decode/link-types.js';
import { concat, ethernet, icmpEcho, ipv4, sll2, tcp, udp, vxlan, bytesOf } from '../support/packet-builder.js';
import { withinBudget, youngAllocation } from './support/budget.js';
import { mutate, mutation } from '../support/packet-mutation.js';
import { DecodeStatus, EngineDecoder } from '../support/engine-decoder.js';

/** Every LINKTYPE_* constant the decoder knows: a new one is fuzzed without touching this file. */
const LINK_TYPES: readonly number[] = Object.entries(LinkTypes)
  .filter(([name, v]) => name.startsWith('LINKTYPE_') && typeof v === 'number')
  .map(([, v]) => v as number);
const VALID_STATUS = new Set<number>([DecodeStatus.Ok, DecodeStatus.Truncated, DecodeStatus.NotIp, DecodeStatus.Malformed, DecodeStatus.UndecodedTunnel]);
/** One decode is a few hundred nanoseconds; 20 ms means something loops. */
const DECODE_BUDGET_MS = 20;

// --- valid packets of every kind the decoder walks, built with the shared builder ----------------

const be16 = (v: number): number[] => [(v >>> 8) & 255, v & 255];

function ipv6(o: { next: number; src?: number[]; dst?: number[] }, payload: Uint8Array): Uint8Array {
  const src = o.src ?? [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1];
  const dst = o.dst ?? [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 2];
  return concat([0x60, 0, 0, 0, ...be16(payload.length), o.next, 64], src, dst, payload);
}

function gre(protocol: number, payload: Uint8Array, key?: number): Uint8Array {
  const head = key === undefined ? [0, 0, ...be16(protocol)] : [0x20, 0, ...be16(protocol), (key >>> 24) & 255, (key >>> 16) & 255, (key >>> 8) & 255, key & 255];
  return concat(head, payload);
}

function geneve(vni: number, protocol: number, payload: Uint8Array): Uint8Array {
  return concat([0, 0, ...be16(protocol), (vni >>> 16) & 255, (vni >>> 8) & 255, vni & 255, 0], payload);
}

const A = { src: '10.91.0.2', dst: '100.64.0.1' };
const innerTcp = ipv4({ ...A, proto: 6 }, tcp({ sport: 40000, dport: 80, flags: 0x02 }, bytesOf('GET / HTTP/1.1\r\n')));
const innerUdp = ipv4({ ...A, proto: 17 }, udp({ sport: 5353, dport: 53 }, bytesOf('query')));
const innerIcmp = ipv4({ ...A, proto: 1 }, icmpEcho({ id: 7, seq: 1 }, bytesOf('ping')));
/** ICMP port unreachable quoting the TCP packet (the decoder reads the quoted headers). */
const icmpError = ipv4({ src: '192.168.77.12', dst: '10.91.0.2', proto: 1 }, concat([3, 3, 0, 0, 0, 0, 0, 0], innerTcp.subarray(0, 28)));
const vxlanPacket = ipv4({ src: '192.168.77.11', dst: '192.168.77.12', proto: 17 }, udp({ sport: 51000, dport: 4789 }, vxlan(4096, ethernet({}, innerTcp))));
const ipipPacket = ipv4({ src: '192.168.77.11', dst: '192.168.77.12', proto: 4 }, innerIcmp);
const grePacket = ipv4({ src: '192.168.77.11', dst: '192.168.77.12', proto: 47 }, gre(0x0800, innerUdp, 42));
const greTebPacket = ipv4({ src: '192.168.77.11', dst: '192.168.77.12', proto: 47 }, gre(0x6558, ethernet({}, innerTcp)));
const genevePacket = ipv4({ src: '192.168.77.11', dst: '192.168.77.12', proto: 17 }, udp({ sport: 51000, dport: 6081 }, geneve(99, 0x6558, ethernet({}, innerIcmp))));
const v6Tcp = ipv6({ next: 6 }, tcp({ sport: 443, dport: 50000, flags: 0x12 }));
/** Hop-by-hop then destination options then ICMPv6 echo. */
const v6Ext = ipv6({ next: 0 }, concat([60, 0, 1, 4, 0, 0, 0, 0], [58, 0, 1, 4, 0, 0, 0, 0], [128, 0, 0, 0, 0, 1, 0, 1]));
const v6InV4 = ipv4({ src: '192.168.77.11', dst: '192.168.77.12', proto: 41 }, v6Tcp);

/** Network-layer packets (IPv4 or IPv6 first byte). */
const IP_PACKETS: readonly Uint8Array[] = [innerTcp, innerUdp, innerIcmp, icmpError, vxlanPacket, ipipPacket, grePacket, greTebPacket, genevePacket, v6Tcp, v6Ext, v6InV4];

/** The packet framed for a link type, the way a capture of that type holds it. */
function framed(linkType: number, ip: Uint8Array): Uint8Array {
  const v6 = ip[0]! >> 4 === 6;
  const etherType = v6 ? 0x86dd : 0x0800;
  switch (linkType) {
    case LinkTypes.LINKTYPE_NULL:
      return concat(v6 ? [30, 0, 0, 0] : [2, 0, 0, 0], ip); // host (little-endian) order
    case LinkTypes.LINKTYPE_LOOP:
      return concat(v6 ? [0, 0, 0, 30] : [0, 0, 0, 2], ip);
    case LinkTypes.LINKTYPE_ETHERNET:
      return concat([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x81, 0x00, 0, 7], be16(etherType), ip); // one VLAN tag
    case LinkTypes.LINKTYPE_LINUX_SLL:
      return concat([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0], be16(etherType), ip);
    case LinkTypes.LINKTYPE_LINUX_SLL2:
      return sll2({ ifindex: 3, packetType: 0, protocol: etherType }, ip);
    default:
      return ip; // RAW, IPV4, IPV6
  }
}

// --- mutations --------------------------------------------------------------------------------


/** The per-packet decode of data[offset, offset+length) within the budget, with a valid status. */
function checkDecode(dec: EngineDecoder, data: Uint8Array, offset: number, length: number, linkType: number): void {
  let status = -1;
  const ms = withinBudget(DECODE_BUDGET_MS, () => {
    status = dec.decodeInto(data, offset, length, linkType);
  });
  if (!VALID_STATUS.has(status)) expect.fail(`link type ${linkType}: status ${status}`);
  if (ms > DECODE_BUDGET_MS) expect.fail(`link type ${linkType}: decode took ${ms.toFixed(1)} ms (budget ${DECODE_BUDGET_MS}) on ${Buffer.from(data.subarray(offset, offset + length)).toString('hex')}`);
}

describe('the decoder under hostile input', () => {
  it('knows the link types this test covers', () => {
    expect([...LINK_TYPES].sort((a, b) => a - b)).toEqual(expect.arrayContaining([0, 1, 101, 108, 113, 228, 229, 276]));
  });

  it('decodes every built packet on every link type without anomalies (the mutations start from valid input)', () => {
    const dec = new EngineDecoder();
    for (const lt of LINK_TYPES) {
      for (const ip of IP_PACKETS) {
        const v6 = ip[0]! >> 4 === 6;
        if ((lt === LinkTypes.LINKTYPE_IPV4 && v6) || (lt === LinkTypes.LINKTYPE_IPV6 && !v6)) continue;
        const f = framed(lt, ip);
        expect(dec.decode(f, 0, f.length, lt), `link type ${lt}, ${Buffer.from(ip).toString('hex')}`).toBe(DecodeStatus.Ok);
      }
    }
  });

  for (const lt of LINK_TYPES) {
    it(`link type ${lt}: mutated packets never throw and return within ${DECODE_BUDGET_MS} ms`, () => {
      const dec = new EngineDecoder();
      fc.assert(
        fc.property(fc.constantFrom(...IP_PACKETS), fc.array(mutation, { minLength: 1, maxLength: 6 }), (ip, muts) => {
          const data = mutate(framed(lt, ip), muts);
          checkDecode(dec, data, 0, data.length, lt);
        }),
        { numRuns: 1500 },
      );
    });
  }

  it('arbitrary bytes at any position of a larger buffer, on every link type and unknown ones', () => {
    const dec = new EngineDecoder();
    const linkType = fc.oneof(fc.constantFrom(...LINK_TYPES), fc.integer({ min: 0, max: 0xffffffff }));
    fc.assert(
      fc.property(linkType, fc.uint8Array({ maxLength: 600 }), fc.nat(), fc.nat(), (lt, data, a, b) => {
        const offset = data.length === 0 ? 0 : a % (data.length + 1);
        const length = (data.length - offset === 0 ? 0 : b % (data.length - offset + 1));
        checkDecode(dec, data, offset, length, lt);
      }),
      { numRuns: 3000 },
    );
  });

  it('tunnels nested as deep as bytes allow end within the budget (the layer walk is bounded)', () => {
    // 200 IPIP headers, 200 GRE-in-IPv4 and 100 VXLAN layers: far past any real packet.
    const dec = new EngineDecoder();
    let ipip: Uint8Array = innerTcp;
    for (let i = 0; i < 200; i++) ipip = ipv4({ src: '192.168.77.11', dst: '192.168.77.12', proto: 4 }, ipip);
    let greDeep: Uint8Array = innerUdp;
    for (let i = 0; i < 200; i++) greDeep = ipv4({ src: '192.168.77.11', dst: '192.168.77.12', proto: 47 }, gre(0x0800, greDeep));
    let vx: Uint8Array = innerTcp;
    for (let i = 0; i < 100; i++) vx = ipv4({ src: '192.168.77.11', dst: '192.168.77.12', proto: 17 }, udp({ sport: 1, dport: 4789 }, vxlan(i, ethernet({}, vx))));
    // IPv6 with 2000 hop-by-hop headers chained.
    let ext: Uint8Array = new Uint8Array([128, 0, 0, 0, 0, 1, 0, 1]);
    let next = 58;
    for (let i = 0; i < 2000; i++) {
      ext = concat([next, 0, 1, 4, 0, 0, 0, 0], ext);
      next = 0;
    }
    const v6Deep = ipv6({ next: 0 }, ext.subarray(0, Math.min(ext.length, 0xffff)));
    for (const p of [ipip, greDeep, vx, v6Deep]) {
      for (const lt of LINK_TYPES) {
        const f = framed(lt, p);
        checkDecode(dec, f, 0, f.length, lt);
      }
    }
  });

  it('allocates nothing per packet, whatever the bytes', () => {
    const dec = new EngineDecoder();
    // Inputs prepared up front: the measured loop only decodes.
    const inputs = fc.sample(
      fc.tuple(fc.constantFrom(...LINK_TYPES), fc.constantFrom(...IP_PACKETS), fc.array(mutation, { maxLength: 4 })).map(([lt, ip, m]) => ({ lt, data: mutate(framed(lt, ip), m) })),
      { numRuns: 2000, seed: 7 },
    );
    const random = fc.sample(fc.tuple(fc.constantFrom(...LINK_TYPES), fc.uint8Array({ maxLength: 200 })), { numRuns: 1000, seed: 8 }).map(([lt, data]) => ({ lt, data }));
    const all = [...inputs, ...random];
    const calls = 20_000;
    const bytes = youngAllocation((i) => {
      const x = all[i % all.length]!;
      dec.decodeInto(x.data, 0, x.data.length, x.lt);
    }, calls);
    // A single small object per packet would be 16+ bytes x 20,000 = 320 KB; allow a little noise.
    expect(bytes, `${bytes} bytes for ${calls} decodes`).toBeLessThan(64 * 1024);
    // Control: the test form of the same call (decodeForTest, which builds a view object per packet)
    // is seen allocating far more than that bound allows per call (fewer calls, so a sample fits
    // between two scavenges).
    const full = new EngineDecoder();
    const controlCalls = 2000;
    const viewBytes = youngAllocation((i) => {
      const x = all[i % all.length]!;
      full.decode(x.data, 0, x.data.length, x.lt);
    }, controlCalls);
    expect(viewBytes / controlCalls, `${viewBytes} bytes for ${controlCalls} decodes with a view`).toBeGreaterThan((10 * 64 * 1024) / calls);
  });
});
