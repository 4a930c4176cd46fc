/**
 * The engine matches the kernel's drop events to vanished packets by fingerprint (issue 15,
 * native/engine/kernel_drops.h): a drop counts for exactly the packet it freed, never for another
 * packet of the same flow, once only, and not after it aged out. Events are built byte for byte as
 * the BPF program writes them (struct pw_drop_event, native/bpf/drop_event.h), so this runs without
 * root; test/agent/kernel/live-kernel-match.test.ts does the same with the kernel's own events.
 */
import { describe, expect, it } from 'vitest';
import { CaptureRecord, Direction } from '../../agent/capture/capture-record.js';
import { LINKTYPE_ETHERNET } from '../../agent/decode/link-types.js';
import { InterfaceRegistry } from '../../agent/flow/interface-registry.js';
import { nativeAddon } from '../../agent/native/native-addon.js';
import { NativeSightingPipeline } from '../../agent/native/native-sighting-pipeline.js';
import type { KernelDropNaming } from '../../agent/native/node-findings-native.js';
import { OTHER_KERNEL_REASONS } from '../../core/findings/kernel-evidence.js';
import type { CaptureBinding } from '../../agent/native/pipeline-config.js';
import { bytesOf, ethernet, icmpEcho, ipv4, tcp } from '../support/packet-builder.js';

const T = 1_790_000_000_000;
const IFACES = ['eth0', 'tunl0', 'cali0123456789a'] as const;
const REASONS = new Map([
  [2, 'NOT_SPECIFIED'],
  [5, 'NO_SOCKET'],
  [16, 'IP_RPFILTER'],
  [17, 'NETFILTER_DROP'],
  [30, 'IP_INNOROUTES'],
]);
const NAMING: KernelDropNaming = { reasonName: (code) => REASONS.get(code) ?? `REASON_${code}`, isGeneric: (name) => name === 'NOT_SPECIFIED' };
const EVENT_BYTES: number = nativeAddon().DROP_EVENT_BYTES;

const ping = (seq: number, src = '100.64.0.1', dst = '10.91.1.130') => ipv4({ src, dst, proto: 1, id: 1000 + seq }, icmpEcho({ id: 7, seq }, bytesOf(`payload ${seq} .......`)));

interface Drop {
  readonly packet: Uint8Array;
  readonly reason: number;
  readonly location?: bigint;
  /** ETH_P_IP unless given. */
  readonly protocol?: number;
  /**
   * The socket buffer's linear bytes from the network header, when fewer than the packet's (GRO
   * aggregates, TCP data in pages): the program copies those, then whatever the buffer holds.
   */
  readonly linear?: number;
}

/** Events as the BPF program writes them: location, reason, ifindex, netns, iif, len, protocol (network order), copied, bytes. */
function dropEvents(drops: readonly Drop[]): Uint8Array {
  const out = new Uint8Array(drops.length * EVENT_BYTES);
  const view = new DataView(out.buffer);
  drops.forEach((d, i) => {
    const b = i * EVENT_BYTES;
    view.setBigUint64(b, d.location ?? 0xffffffff81a00000n, true);
    view.setUint32(b + 8, d.reason, true);
    view.setUint32(b + 12, 7, true);
    view.setUint32(b + 16, 4026531840, true);
    view.setUint32(b + 20, 7, true);
    view.setUint32(b + 24, d.packet.length, true);
    view.setUint16(b + 28, d.protocol ?? 0x0800, false);
    const copied = Math.min(128, d.packet.length, d.linear ?? Infinity);
    view.setUint16(b + 30, copied, true);
    out.set(d.packet.subarray(0, copied), b + 32);
    // Past the packet's end the kernel's buffer holds whatever was there: never part of the match.
    out.fill(0xa5, b + 32 + copied, b + 32 + 128);
  });
  return out;
}

function node() {
  const registry = new InterfaceRegistry();
  const n = registry.node('n1');
  n.coversAllInterfaces = true;
  const ids = IFACES.map((name) => registry.interface('n1', name).id);
  const pipeline = new NativeSightingPipeline(registry, {});
  const binding: CaptureBinding = { node: 'n1', ifaceByCaptureInterface: ids, ifnameByIndex: new Map(), ifaceByIfindex: new Int32Array(0) };
  const record = new CaptureRecord();
  const arrive = (iface: (typeof IFACES)[number], ms: number, l3: Uint8Array): void => {
    const frame = ethernet({ src: [2, 0, 0, 0, 0, 1], dst: [2, 0, 0, 0, 0, 2] }, l3);
    record.data = frame;
    record.offset = 0;
    record.caplen = record.origlen = frame.length;
    record.linkType = LINKTYPE_ETHERNET;
    record.interfaceId = IFACES.indexOf(iface);
    record.direction = Direction.In;
    record.tsSec = Math.floor((T + ms) / 1000);
    record.tsNsec = Math.round(((T + ms) % 1000) * 1e6);
    pipeline.onRecord(record, binding);
  };
  const matcher = () => pipeline.matcher(n.index);
  const kernelDrops = (drops: readonly Drop[], atMs: number): number => matcher().addKernelDrops(dropEvents(drops), drops.length, EVENT_BYTES, T + atMs);
  const take = (ms: number) => {
    pipeline.finish(T + ms);
    return matcher().takeFindings(T + ms, NAMING);
  };
  return { arrive, kernelDrops, take, expire: (ms: number) => matcher().expire(T + ms) };
}

describe('kernel drops matched to vanished packets by fingerprint', () => {
  it('counts exactly the packets whose own drop event came, by reason', () => {
    const n = node();
    for (let seq = 1; seq <= 6; seq++) n.arrive('tunl0', seq, ping(seq));
    // Drops for packets 1-4 (rp_filter) and 5 (netfilter); none for 6; one for a packet never captured.
    expect(n.kernelDrops([1, 2, 3, 4].map((seq) => ({ packet: ping(seq), reason: 16 })), 10)).toBe(4);
    expect(n.kernelDrops([{ packet: ping(5), reason: 17 }, { packet: ping(99), reason: 16 }], 11)).toBe(2);
    const f = n.take(5000);
    expect(f.candidates).toHaveLength(1);
    const c = f.candidates[0];
    expect(c?.packets).toBe(6);
    expect(c?.kernel).toEqual({ dropReasons: { IP_RPFILTER: 4, NETFILTER_DROP: 1 } });
  });

  it('never lends one packet\'s drop to another packet of the same flow', () => {
    const n = node();
    const flow = (seq: number) => ipv4({ src: '100.64.0.1', dst: '10.91.1.130', proto: 6, id: 500 + seq }, tcp({ sport: 40000, dport: 22, seq: seq * 1000 }, bytesOf(`segment ${seq} ....................`)));
    for (let seq = 1; seq <= 3; seq++) n.arrive('tunl0', seq, flow(seq));
    // The kernel dropped a fourth segment of the same 5-tuple that no capture saw.
    n.kernelDrops([{ packet: flow(4), reason: 16 }], 5);
    const c = n.take(5000).candidates[0];
    expect(c?.packets).toBe(3);
    expect(c?.kernel).toBeUndefined();
  });

  it('identical packets (a retransmission repeating every byte read) each match a drop of their own, never one drop twice', () => {
    const n = node();
    // Three copies of one packet, far enough apart to be three packets; the kernel dropped two.
    for (const ms of [0, 1000, 2000]) n.arrive('tunl0', ms, ping(1));
    n.kernelDrops([{ packet: ping(1), reason: 16 }], 10);
    n.kernelDrops([{ packet: ping(1), reason: 16 }], 1010);
    const c = n.take(8000).candidates[0];
    expect(c?.packets).toBe(3);
    expect(c?.kernel).toEqual({ dropReasons: { IP_RPFILTER: 2 } });
  });

  it('a drop whose payload was not in the copied bytes matches its packet by the headers alone, never another segment', () => {
    const n = node();
    // The monitor started before the traffic (the live agent hands over no events at once).
    expect(n.kernelDrops([], 0)).toBe(0);
    const segment = (seq: number) => ipv4({ src: '100.64.0.1', dst: '10.91.1.130', proto: 6, id: 700 + seq }, tcp({ sport: 40000, dport: 80, seq: seq * 1448 }, bytesOf(`data ${seq} `.padEnd(200, '.'))));
    for (let seq = 1; seq <= 3; seq++) n.arrive('eth0', seq, segment(seq));
    // Headers only before the buffer's tail (20 + 20 bytes): segments 1 and 2 dropped, and one never captured.
    const headersOnly = (seq: number) => ({ packet: segment(seq), reason: 16, linear: 40 });
    expect(n.kernelDrops([headersOnly(1), headersOnly(2), headersOnly(9)], 5)).toBe(3);
    const c = n.take(5000).candidates[0];
    expect(c?.packets).toBe(3);
    expect(c?.kernel).toEqual({ dropReasons: { IP_RPFILTER: 2 } });
    // Headers cut inside the TCP header: nothing to fingerprint, skipped as before.
    expect(node().kernelDrops([{ packet: segment(1), reason: 16, linear: 30 }], 5)).toBe(0);
  });

  it('keeps where the kernel freed packets of a generic reason, as an address', () => {
    const n = node();
    n.arrive('eth0', 1, ping(1));
    n.arrive('eth0', 2, ping(2));
    n.kernelDrops([{ packet: ping(1), reason: 2, location: 0xffffffff81b2c3d4n }, { packet: ping(2), reason: 2, location: 0xffffffff81b2c3d4n }], 3);
    const c = n.take(5000).candidates[0];
    expect(c?.kernel).toEqual({ dropReasons: { NOT_SPECIFIED: 2 }, dropLocations: { NOT_SPECIFIED: '0xffffffff81b2c3d4' } });
  });

  it('names two reasons and counts the packets of any further reason together', () => {
    const n = node();
    for (let seq = 1; seq <= 4; seq++) n.arrive('tunl0', seq, ping(seq));
    n.kernelDrops([16, 17, 30, 5].map((reason, i) => ({ packet: ping(i + 1), reason })), 5);
    expect(n.take(5000).candidates[0]?.kernel?.dropReasons).toEqual({ IP_RPFILTER: 1, NETFILTER_DROP: 1, [OTHER_KERNEL_REASONS]: 2 });
  });

  it('skips events without an IP packet, and events whose bytes are cut too short to fingerprint', () => {
    const n = node();
    n.arrive('tunl0', 1, ping(1));
    const arp = { packet: new Uint8Array(28).fill(1), reason: 2, protocol: 0x0806 };
    const cut = { packet: ping(1).subarray(0, 22), reason: 16 };
    expect(n.kernelDrops([arp, cut], 2)).toBe(0);
    expect(n.take(5000).candidates[0]?.kernel).toBeUndefined();
  });

  it('a drop handed over after its packet was evaluated, or long after it happened, does not match', () => {
    const n = node();
    n.arrive('tunl0', 1, ping(1));
    n.expire(2000);
    n.kernelDrops([{ packet: ping(1), reason: 16 }], 2100);
    expect(n.take(5000).candidates[0]?.kernel).toBeUndefined();
    // A drop kept for a packet that arrives much later: gone after two generations (10 s + window each).
    const m = node();
    m.kernelDrops([{ packet: ping(2), reason: 16 }], 0);
    m.kernelDrops([{ packet: ping(3), reason: 16 }], 11_000);
    m.kernelDrops([{ packet: ping(4), reason: 16 }], 22_000);
    m.arrive('tunl0', 22_100, ping(2));
    m.arrive('tunl0', 22_200, ping(3));
    const c = m.take(30_000).candidates[0];
    expect(c?.packets).toBe(2);
    expect(c?.kernel).toEqual({ dropReasons: { IP_RPFILTER: 1 } });
  });

  it('refuses events it cannot read, with a one-line error', () => {
    const n = node();
    const addon = nativeAddon();
    expect(() => n.kernelDrops([], 0)).not.toThrow();
    const short = new Uint8Array(EVENT_BYTES);
    const registry = new InterfaceRegistry();
    registry.node('n1');
    const pipeline = new NativeSightingPipeline(registry, {});
    const matcher = pipeline.matcher(0);
    expect(() => matcher.addKernelDrops(short, 2, EVENT_BYTES, T)).toThrow(/fewer than count events/);
    expect(() => matcher.addKernelDrops(short, 1, 8, T)).toThrow(/eventBytes/);
    expect(addon.DROP_EVENT_BYTES).toBe(160);
  });
});
