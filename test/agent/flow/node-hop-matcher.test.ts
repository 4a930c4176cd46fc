/**
 * The node's matcher on its own (until issue 12 it was tested only end to end): what a packet's
 * sightings on one node come to, and the findings it hands out. Packets go through the engine's
 * pipeline (NativeSightingPipeline over native/engine: decode, fingerprint, flow table, hop matcher)
 * from byte-built frames; directions come from pcapng flags (in/out), as a capture that records
 * them gives. These were the TypeScript NodeHopMatcher's tests; the engine replaced it.
 */
import { describe, expect, it } from 'vitest';
import { CaptureRecord, Direction } from '../../../agent/capture/capture-record.js';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2 } from '../../../agent/decode/link-types.js';
import { InterfaceRegistry } from '../../../agent/flow/interface-registry.js';
import { NativeSightingPipeline } from '../../../agent/native/native-sighting-pipeline.js';
import type { CaptureBinding } from '../../../agent/native/pipeline-config.js';
import { parseReplayInputSpec } from '../../../modes/replay/replay-input.js';
import { runReplay } from '../../../modes/replay/replay-runner.js';
import { bytesOf, ethernet, icmpEcho, ipv4, pcapFile, sll2, udp, vxlan } from '../../support/packet-builder.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const T = 1_790_000_000_000;
const MAC = { a: [2, 0, 0, 0, 0, 1], b: [2, 0, 0, 0, 0, 2] };
const IFACES = ['eth0', 'cali0123456789a', 'vxlan.calico'] as const;

/** A node with three interfaces whose packets go through a pipeline; `send` feeds one sighting. */
function node(options: { coversAll?: boolean; accept?: (name: string) => boolean; tunnelHops?: number } = {}) {
  const registry = new InterfaceRegistry();
  const n = registry.node('n1');
  n.coversAllInterfaces = options.coversAll ?? true;
  const ids = IFACES.map((name) => registry.interface('n1', name).id);
  const pipeline = new NativeSightingPipeline(registry, {
    ...(options.accept ? { acceptInterface: options.accept } : {}),
    ...(options.tunnelHops !== undefined ? { matcher: { windowMs: 250, maxVanishedGroups: 1000, tunnelHopSampleOneIn: options.tunnelHops } } : {}),
  });
  const binding: CaptureBinding = { node: 'n1', ifaceByCaptureInterface: ids, ifnameByIndex: new Map(), ifaceByIfindex: new Int32Array(0) };
  const record = new CaptureRecord();
  const send = (iface: (typeof IFACES)[number], dir: Direction, ms: number, l3: Uint8Array): void => {
    const frame = ethernet({ src: MAC.a, dst: MAC.b }, l3);
    record.data = frame;
    record.offset = 0;
    record.caplen = record.origlen = frame.length;
    record.linkType = LINKTYPE_ETHERNET;
    record.interfaceId = IFACES.indexOf(iface);
    record.direction = dir;
    record.tsSec = Math.floor((T + ms) / 1000);
    record.tsNsec = Math.round(((T + ms) % 1000) * 1e6);
    pipeline.onRecord(record, binding);
  };
  const matcher = () => pipeline.matcher(n.index);
  return { pipeline, send, matcher, finish: (ms: number) => pipeline.finish(T + ms) };
}

const ping = (seq: number, src = '100.64.0.1', dst = '10.91.1.130', ttl = 64) => ipv4({ src, dst, proto: 1, ttl, id: 1000 + seq }, icmpEcho({ id: 7, seq }, bytesOf(`payload ${seq} .......`)));

describe('the hop matcher: what a packet\'s sightings come to', () => {
  it('in and out: forwarded, no candidate', () => {
    const n = node();
    n.send('eth0', Direction.In, 0, ping(1));
    n.send('cali0123456789a', Direction.Out, 0.02, ping(1, undefined, undefined, 63));
    n.finish(5000);
    const f = n.matcher().takeFindings(T + 5000);
    expect(f.counters).toMatchObject({ packets: 1, sightings: 2, forwarded: 1 });
    expect(f.candidates).toEqual([]);
  });

  it('in and never out: a candidate on the arrival interface, its path, its fingerprints', () => {
    const n = node();
    n.send('eth0', Direction.In, 0, ping(1));
    n.finish(5000);
    const f = n.matcher().takeFindings(T + 5000);
    expect(f.candidates).toHaveLength(1);
    expect(f.candidates[0]).toMatchObject({ iface: 'eth0', role: 'uplink', packets: 1, directionUncertain: false, identity: { src: '100.64.0.1', dst: '10.91.1.130', proto: 1 } });
    expect(f.candidates[0]?.path.map((h) => [h.iface, h.direction])).toEqual([['eth0', 'in']]);
    expect(f.candidates[0]?.fingerprints[0]).toMatch(/^[0-9a-f]{14}$/);
  });

  it('an encapsulated arrival and its decapsulated twin count as one arrival', () => {
    const n = node();
    const inner = ping(2);
    const outer = ipv4({ src: '192.168.77.11', dst: '192.168.77.12', proto: 17, id: 9 }, udp({ sport: 40000, dport: 4789 }, vxlan(4096, ethernet({ src: MAC.a, dst: MAC.b }, inner))));
    n.send('eth0', Direction.In, 0, outer);
    n.send('vxlan.calico', Direction.In, 0.01, inner);
    n.send('cali0123456789a', Direction.Out, 0.02, ping(2, undefined, undefined, 63));
    n.finish(5000);
    const f = n.matcher().takeFindings(T + 5000);
    expect(f.counters.forwarded).toBe(1);
    expect(f.candidates).toEqual([]);
    // The tunnel endpoint is the node's own address, learned from the encapsulated arrival.
    expect(f.knowledge.ownAddresses).toEqual(['192.168.77.12']);
  });

  it('out only: sent by the node, whose source (every interface captured) is then its own', () => {
    const n = node();
    n.send('eth0', Direction.Out, 0, ping(3, '192.168.77.11', '192.168.77.1'));
    n.finish(5000);
    const f = n.matcher().takeFindings(T + 5000);
    expect(f.counters.originated).toBe(1);
    expect(f.knowledge.ownAddresses).toContain('192.168.77.11');
  });

  it('multicast is never judged; a packet within the last window of the capture is not judged either', () => {
    const n = node();
    n.send('eth0', Direction.In, 0, ping(4, '10.0.0.1', '224.0.0.251'));
    n.send('eth0', Direction.In, 4900, ping(5));
    n.finish(5000);
    const f = n.matcher().takeFindings(T + 5000);
    expect(f.counters).toMatchObject({ notUnicast: 1, captureEndedUnjudged: 1 });
    expect(f.candidates).toEqual([]);
  });

  it('the same fingerprint a window apart is two packets of one group (a retransmission)', () => {
    const n = node();
    n.send('eth0', Direction.In, 0, ping(6));
    n.send('eth0', Direction.In, 1000, ping(6));
    n.finish(5000);
    const [g] = n.matcher().takeFindings(T + 5000).candidates;
    expect([g?.packets, g?.firstSeen, g?.lastSeen, g?.fingerprints.length]).toEqual([2, T, T + 1000, 2]);
  });

  it('takeFindings hands out what is new and keeps nothing: the next take starts afresh', () => {
    const n = node();
    n.send('eth0', Direction.In, 0, ping(7));
    n.pipeline.advance(T + 1000);
    const m = n.matcher();
    expect(m.takeFindings(T + 750).candidates).toHaveLength(1);
    n.send('eth0', Direction.In, 2000, ping(8));
    n.pipeline.advance(T + 3000);
    const second = m.takeFindings(T + 2750);
    // Only the new packet: the first group was taken already and is not kept.
    expect(second.candidates.map((c) => c.packets)).toEqual([1]);
    expect(second.counters.packets).toBe(1);
    expect(m.takeFindings(T + 2750).candidates).toEqual([]);
  });

  it('reports the tunnel hops of sampled packets (live) for stitching across nodes', () => {
    const n = node({ tunnelHops: 1 });
    const inner = ping(9);
    const outer = ipv4({ src: '192.168.77.11', dst: '192.168.77.12', proto: 17, id: 9 }, udp({ sport: 40000, dport: 4789 }, vxlan(4096, ethernet({ src: MAC.a, dst: MAC.b }, inner))));
    n.send('vxlan.calico', Direction.Out, 0, inner);
    n.send('eth0', Direction.Out, 0.01, outer);
    n.finish(5000);
    const f = n.matcher().takeFindings(T + 5000);
    expect(f.departures.map((d) => [d.outerDst, d.path.length, d.identity.dst])).toEqual([['192.168.77.12', 2, '10.91.1.130']]);
  });
});

describe('issue 12 bugs', () => {
  it('packets of interfaces the agent was told not to analyse (--iface) make no flows', () => {
    const n = node({ accept: (name) => name !== 'cali0123456789a' });
    n.send('cali0123456789a', Direction.In, 0, ping(10));
    n.send('eth0', Direction.In, 0, ping(11));
    const flows: string[] = [];
    n.pipeline.flushFlows((r) => flows.push(r.iface));
    expect(flows).toEqual(['eth0']);
    expect(n.pipeline.stats.notAnalysed).toBe(1);
  });

  it('two groups whose old numeric keys collide stay two drop events', async () => {
    // The old key was hash32(iface, proto, src, dst, ports) * 2^21 + (src + 31 * dst) mod 2^21, the
    // ports XORed in last. Sources 2^21 apart share the low part; ports chosen to cancel the
    // difference of the hash before them make the high part equal too.
    const srcA = 0x0a000001; // 10.0.0.1
    const srcB = srcA + 0x200000; // 10.32.0.1
    const dst = 0x0a5b0182; // 10.91.1.130
    const before = (src: number): number => {
      let h = Math.imul(0 ^ 0x9e3779b9, 0x85ebca6b) ^ 17;
      h = Math.imul(h ^ (src % 4294967291), 0xcc9e2d51) ^ (dst % 4294967279);
      return Math.imul(h ^ (h >>> 15), 0x1b873593);
    };
    const portsA = (40000 << 16) | 53;
    const portsB = (before(srcA) ^ portsA ^ before(srcB)) >>> 0;
    const text = (w: number) => [w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255].join('.');
    const dir = mkdtempSync(join(tmpdir(), 'pw-collide-'));
    try {
      // Linux `any` capture: every interface covered, so each arrival that never leaves is a drop.
      const packets = [
        { ms: 0, src: srcA, ports: portsA },
        { ms: 100, src: srcB, ports: portsB },
      ].map((p, i) => ({
        tsNs: (T + p.ms) * 1e6,
        frame: sll2({ ifindex: 2, packetType: 0 }, ipv4({ src: text(p.src), dst: text(dst), proto: 17, id: 500 + i }, udp({ sport: p.ports >>> 16, dport: p.ports & 0xffff }, bytesOf(`query ${i}`)))),
      }));
      packets.push({ tsNs: (T + 5000) * 1e6, frame: sll2({ ifindex: 2, packetType: 4 }, ipv4({ src: '192.168.77.11', dst: '192.168.77.1', proto: 17, id: 9 }, udp({ sport: 1, dport: 2 }, bytesOf('end')))) });
      const file = join(dir, 'any.pcap');
      writeFileSync(file, pcapFile(LINKTYPE_LINUX_SLL2, packets));
      const r = await runReplay({ inputs: [parseReplayInputSpec(`n1:${file}`)], ifnames: new Map([[2, 'eth0']]) });
      expect(r.drops.map((d) => [d.event.src, d.event.sport, d.event.packets]).sort()).toEqual([
        ['10.0.0.1', 40000, 1],
        [text(srcB), portsB >>> 16, 1],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
