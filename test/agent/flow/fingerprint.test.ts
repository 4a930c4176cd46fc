/**
 * The packet fingerprint the hop matcher pairs sightings by, as the native engine computes it
 * (native/engine/fingerprint.c, read through test/support/engine-decoder.ts): the same packet gives
 * the same number on every hop, through tunnels and NAT; different packets give different numbers.
 */
import { describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW } from '../../../agent/decode/link-types.js';
import { EngineDecoder } from '../../support/engine-decoder.js';
import { bytesOf, ethernet, icmpEcho, ipv4, sll2, tcp, udp, vxlan } from '../../support/packet-builder.js';

const decoder = new EngineDecoder();
const perPacket = new EngineDecoder();
/** The engine's fingerprint of the frame, which its per-packet path (decodeInto) must compute alike. */
function fp(frame: Uint8Array, linkType: number): number {
  decoder.decode(frame, 0, frame.length, linkType);
  perPacket.decodeInto(frame, 0, frame.length, linkType);
  expect(perPacket.fingerprint, 'decodeInto and decodeForTest disagree').toBe(decoder.fingerprint);
  return decoder.fingerprint;
}

const payload = bytesOf('GET / HTTP/1.1\r\nHost: pod\r\n\r\n');
const inner = (o: { ttl?: number; src?: string; dst?: string; sport?: number; checksum?: number; seq?: number } = {}) =>
  ipv4({ src: o.src ?? '100.64.0.1', dst: o.dst ?? '10.91.1.130', proto: 6, ttl: o.ttl ?? 64, id: 777, checksum: o.checksum ?? 0 }, tcp({ sport: o.sport ?? 40000, dport: 80, seq: o.seq ?? 123456, flags: 0x18 }, payload));

describe('packet fingerprint', () => {
  const base = fp(ethernet({}, inner()), LINKTYPE_ETHERNET);

  it('is the same on every hop: TTL and checksum changes, link types', () => {
    expect(fp(ethernet({}, inner({ ttl: 63, checksum: 0xbeef })), LINKTYPE_ETHERNET)).toBe(base);
    expect(fp(inner({ ttl: 62 }), LINKTYPE_RAW)).toBe(base);
    expect(fp(sll2({ ifindex: 3, packetType: 4 }, inner()), LINKTYPE_LINUX_SLL2)).toBe(base);
  });

  it('is the same encapsulated in IPIP and VXLAN as decapsulated', () => {
    const ipip = ipv4({ src: '192.168.77.11', dst: '192.168.77.12', proto: 4, id: 9 }, inner({ ttl: 63 }));
    expect(fp(ethernet({}, ipip), LINKTYPE_ETHERNET)).toBe(base);
    const vx = ipv4({ src: '192.168.77.11', dst: '192.168.77.12', proto: 17 }, udp({ sport: 51000, dport: 4789 }, vxlan(4096, ethernet({}, inner({ ttl: 63 })))));
    expect(fp(ethernet({}, vx), LINKTYPE_ETHERNET)).toBe(base);
  });

  it('survives NAT of addresses and ports (kube-proxy DNAT, masquerade)', () => {
    expect(fp(ethernet({}, inner({ dst: '10.96.0.10', src: '192.168.77.1', sport: 61000 })), LINKTYPE_ETHERNET)).toBe(base);
  });

  it('differs for different packets of the same flow', () => {
    expect(fp(ethernet({}, inner({ seq: 123457 })), LINKTYPE_ETHERNET)).not.toBe(base);
    const echo = (seq: number) => ethernet({}, ipv4({ src: '100.64.0.1', dst: '10.91.1.130', proto: 1, id: 1 }, icmpEcho({ id: 7, seq }, payload)));
    expect(fp(echo(1), LINKTYPE_ETHERNET)).not.toBe(fp(echo(2), LINKTYPE_ETHERNET));
  });

  it('tells apart multicast packets that differ only in their source (neighbour solicitations)', () => {
    const ns = (src: string) => ethernet({}, ipv4({ src, dst: '224.0.0.251', proto: 17, id: 0 }, udp({ sport: 5353, dport: 5353 }, bytesOf('same query'))));
    expect(fp(ns('10.0.0.1'), LINKTYPE_ETHERNET)).not.toBe(fp(ns('10.0.0.2'), LINKTYPE_ETHERNET));
  });

  it('is 0 for non-IP and never 0 for IP', () => {
    const arp = ethernet({ type: 0x0806 }, new Uint8Array(28));
    expect(fp(arp, LINKTYPE_ETHERNET)).toBe(0);
    expect(base).toBeGreaterThan(0);
    expect(Number.isSafeInteger(base)).toBe(true);
  });
});
