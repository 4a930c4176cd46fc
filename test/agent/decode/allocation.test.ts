/**
 * Proves the engine's decode paths allocate nothing on the JavaScript heap per packet: decodeInto
 * (one call per packet, what a record-at-a-time caller uses) and decodeBatch (one call per block of
 * records, what replay and the live agent hand the engine). The decoder and fingerprint run in C
 * (native/engine); what is measured is everything the JavaScript side pays per packet around them
 * (argument conversion, handles, results).
 *
 * vitest runs without --expose-gc, so the measurement runs in a child `node --expose-gc
 * --max-semi-space-size=1` (test/support/allocation-child.ts) that loads the built addon
 * (build/Release/pathwatch_native.node). The child decodes a mixed set of prebuilt packets
 * 2,000,000 times after a warm-up and a forced GC, and reports the heapUsed delta (no GC in between)
 * and the scavenges (minor GCs) observed during the loop. With a 1 MB semi-space, even 16 bytes per
 * packet (32 MB in all) would show up as dozens of scavenges.
 *
 * A control run with one small object allocated per packet shows the harness does see allocation.
 *
 * (Before the engine, this file measured the TypeScript decoder, agent/decode/packet-decoder.ts,
 * loaded from dist/; that decoder is gone.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeStatus, EngineDecoder } from '../../support/engine-decoder.js';
import {
  bytes,
  ethernet,
  geneve,
  gre,
  icmpEcho,
  ipv4,
  ipv6,
  sll,
  sll2,
  tcp,
  TCP_ACK,
  TCP_PSH,
  TCP_SYN,
  udp,
  vlanTag,
  vxlan,
  type LinkPacket,
} from './decode-test-helpers.js';
import { ROOT, runAllocationChild } from '../../support/allocation-child.js';

const ADDON = join(ROOT, 'build/Release/pathwatch_native.node');

const PACKETS_PER_RUN = 2_000_000;
/** Records per decodeBatch call in the block mode: the packet set repeated, as a capture block would hold them. */
const RECORDS_PER_BLOCK = 1000;
const MAX_HEAP_GROWTH = 1024 * 1024;
const MAX_SCAVENGES = 3;

function buildPackets(): LinkPacket[] {
  const payload = new Array<number>(64).fill(0x78);
  const tcpV4 = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 }, tcp(40000, 443, TCP_PSH | TCP_ACK, payload));
  const udpV6 = ipv6('2001:db8::1', '2001:db8::2', 17, udp(5353, 53, payload));
  const icmpV4 = ipv4({ src: '192.168.1.3', dst: '192.168.1.5', proto: 1 }, icmpEcho(8, 77, 1));
  const ipip = ipv4({ src: '10.162.42.93', dst: '10.162.33.164', proto: 4 }, ipv4({ src: '27.36.55.113', dst: '210.21.210.241', proto: 6 }, tcp(49249, 60030, TCP_SYN)));
  const vxlanIcmp = ipv4({ src: '192.168.203.1', dst: '192.168.202.1', proto: 17 }, udp(45149, 4789, vxlan(100, ethernet(0x0800, icmpV4))));
  const vxlan8472 = ipv4({ src: '192.168.203.1', dst: '192.168.202.1', proto: 17 }, udp(45149, 8472, vxlan(1, ethernet(0x86dd, udpV6))));
  const geneveTcp = ipv4({ src: '20.0.0.1', dst: '20.0.0.2', proto: 17 }, udp(12618, 6081, geneve(10, 0x6558, ethernet(0x0800, tcpV4), [1, 2, 0x80, 1, 0, 0, 0, 0])));
  const greTeb = ipv4({ src: '10.25.6.6', dst: '10.25.59.67', proto: 47 }, gre(0x6558, ethernet(0x0800, icmpV4), 0x2000000));
  const unreachable = ipv4({ src: '10.0.0.2', dst: '10.0.0.1', proto: 1 }, bytes([3, 3, 0, 0, 0, 0, 0, 0], ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, udp(5353, 1027, []))));
  const v6ext = ipv6('fe80::1', 'ff02::16', 0, bytes([60, 0, 5, 2, 0, 0, 1, 0], [44, 0, 1, 4, 0, 0, 0, 0], [17, 0, 0, 1, 0, 0, 0, 9], udp(1, 2, payload)));
  const arp = ethernet(0x0806, new Array<number>(28).fill(0));
  const tooDeep = [0, 1, 2, 3, 4].reduce((inner) => ipv4({ src: '10.9.9.1', dst: '10.9.9.2', proto: 4 }, inner), tcpV4);
  const packets: LinkPacket[] = [
    { name: 'Ethernet/IPv4/TCP', linkType: 1, data: ethernet(0x0800, tcpV4) },
    { name: 'SLL2/IPIP/TCP', linkType: 276, data: sll2(0x0800, 7, 0, ipip) },
    { name: 'Ethernet/VXLAN/ICMP', linkType: 1, data: ethernet(0x0800, vxlanIcmp) },
    { name: 'Ethernet/VXLAN 8472/IPv6/UDP', linkType: 1, data: ethernet(0x0800, vxlan8472) },
    { name: 'Ethernet/IPv6/UDP', linkType: 1, data: ethernet(0x86dd, udpV6) },
    { name: 'Ethernet/802.1Q/IPv4/TCP', linkType: 1, data: ethernet(0x8100, bytes(vlanTag(165, 0x0800), tcpV4)) },
    { name: 'Ethernet/QinQ/IPv6/UDP', linkType: 1, data: ethernet(0x88a8, bytes(vlanTag(200, 0x8100), vlanTag(2001, 0x86dd), udpV6)) },
    { name: 'Ethernet/Geneve/Ethernet/IPv4/TCP', linkType: 1, data: ethernet(0x0800, geneveTcp) },
    { name: 'Ethernet/GRE-TEB/ICMP', linkType: 1, data: ethernet(0x0800, greTeb) },
    { name: 'Ethernet/ICMP unreachable quoting UDP', linkType: 1, data: ethernet(0x0800, unreachable) },
    { name: 'Ethernet/IPv6 HBH+frag/UDP', linkType: 1, data: ethernet(0x86dd, v6ext) },
    { name: 'SLL/IPv4/ICMP', linkType: 113, data: sll(0x0800, 4, icmpV4) },
    { name: 'RAW/IPv6/UDP', linkType: 101, data: udpV6 },
    { name: 'NULL/IPv4/TCP', linkType: 0, data: bytes([2, 0, 0, 0], tcpV4) },
    { name: 'ARP', linkType: 1, data: arp },
    { name: 'IPIP nested too deep', linkType: 1, data: ethernet(0x0800, tooDeep) },
    { name: 'truncated: Ethernet/IPv4/TCP cut in TCP', linkType: 1, data: ethernet(0x0800, tcpV4).slice(0, 14 + 20 + 10) },
    { name: 'truncated: VXLAN cut in inner Ethernet', linkType: 1, data: ethernet(0x0800, vxlanIcmp).slice(0, 14 + 20 + 8 + 8 + 6) },
    { name: 'truncated: IPv6 header', linkType: 1, data: ethernet(0x86dd, udpV6).slice(0, 14 + 30) },
    { name: 'malformed: IPv4 IHL 4', linkType: 101, data: bytes([0x44], tcpV4.slice(1)) },
  ];
  return packets;
}

/**
 * The measuring child. MODE: 'per-packet' (decodeInto per packet), 'block' (decodeBatch over blocks
 * of RECORDS_PER_BLOCK records, every array made before the loop), 'control' (per-packet plus one
 * small object per packet). acc sums statuses and fingerprints so the work cannot be skipped.
 */
const CHILD = String.raw`
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
const addon = createRequire(import.meta.url)(process.env.ADDON);
const list = JSON.parse(readFileSync(process.env.PACKETS_FILE, 'utf8'));
const datas = list.map((p) => Uint8Array.from(Buffer.from(p.hex, 'hex')));
const lens = Int32Array.from(datas.map((d) => d.length));
const lts = Int32Array.from(list.map((p) => p.linkType));
const n = datas.length;
const mode = process.env.MODE;
const perBlock = Number(process.env.RECORDS_PER_BLOCK);
const dec = addon.createDecoder();
const out = new Float64Array(2);

// The block: the packet set repeated to perBlock records, laid end to end in one buffer.
const total = Array.from({ length: perBlock }, (_, i) => lens[i % n]).reduce((a, b) => a + b, 0);
const block = {
  data: new Uint8Array(total),
  count: perBlock,
  offsets: new Uint32Array(perBlock),
  lengths: new Uint32Array(perBlock),
  linkTypes: new Uint32Array(perBlock),
  status: new Uint8Array(perBlock),
  fingerprints: new Float64Array(perBlock),
  weak: new Uint8Array(perBlock),
};
for (let i = 0, at = 0; i < perBlock; i++) {
  const k = i % n;
  block.data.set(datas[k], at);
  block.offsets[i] = at;
  block.lengths[i] = lens[k];
  block.linkTypes[i] = lts[k];
  at += lens[k];
}

// A typed array slot: a module-level number holding a fingerprint would be a new heap number per store.
const acc = new Float64Array(1);
let sink = null;
function run(packets) {
  if (mode === 'block') {
    for (let done = 0; done < packets; done += perBlock) {
      acc[0] += addon.decodeBatch(dec, block);
      acc[0] += block.status[done % perBlock] + block.fingerprints[(done + 1) % perBlock];
    }
    return;
  }
  const control = mode === 'control';
  for (let i = 0; i < packets; i++) {
    const k = i % n;
    acc[0] += addon.decodeInto(dec, datas[k], 0, lens[k], lts[k], out) + out[0];
    if (control) sink = { i };
  }
}
run(300000);
const gcs = [];
const obs = new PerformanceObserver((l) => {
  for (const e of l.getEntries()) gcs.push({ start: e.startTime, kind: e.detail !== undefined ? e.detail.kind : e.kind });
});
obs.observe({ entryTypes: ['gc'] });
globalThis.gc();
globalThis.gc();
const before = process.memoryUsage().heapUsed;
const t0 = performance.now();
run(Number(process.env.PACKETS));
const t1 = performance.now();
const after = process.memoryUsage().heapUsed;
setTimeout(() => {
  obs.disconnect();
  const inLoop = gcs.filter((g) => g.start >= t0 && g.start <= t1);
  const scavenges = inLoop.filter((g) => g.kind === constants.NODE_PERFORMANCE_GC_MINOR).length;
  process.stdout.write('RESULT ' + JSON.stringify({ heapDelta: after - before, scavenges, gcs: inLoop.length, ms: t1 - t0, acc: acc[0], sink: sink !== null }) + '\n');
}, 200);
`;

interface ChildResult {
  heapDelta: number;
  scavenges: number;
  gcs: number;
  ms: number;
  acc: number;
}

let tmp = '';
let packetsFile = '';

function runChild(mode: 'per-packet' | 'block' | 'control'): ChildResult {
  return runAllocationChild<ChildResult>(CHILD, {
    ADDON,
    PACKETS_FILE: packetsFile,
    PACKETS: String(PACKETS_PER_RUN),
    RECORDS_PER_BLOCK: String(RECORDS_PER_BLOCK),
    MODE: mode,
  });
}

describe('decoder allocation', () => {
  const packets = buildPackets();

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'pathwatch-alloc-'));
    packetsFile = join(tmp, 'packets.json');
    writeFileSync(packetsFile, JSON.stringify(packets.map((p) => ({ name: p.name, linkType: p.linkType, hex: Buffer.from(p.data).toString('hex') }))));
  });

  afterAll(() => {
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('the packet set mixes every outcome (sanity check in-process)', () => {
    const dec = new EngineDecoder();
    const seen = new Set<number>();
    for (const p of packets) seen.add(dec.decode(p.data, 0, p.data.length, p.linkType));
    expect(packets.length).toBe(20);
    expect([...seen].sort()).toEqual([DecodeStatus.Ok, DecodeStatus.Truncated, DecodeStatus.NotIp, DecodeStatus.Malformed].sort());
    expect(dec.events.get('decoder.tunnel.too_deep')).toBe(1);
  });

  it(`decoding ${PACKETS_PER_RUN.toLocaleString('en')} packets one call each (decodeInto) grows the heap by < 1 MB with at most ${MAX_SCAVENGES} scavenges`, () => {
    const r = runChild('per-packet');
    console.log(`per-packet: ${JSON.stringify(r)}`);
    expect(r.acc).toBeGreaterThan(0); // the loop ran and its result was used
    expect(r.heapDelta).toBeLessThan(MAX_HEAP_GROWTH);
    expect(r.scavenges).toBeLessThanOrEqual(MAX_SCAVENGES);
  });

  it(`decoding ${PACKETS_PER_RUN.toLocaleString('en')} packets in blocks of ${RECORDS_PER_BLOCK} (decodeBatch) grows the heap by < 1 MB with at most ${MAX_SCAVENGES} scavenges`, () => {
    const r = runChild('block');
    console.log(`block: ${JSON.stringify(r)}`);
    expect(r.acc).toBeGreaterThan(0);
    expect(r.heapDelta).toBeLessThan(MAX_HEAP_GROWTH);
    expect(r.scavenges).toBeLessThanOrEqual(MAX_SCAVENGES);
  });

  it('control: the same loop allocating one small object per packet is caught', () => {
    const r = runChild('control');
    console.log(`control: ${JSON.stringify(r)}`);
    expect(r.scavenges).toBeGreaterThan(10 * MAX_SCAVENGES);
  });
});
