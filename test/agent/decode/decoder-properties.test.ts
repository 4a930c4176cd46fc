/**
 * Property tests for the native engine's decoder (fast-check), through the test binding
 * test/support/engine-decoder.ts:
 *  - arbitrary bytes on every link type never throw and give a valid status;
 *  - generated well-formed packets (random link, VLAN tags, IPv4/IPv6 with options or extension
 *    headers, up to three nested tunnels of any kind, TCP/UDP/ICMP) decode to exactly what was built;
 *  - byte flips and truncations of those packets never throw; a truncation is always Truncated and
 *    keeps every field that was captured;
 *  - the decoder keeps no state between packets: A, garbage, A gives the same view twice;
 *  - bytes outside [offset, offset + length) never influence the view.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeStatus, EncapKind, EngineDecoder } from '../../support/engine-decoder.js';
import {
  MAC_A,
  OFFSET_FIELDS,
  be16,
  be32,
  bytes,
  ethernet,
  snapshotView,
  sll,
  sll2,
  tcp,
  udp,
  vlanTag,
  vxlan,
  geneve,
  icmpEcho,
} from './decode-test-helpers.js';

const LINK_TYPES = [0, 1, 101, 108, 113, 228, 229, 276] as const;
const VALID_STATUS = new Set<number>([DecodeStatus.Ok, DecodeStatus.Truncated, DecodeStatus.NotIp, DecodeStatus.Malformed, DecodeStatus.UndecodedTunnel]);
const RUNS = 1000;

/** Consistency between the status and the view that must hold for any input (plain checks: hot). */
function checkInvariants(dec: EngineDecoder, status: DecodeStatus, length: number): void {
  const v = dec.view;
  const problems: string[] = [];
  if (!VALID_STATUS.has(status)) problems.push(`status ${status}`);
  if (status === DecodeStatus.Ok && ((v.ipVersion !== 4 && v.ipVersion !== 6) || v.truncated !== 0 || v.malformed !== 0)) problems.push('Ok without a clean IP packet');
  if (status === DecodeStatus.NotIp && (v.ipVersion !== 0 || v.truncated !== 0 || v.malformed !== 0)) problems.push('NotIp with IP or anomalies');
  if (status === DecodeStatus.Truncated && v.truncated !== 1) problems.push('Truncated without view.truncated');
  if (status === DecodeStatus.Malformed && v.malformed !== 1) problems.push('Malformed without view.malformed');
  if (status === DecodeStatus.UndecodedTunnel && (v.ipVersion !== 0 || v.encapDepth === 0 || v.undecodedTunnel === 0)) problems.push('UndecodedTunnel without a tunnel layer and a reason, or with an inner packet');
  if (v.undecodedTunnel !== 0 && (v.encapDepth === 0 || v.ipVersion !== 0)) problems.push('an undecoded tunnel payload outside a tunnel, or with an inner packet');
  if (v.encapDepth < 0 || v.encapDepth > v.encapKind.length) problems.push(`encapDepth ${v.encapDepth}`);
  // Offsets stay inside the packet.
  for (const f of OFFSET_FIELDS) {
    const o = v[f];
    if (o < -1 || o > length) problems.push(`${f} ${o} outside [0, ${length}]`);
  }
  if (v.payloadOffset !== -1 && v.payloadEnd < v.payloadOffset) problems.push('payloadEnd < payloadOffset');
  if (v.l4Valid === 1 && v.l4Offset < 0) problems.push('l4Valid without l4Offset');
  if (problems.length > 0) expect(problems).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// A generator of well-formed packets together with what the decoder must report for them.
// ---------------------------------------------------------------------------------------------

type IpSpec =
  | { v: 4; src: number[]; dst: number[]; ttl: number; id: number; optWords: number }
  | { v: 6; src: number[]; dst: number[]; ttl: number; flow: number; hbh: boolean; destOpts: boolean };
type TunnelSpec =
  | { kind: 'ipip' }
  | { kind: 'gre'; key: number | null; teb: boolean }
  | { kind: 'vxlan'; vni: number; port: number; sport: number }
  | { kind: 'geneve'; vni: number; optWords: number; teb: boolean; sport: number };
type L4Spec =
  | { kind: 'tcp'; sport: number; dport: number; flags: number; seq: number; ack: number; payload: number }
  | { kind: 'udp'; sport: number; dport: number; payload: number }
  | { kind: 'icmp'; id: number; seq: number };
type LinkSpec = { kind: 'eth'; vlans: number[] } | { kind: 'sll' } | { kind: 'sll2'; ifindex: number } | { kind: 'raw' } | { kind: 'null' } | { kind: 'ipv' };

interface PacketSpec {
  link: LinkSpec;
  ips: IpSpec[]; // outermost first; ips.length === tunnels.length + 1
  tunnels: TunnelSpec[];
  l4: L4Spec;
}

const byte = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const addr4 = fc.array(byte, { minLength: 4, maxLength: 4 });
const addr6 = fc.array(byte, { minLength: 16, maxLength: 16 });
/** Ports that no tunnel listens on (so an inner UDP packet is not taken for a tunnel). */
const plainPort = fc.integer({ min: 0, max: 0xffff }).filter((p) => p !== 4789 && p !== 8472 && p !== 6081);

const ipSpec: fc.Arbitrary<IpSpec> = fc.oneof(
  fc.record({ v: fc.constant(4 as const), src: addr4, dst: addr4, ttl: byte, id: u16, optWords: fc.integer({ min: 0, max: 10 }) }),
  fc.record({ v: fc.constant(6 as const), src: addr6, dst: addr6, ttl: byte, flow: fc.integer({ min: 0, max: 0xfffff }), hbh: fc.boolean(), destOpts: fc.boolean() }),
);
const tunnelSpec: fc.Arbitrary<TunnelSpec> = fc.oneof(
  fc.constant({ kind: 'ipip' as const }),
  fc.record({ kind: fc.constant('gre' as const), key: fc.option(u32, { nil: null }), teb: fc.boolean() }),
  fc.record({ kind: fc.constant('vxlan' as const), vni: fc.integer({ min: 0, max: 0xffffff }), port: fc.constantFrom(4789, 8472), sport: u16 }),
  fc.record({ kind: fc.constant('geneve' as const), vni: fc.integer({ min: 0, max: 0xffffff }), optWords: fc.integer({ min: 0, max: 6 }), teb: fc.boolean(), sport: u16 }),
);
const l4Spec: fc.Arbitrary<L4Spec> = fc.oneof(
  fc.record({ kind: fc.constant('tcp' as const), sport: u16, dport: u16, flags: byte, seq: u32, ack: u32, payload: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ kind: fc.constant('udp' as const), sport: u16, dport: plainPort, payload: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ kind: fc.constant('icmp' as const), id: u16, seq: u16 }),
);
const linkSpec: fc.Arbitrary<LinkSpec> = fc.oneof(
  fc.record({ kind: fc.constant('eth' as const), vlans: fc.array(fc.integer({ min: 0, max: 4095 }), { maxLength: 3 }) }),
  fc.constant({ kind: 'sll' as const }),
  fc.record({ kind: fc.constant('sll2' as const), ifindex: u32 }),
  fc.constant({ kind: 'raw' as const }),
  fc.constant({ kind: 'null' as const }),
  fc.constant({ kind: 'ipv' as const }),
);
const packetSpec: fc.Arbitrary<PacketSpec> = fc
  .record({ link: linkSpec, tunnels: fc.array(tunnelSpec, { maxLength: 3 }), l4: l4Spec, ipPool: fc.array(ipSpec, { minLength: 4, maxLength: 4 }) })
  .map(({ link, tunnels, l4, ipPool }) => ({ link, tunnels, l4, ips: ipPool.slice(0, tunnels.length + 1) }));

function etherTypeOf(ip: IpSpec): number {
  return ip.v === 4 ? 0x0800 : 0x86dd;
}

function buildIp(ip: IpSpec, proto: number, payload: Uint8Array): Uint8Array {
  if (ip.v === 4) {
    const opts = new Array<number>(ip.optWords * 4).fill(0x01); // NOP options
    const hl = 20 + opts.length;
    return bytes([0x40 | (hl >> 2), 0], be16(hl + payload.length), be16(ip.id), [0x40, 0x00, ip.ttl, proto, 0, 0], ip.src, ip.dst, opts, payload);
  }
  // Extension headers: Hop-by-Hop then Destination Options, each 8 bytes of PadN.
  let next = proto;
  let body = payload;
  if (ip.destOpts) {
    body = bytes([next, 0, 0x01, 0x04, 0, 0, 0, 0], body);
    next = 60;
  }
  if (ip.hbh) {
    body = bytes([next, 0, 0x01, 0x04, 0, 0, 0, 0], body);
    next = 0;
  }
  return bytes(be32(((6 << 28) | ip.flow) >>> 0), be16(body.length), [next, ip.ttl], ip.src, ip.dst, body);
}

interface Built {
  spec: PacketSpec;
  linkType: number;
  data: Uint8Array;
}

function buildPacket(spec: PacketSpec): Built {
  const inner = spec.ips[spec.ips.length - 1] as IpSpec;
  let proto: number;
  let payload: Uint8Array;
  const l4 = spec.l4;
  if (l4.kind === 'tcp') {
    proto = 6;
    payload = tcp(l4.sport, l4.dport, l4.flags, new Array<number>(l4.payload).fill(0x61), l4.seq, l4.ack);
  } else if (l4.kind === 'udp') {
    proto = 17;
    payload = udp(l4.sport, l4.dport, new Array<number>(l4.payload).fill(0x62));
  } else {
    proto = inner.v === 4 ? 1 : 58;
    payload = icmpEcho(inner.v === 4 ? 8 : 128, l4.id, l4.seq);
  }
  let pkt = buildIp(inner, proto, payload);
  for (let i = spec.tunnels.length - 1; i >= 0; i--) {
    const t = spec.tunnels[i] as TunnelSpec;
    const carried = spec.ips[i + 1] as IpSpec;
    const outer = spec.ips[i] as IpSpec;
    switch (t.kind) {
      case 'ipip':
        pkt = buildIp(outer, carried.v === 4 ? 4 : 41, pkt);
        break;
      case 'gre': {
        const protocol = t.teb ? 0x6558 : etherTypeOf(carried);
        const body = t.teb ? ethernet(etherTypeOf(carried), pkt) : pkt;
        const hdr = t.key === null ? bytes([0x00, 0x00], be16(protocol)) : bytes([0x20, 0x00], be16(protocol), be32(t.key));
        pkt = buildIp(outer, 47, bytes(hdr, body));
        break;
      }
      case 'vxlan':
        pkt = buildIp(outer, 17, udp(t.sport, t.port, vxlan(t.vni, ethernet(etherTypeOf(carried), pkt))));
        break;
      case 'geneve': {
        const protocol = t.teb ? 0x6558 : etherTypeOf(carried);
        const body = t.teb ? ethernet(etherTypeOf(carried), pkt) : pkt;
        pkt = buildIp(outer, 17, udp(t.sport, 6081, geneve(t.vni, protocol, body, new Array<number>(t.optWords * 4).fill(0))));
        break;
      }
    }
  }
  const outerIp = spec.ips[0] as IpSpec;
  switch (spec.link.kind) {
    case 'eth': {
      const tags: number[] = [];
      const vl = spec.link.vlans;
      for (let i = 0; i < vl.length; i++) tags.push(...vlanTag(vl[i] as number, i + 1 < vl.length ? 0x8100 : etherTypeOf(outerIp)));
      return { spec, linkType: 1, data: ethernet(vl.length > 0 ? 0x88a8 : etherTypeOf(outerIp), bytes(tags, pkt)) };
    }
    case 'sll':
      return { spec, linkType: 113, data: sll(etherTypeOf(outerIp), 0, pkt) };
    case 'sll2':
      return { spec, linkType: 276, data: sll2(etherTypeOf(outerIp), spec.link.ifindex, 4, pkt) };
    case 'raw':
      return { spec, linkType: 101, data: pkt };
    case 'null':
      return { spec, linkType: 0, data: bytes(outerIp.v === 4 ? [2, 0, 0, 0] : [30, 0, 0, 0], pkt) };
    case 'ipv':
      return { spec, linkType: outerIp.v === 4 ? 228 : 229, data: pkt };
  }
}

const builtPacket = packetSpec.map(buildPacket);

function wordsOf(addr: number[]): number[] {
  if (addr.length === 4) return [(((addr[0] as number) << 24) | ((addr[1] as number) << 16) | ((addr[2] as number) << 8) | (addr[3] as number)) >>> 0, 0, 0, 0];
  const w: number[] = [];
  for (let i = 0; i < 16; i += 4) w.push((((addr[i] as number) << 24) | ((addr[i + 1] as number) << 16) | ((addr[i + 2] as number) << 8) | (addr[i + 3] as number)) >>> 0);
  return w;
}

const KIND: Record<TunnelSpec['kind'], EncapKind> = { ipip: EncapKind.IpInIp, gre: EncapKind.Gre, vxlan: EncapKind.Vxlan, geneve: EncapKind.Geneve };

function decodeWhole(dec: EngineDecoder, b: Built, length = b.data.length): DecodeStatus {
  return dec.decode(b.data, 0, length, b.linkType);
}

// =============================================================================================

describe('arbitrary bytes', () => {
  for (const lt of LINK_TYPES) {
    it(`link type ${lt}: never throws, valid status and view`, () => {
      const dec = new EngineDecoder();
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
          const status = dec.decode(data, 0, data.length, lt);
          checkInvariants(dec, status, data.length);
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('a random link type: never throws, valid status', () => {
    const dec = new EngineDecoder();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 200 }), (lt, data) => {
        const status = dec.decode(data, 0, data.length, lt);
        checkInvariants(dec, status, data.length);
        if (!(LINK_TYPES as readonly number[]).includes(lt)) expect(status).toBe(DecodeStatus.NotIp);
      }),
      { numRuns: RUNS },
    );
  });

  it('bytes after a plausible header prefix (Ethernet/IPv4, IPv6, tunnels) never throw', () => {
    // Random bytes rarely get past the first header; fix the start so the deeper decoders see garbage.
    const prefixes: Array<[number, number[]]> = [
      [1, [...MAC_A, ...MAC_A, 0x08, 0x00]],
      [1, [...MAC_A, ...MAC_A, 0x86, 0xdd, 0x60]],
      [1, [...MAC_A, ...MAC_A, 0x81, 0x00]],
      [101, [0x45, 0x00]],
      [101, [0x45, 0x00, 0x00, 0x00, 0, 0, 0, 0, 64, 47]], //   GRE, total length 0 (use captured length)
      [101, [0x45, 0x00, 0x00, 0x00, 0, 0, 0, 0, 64, 4]], //    IPIP
      [101, [0x45, 0x00, 0x00, 0x00, 0, 0, 0, 0, 64, 17, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 1, 0x12, 0xb5, 0, 0, 0, 0, 0x08]], // VXLAN
      [101, [0x45, 0x00, 0x00, 0x00, 0, 0, 0, 0, 64, 17, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 1, 0x17, 0xc1, 0, 0, 0, 0]], // Geneve
      [101, [0x45, 0x00, 0x00, 0x00, 0, 0, 0, 0, 64, 1, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0]], // ICMP unreachable
      [229, [0x60, 0, 0, 0, 0, 0, 0]], //                             IPv6, payload length 0, next header HBH
      [229, [0x60, 0, 0, 0, 0, 0, 58, 64, ...new Array<number>(32).fill(0), 1, 0, 0, 0, 0, 0, 0, 0]], // ICMPv6 unreachable
    ];
    const dec = new EngineDecoder();
    fc.assert(
      fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 300 }), ([lt, prefix], rest) => {
        const data = bytes(prefix, rest);
        const status = dec.decode(data, 0, data.length, lt);
        checkInvariants(dec, status, data.length);
      }),
      { numRuns: RUNS * 3 },
    );
  });
});

describe('generated well-formed packets', () => {
  it('decode to exactly what was built', () => {
    const dec = new EngineDecoder();
    fc.assert(
      fc.property(builtPacket, (b) => {
        const status = decodeWhole(dec, b);
        const v = dec.view;
        const { spec } = b;
        expect(status).toBe(DecodeStatus.Ok);
        expect(dec.events.toRecord()).toEqual({});
        expect(v.linkType).toBe(b.linkType);
        expect(v.encapDepth).toBe(spec.tunnels.length);
        for (let i = 0; i < spec.tunnels.length; i++) {
          const t = spec.tunnels[i] as TunnelSpec;
          const outer = spec.ips[i] as IpSpec;
          expect(v.encapKind[i]).toBe(KIND[t.kind]);
          expect(v.encapOuterVersion[i]).toBe(outer.v);
          expect(Array.from(v.encapOuterSrc.slice(i * 4, i * 4 + 4))).toEqual(wordsOf(outer.src));
          expect(Array.from(v.encapOuterDst.slice(i * 4, i * 4 + 4))).toEqual(wordsOf(outer.dst));
          const vni = t.kind === 'vxlan' || t.kind === 'geneve' ? t.vni : t.kind === 'gre' && t.key !== null ? t.key | 0 : -1;
          expect(v.encapVni[i]).toBe(vni);
        }
        const inner = spec.ips[spec.ips.length - 1] as IpSpec;
        expect(v.ipVersion).toBe(inner.v);
        expect(Array.from(v.src)).toEqual(wordsOf(inner.src));
        expect(Array.from(v.dst)).toEqual(wordsOf(inner.dst));
        expect(v.ttl).toBe(inner.ttl);
        if (inner.v === 4) expect(v.ipId).toBe(inner.id);
        else expect(v.flowLabel).toBe(inner.flow);
        expect(v.l4Valid).toBe(1);
        expect(v.payloadEnd).toBe(b.data.length);
        const l4 = spec.l4;
        if (l4.kind === 'tcp') {
          expect(v.proto).toBe(6);
          expect([v.sport, v.dport, v.tcpFlags, v.tcpSeq, v.tcpAck]).toEqual([l4.sport, l4.dport, l4.flags, l4.seq, l4.ack]);
          expect(v.payloadEnd - v.payloadOffset).toBe(l4.payload);
        } else if (l4.kind === 'udp') {
          expect(v.proto).toBe(17);
          expect([v.sport, v.dport, v.udpLength]).toEqual([l4.sport, l4.dport, 8 + l4.payload]);
          expect(v.payloadEnd - v.payloadOffset).toBe(l4.payload);
        } else {
          expect(v.proto).toBe(inner.v === 4 ? 1 : 58);
          expect([v.icmpType, v.icmpId, v.icmpSeq]).toEqual([inner.v === 4 ? 8 : 128, l4.id, l4.seq]);
        }
        if (spec.link.kind === 'eth') {
          expect(v.vlanDepth).toBe(spec.link.vlans.length);
          expect(v.vlanId).toBe(spec.link.vlans[0] ?? 0);
          expect(v.macDstOffset).toBe(0);
        }
        if (spec.link.kind === 'sll2') expect(v.linuxIfindex).toBe(spec.link.ifindex);
      }),
      { numRuns: RUNS },
    );
  });

  it('byte flips never throw and keep the invariants', () => {
    const dec = new EngineDecoder();
    const flips = fc.array(fc.record({ at: fc.nat(), value: byte }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(builtPacket, flips, (b, fl) => {
        const data = b.data.slice();
        for (const f of fl) data[f.at % data.length] = f.value;
        const status = dec.decode(data, 0, data.length, b.linkType);
        checkInvariants(dec, status, data.length);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('truncations are always Truncated and keep every field that was captured', () => {
    const full = new EngineDecoder();
    const cut = new EngineDecoder();
    fc.assert(
      fc.property(builtPacket, fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), (b, frac) => {
        const length = Math.floor(frac * b.data.length);
        expect(decodeWhole(full, b)).toBe(DecodeStatus.Ok);
        const status = decodeWhole(cut, b, length);
        checkInvariants(cut, status, length);
        expect(status).toBe(DecodeStatus.Truncated);
        const f = full.view;
        const c = cut.view;
        expect(c.encapDepth).toBeLessThanOrEqual(f.encapDepth);
        expect(c.vlanDepth).toBeLessThanOrEqual(f.vlanDepth);
        if (c.ipVersion !== 0 && c.encapDepth === f.encapDepth) {
          expect(Array.from(c.src)).toEqual(Array.from(f.src));
          expect(Array.from(c.dst)).toEqual(Array.from(f.dst));
        }
        // Cut after the innermost transport header: only the truncation marks and the payload end differ.
        if (f.payloadOffset !== -1 && length >= f.payloadOffset) {
          expect(snapshotView(c)).toEqual({ ...snapshotView(f), truncated: 1, payloadEnd: length });
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('no state between packets', () => {
  const garbage = fc.oneof(
    fc.record({ lt: fc.constantFrom(...LINK_TYPES), data: fc.uint8Array({ maxLength: 200 }) }),
    // Another well-formed packet, cut or flipped, so deep layers (tunnels, quoted packets) get filled.
    fc.tuple(builtPacket, fc.nat(), byte, fc.nat()).map(([b, at, value, cutAt]) => {
      const data = b.data.slice(0, 1 + (cutAt % b.data.length));
      data[at % data.length] = value;
      return { lt: b.linkType, data };
    }),
  );

  it('A, then garbage, then A again gives an identical view', () => {
    const dec = new EngineDecoder();
    fc.assert(
      fc.property(builtPacket, fc.array(garbage, { minLength: 1, maxLength: 3 }), (a, junk) => {
        const s1 = decodeWhole(dec, a);
        const first = snapshotView(dec.view);
        for (const g of junk) dec.decode(g.data, 0, g.data.length, g.lt);
        const s2 = decodeWhole(dec, a);
        expect(s2).toBe(s1);
        expect(snapshotView(dec.view)).toEqual(first);
      }),
      { numRuns: RUNS },
    );
  });

  it('the same holds for mutated (not well-formed) packets as A', () => {
    const dec = new EngineDecoder();
    fc.assert(
      fc.property(builtPacket, fc.nat(), byte, fc.array(garbage, { minLength: 1, maxLength: 3 }), (b, at, value, junk) => {
        const a = b.data.slice();
        a[at % a.length] = value;
        const s1 = dec.decode(a, 0, a.length, b.linkType);
        const first = snapshotView(dec.view);
        for (const g of junk) dec.decode(g.data, 0, g.data.length, g.lt);
        expect(dec.decode(a, 0, a.length, b.linkType)).toBe(s1);
        expect(snapshotView(dec.view)).toEqual(first);
      }),
      { numRuns: RUNS },
    );
  });

  it('a fresh decoder and a used one agree', () => {
    const used = new EngineDecoder();
    fc.assert(
      fc.property(garbage, builtPacket, (g, a) => {
        used.decode(g.data, 0, g.data.length, g.lt);
        const fresh = new EngineDecoder();
        expect(decodeWhole(used, a)).toBe(decodeWhole(fresh, a));
        expect(snapshotView(used.view)).toEqual(snapshotView(fresh.view));
      }),
      { numRuns: RUNS / 2 },
    );
  });
});

describe('bounds', () => {
  it('bytes outside [offset, offset + length) never change the view (offsets shift by the position)', () => {
    const a = new EngineDecoder();
    const b = new EngineDecoder();
    const sample = fc.oneof(
      builtPacket.map((p) => ({ lt: p.linkType, data: p.data })),
      fc.tuple(builtPacket, fc.nat()).map(([p, n]) => ({ lt: p.linkType, data: p.data.slice(0, n % (p.data.length + 1)) })),
      fc.record({ lt: fc.constantFrom(...LINK_TYPES), data: fc.uint8Array({ maxLength: 120 }) }),
    );
    fc.assert(
      fc.property(sample, fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), ({ lt, data }, before, after) => {
        const wrapped = bytes(before, data, after);
        const s1 = a.decode(data, 0, data.length, lt);
        const s2 = b.decode(wrapped, before.length, data.length, lt);
        expect(s2).toBe(s1);
        const expected = snapshotView(a.view);
        for (const f of OFFSET_FIELDS) {
          const o = expected[f] as number;
          if (o !== -1) expected[f] = o + before.length;
        }
        expect(snapshotView(b.view)).toEqual(expected);
        expect(b.events.toRecord()).toEqual(a.events.toRecord());
        a.events.counts.fill(0);
        b.events.counts.fill(0);
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
