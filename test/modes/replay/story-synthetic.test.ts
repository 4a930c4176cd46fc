/**
 * The story on synthetic captures (no namespaces needed): node2 receives pings and TCP SYNs for pod
 * 10.91.1.130 over VXLAN from node1; they arrive on vxlan.calico and never leave, while the pod's
 * own traffic to the same source leaves by eth0. A healthy pod (10.91.1.131) gets the same traffic
 * delivered. Captured as one Linux `any` file, as per-interface pcaps without direction, as a
 * single interface, and on both nodes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2 } from '../../../agent/decode/link-types.js';
import { runReplay } from '../../../modes/replay/replay-runner.js';
import { startCollector } from '../../../collector/collector-runner.js';
import type { DropEvent } from '../../../core/explain/drop-event.js';
import { ensureBuilt, runPathwatch } from '../../support/built-cli.js';
import { parseReplayInputSpec } from '../../../modes/replay/replay-input.js';
import { rmSync } from 'node:fs';
import { bytesOf, ethernet, icmpEcho, ipv4, pcapFile, pcapngFile, sll2, tcp, udp, vxlan } from '../../support/packet-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'pw-story-'));
afterAll(() => { if (!process.env.PW_KEEP) rmSync(dir, { recursive: true, force: true }); });

const GW = '100.64.0.1';
const SICK = '10.91.1.130';
const HEALTHY = '10.91.1.131';
const N1 = '192.168.77.11';
const N2 = '192.168.77.12';
const MAC = {
  n2eth0: [2, 0, 0, 0, 2, 1],
  n1eth0: [2, 0, 0, 0, 1, 1],
  gw: [2, 0, 0, 0, 0, 1],
  n2vx: [2, 0, 0, 0, 2, 2],
  n1vx: [2, 0, 0, 0, 1, 2],
  n2cali: [0xee, 0xee, 0xee, 0xee, 0xee, 0xee],
  pod: [2, 0, 0, 0, 9, 9],
};

type Sighting = { node: 'n1' | 'n2'; iface: string; dir: 'in' | 'out'; t: number; frame: Uint8Array; l3: Uint8Array; skbTime?: number };
const sightings: Sighting[] = [];
let t = 1_700_000_000_000_000_000 / 1e9; // seconds, as a float base

function add(node: 'n1' | 'n2', iface: string, dir: 'in' | 'out', dt: number, l3: Uint8Array, frame: Uint8Array) {
  sightings.push({ node, iface, dir, t: t + dt, frame, l3 });
}

function vxlanOf(inner: Uint8Array, from: string, to: string, srcMac: number[], dstMac: number[]) {
  return ipv4({ src: from, dst: to, proto: 17, ttl: 64, id: 4242 }, udp({ sport: 40000 + (inner[5] as number), dport: 4789 }, vxlan(4096, ethernet({ src: srcMac, dst: dstMac }, inner))));
}

// Gateway -> pods via node1 -> VXLAN -> node2.
for (let i = 0; i < 10; i++) {
  const dst = i % 2 === 0 ? SICK : HEALTHY;
  const l4 = i < 6 ? icmpEcho({ id: 99, seq: i }, bytesOf(`ping payload ${i} ......`)) : tcp({ sport: 40000 + i, dport: 80, seq: 1000 * i, flags: 0x02 });
  const proto = i < 6 ? 1 : 6;
  const at1 = ipv4({ src: GW, dst, proto, ttl: 64, id: 100 + i }, l4);
  const at2 = ipv4({ src: GW, dst, proto, ttl: 63, id: 100 + i }, l4);
  const out2 = ipv4({ src: GW, dst, proto, ttl: 62, id: 100 + i }, l4);
  const outer = vxlanOf(at2, N1, N2, MAC.n1eth0, MAC.n2eth0);
  add('n1', 'eth0', 'in', 0, at1, ethernet({ src: MAC.gw, dst: MAC.n1eth0 }, at1));
  add('n1', 'vxlan.calico', 'out', 0.00002, at2, ethernet({ src: MAC.n1vx, dst: MAC.n2vx }, at2));
  add('n1', 'eth0', 'out', 0.00003, outer, ethernet({ src: MAC.n1eth0, dst: MAC.n2eth0 }, outer));
  add('n2', 'eth0', 'in', 0.0001, outer, ethernet({ src: MAC.n1eth0, dst: MAC.n2eth0 }, outer));
  add('n2', 'vxlan.calico', 'in', 0.00011, at2, ethernet({ src: MAC.n1vx, dst: MAC.n2vx }, at2));
  // The kernel keeps the skb's receive timestamp through decapsulation: captures show both at once.
  (sightings[sightings.length - 1] as Sighting).skbTime = t + 0.0001;
  if (dst === HEALTHY) add('n2', 'cali0healthy1', 'out', 0.00012, out2, ethernet({ src: MAC.n2cali, dst: MAC.pod }, out2));
  t += 0.2;
}
// The sick pod's own traffic to the gateway leaves node2 by eth0 (the asymmetric way back).
for (let i = 0; i < 3; i++) {
  const l4 = icmpEcho({ id: 55, seq: i }, bytesOf(`pod ping ${i} ..........`));
  const a = ipv4({ src: SICK, dst: GW, proto: 1, ttl: 64, id: 500 + i }, l4);
  const b = ipv4({ src: SICK, dst: GW, proto: 1, ttl: 63, id: 500 + i }, l4);
  add('n2', 'cali0sick0001', 'in', 0, a, ethernet({ src: MAC.pod, dst: MAC.n2cali }, a));
  add('n2', 'eth0', 'out', 0.00002, b, ethernet({ src: MAC.n2eth0, dst: MAC.gw }, b));
  t += 0.2;
}
// node2 talks to the gateway itself: local traffic, never a drop.
for (let i = 0; i < 3; i++) {
  const q = ipv4({ src: N2, dst: '192.168.77.1', proto: 17, id: 700 + i }, udp({ sport: 5353 + i, dport: 53 }, bytesOf(`query ${i}`)));
  const r = ipv4({ src: '192.168.77.1', dst: N2, proto: 17, id: 900 + i }, udp({ sport: 53, dport: 5353 + i }, bytesOf(`answer ${i}`)));
  add('n2', 'eth0', 'out', 0, q, ethernet({ src: MAC.n2eth0, dst: MAC.gw }, q));
  add('n2', 'eth0', 'in', 0.001, r, ethernet({ src: MAC.gw, dst: MAC.n2eth0 }, r));
  t += 0.2;
}
sightings.sort((a, b) => a.t - b.t);
const ns = (s: Sighting) => Math.round((s.t - 1_700_000_000) * 1e9) + 1_700_000_000 * 1e9;

const IFINDEX: Record<string, number> = { eth0: 2, 'vxlan.calico': 4, cali0sick0001: 5, cali0healthy1: 6 };
const ifnames = new Map(Object.entries(IFINDEX).map(([k, v]) => [v, k]));

function writeAny(node: 'n1' | 'n2'): string {
  const file = join(dir, `${node}-any.pcap`);
  const pkts = sightings
    .filter((s) => s.node === node)
    .map((s) => ({ tsNs: ns(s), frame: sll2({ ifindex: IFINDEX[s.iface] as number, packetType: s.dir === 'out' ? 4 : 0 }, s.l3) }));
  writeFileSync(file, pcapFile(LINKTYPE_LINUX_SLL2, pkts));
  return file;
}

function writePerInterface(node: 'n1' | 'n2', skbTimestamps = false): string[] {
  const byIface = new Map<string, Sighting[]>();
  for (const s of sightings.filter((x) => x.node === node)) byIface.set(s.iface, [...(byIface.get(s.iface) ?? []), s]);
  return [...byIface].map(([iface, list]) => {
    const file = join(dir, `${node}-${iface}${skbTimestamps ? '-skb' : ''}.pcap`);
    const time = (s: Sighting) => (skbTimestamps && s.skbTime !== undefined ? ns({ ...s, t: s.skbTime }) : ns(s));
    writeFileSync(file, pcapFile(LINKTYPE_ETHERNET, list.map((s) => ({ tsNs: time(s), frame: s.frame }))));
    return `${node}:${iface}=${file}`;
  });
}

describe('replay of the story (synthetic captures)', () => {
  it('finds the reverse-path drop in a Linux any capture, and nothing else', async () => {
    const file = writeAny('n2');
    const r = await runReplay({ inputs: [parseReplayInputSpec(`n2:${file}`)], ifnames });
    expect(r.drops.map((d) => [d.event.node, d.event.iface, d.event.src, d.event.dst, d.event.proto, d.event.packets, d.event.verdict, d.event.confidence])).toEqual([
      ['n2', 'vxlan.calico', GW, SICK, 'tcp', 1, 'reverse-path', 'possible'],
      ['n2', 'vxlan.calico', GW, SICK, 'tcp', 1, 'reverse-path', 'possible'],
      ['n2', 'vxlan.calico', GW, SICK, 'icmp', 3, 'reverse-path', 'possible'],
    ]);
    const icmp = r.drops.find((d) => d.event.proto === 'icmp');
    expect(icmp?.event.remedy).toContain('sysctl -w net.ipv4.conf.vxlan/calico.rp_filter=2');
    expect(icmp?.event.evidence.map((e) => e.kind)).toEqual(['missing-hop', 'asymmetric-path']);
    expect(icmp?.event.evidence[1]?.detail).toContain('leaves n2 by eth0');
    expect(icmp?.path.map((h) => `${h.iface}:${h.direction}:${h.encap}`)).toEqual(['eth0:in:vxlan', 'vxlan.calico:in:none']);
    expect(r.stats.localPackets).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(r.drops)).not.toContain(HEALTHY);
  });

  it('sends the same findings into a collector with --collector, stored there as a replay', async () => {
    ensureBuilt();
    const file = writeAny('n2');
    const expected = await runReplay({ inputs: [parseReplayInputSpec(`n2:${file}`)], ifnames });
    const socket = join(dir, 'collector.sock');
    const collector = await startCollector({ listen: [`unix:${socket}`], store: `embedded:${join(dir, 'store')}`, log: () => {} });
    try {
      const names = [...ifnames].flatMap(([i, n]) => ['--ifname', `${i}=${n}`]);
      const r = await runPathwatch(['replay', '--json', ...names, '--collector', `unix:${socket}`, `n2:${file}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/sent \d+ candidate groups \(3 judged vanished\) and \d+ flow records to unix:/);
      const res = await collector.app.inject('/api/v1/drops');
      const stored = (res.json() as { drops: DropEvent[] }).drops;
      const key = (d: DropEvent) => [d.id, d.proto, d.packets, d.verdict, d.confidence].join(' ');
      expect(stored.map(key).sort()).toEqual(expected.drops.map((d) => key(d.event)).sort());
      const one = (await collector.app.inject(`/api/v1/drops/${stored[0]!.id}`)).json() as { source: string; path: unknown[] };
      expect(one.source).toBe('replay');
      expect(one.path.length).toBe(2);
      const flows = (await collector.app.inject('/api/v1/flows?limit=10000')).json() as { flows: { source: string }[] };
      expect(flows.flows.length).toBeGreaterThan(0);
      expect(new Set(flows.flows.map((f) => f.source))).toEqual(new Set(['replay']));
    } finally {
      await collector.close();
    }
  });

  it('finds it in per-interface pcaps that record no direction (hop order and learned MACs)', async () => {
    const r = await runReplay({ inputs: writePerInterface('n2').map(parseReplayInputSpec) });
    expect(r.drops.length).toBeGreaterThan(0);
    for (const d of r.drops) {
      expect([d.event.node, d.event.iface, d.event.src, d.event.dst, d.event.verdict]).toEqual(['n2', 'vxlan.calico', GW, SICK, 'reverse-path']);
    }
    expect(r.drops.reduce((n, d) => n + d.event.packets, 0)).toBe(5);
  });

  it('keeps the kernel order of hops whose timestamps tie (decapsulation keeps the skb timestamp)', async () => {
    // The tunnel's file first, so the decapsulated sighting is read before its encapsulated twin.
    const files = writePerInterface('n2', true).sort((a, b) => Number(b.includes('vxlan.calico')) - Number(a.includes('vxlan.calico')));
    const r = await runReplay({ inputs: files.map(parseReplayInputSpec) });
    expect(r.drops.length).toBeGreaterThan(0);
    for (const d of r.drops) expect([d.event.iface, d.event.verdict]).toEqual(['vxlan.calico', 'reverse-path']);
  });

  it('reads node and interface from pcapng interface names node/iface, with epb_flags directions', async () => {
    const names = [...new Set(sightings.map((s) => `${s.node}/${s.iface}`))];
    const file = join(dir, 'cluster.pcapng');
    writeFileSync(
      file,
      pcapngFile(
        names.map((name) => ({ name, linkType: LINKTYPE_ETHERNET })),
        sightings.map((s) => ({ iface: names.indexOf(`${s.node}/${s.iface}`), tsNs: ns(s), frame: s.frame, inbound: s.dir === 'in' })),
      ),
    );
    const r = await runReplay({ inputs: [parseReplayInputSpec(file)] });
    expect(r.stats.nodes.map((n) => n.node).sort()).toEqual(['n1', 'n2']);
    const icmp = r.drops.find((d) => d.event.proto === 'icmp');
    expect([icmp?.event.node, icmp?.event.iface, icmp?.event.verdict]).toEqual(['n2', 'vxlan.calico', 'reverse-path']);
    expect(icmp?.path.map((h) => `${h.node}/${h.iface}:${h.direction}:${h.directionSource}`)).toEqual([
      'n1/eth0:in:pcapng-flags',
      'n1/vxlan.calico:out:pcapng-flags',
      'n1/eth0:out:pcapng-flags',
      'n2/eth0:in:pcapng-flags',
      'n2/vxlan.calico:in:pcapng-flags',
    ]);
  });

  it('judges nothing from a single interface: flows and statistics only', async () => {
    const only = writePerInterface('n2').filter((s) => s.includes('vxlan.calico='));
    const r = await runReplay({ inputs: only.map(parseReplayInputSpec) });
    expect(r.drops).toEqual([]);
    expect(r.stats.flows).toBeGreaterThan(0);
  });

  it('draws the path across both nodes when both are captured', async () => {
    const inputs = [...writePerInterface('n1'), ...writePerInterface('n2')].map(parseReplayInputSpec);
    const r = await runReplay({ inputs });
    const icmp = r.drops.find((d) => d.event.proto === 'icmp');
    expect(icmp?.event.node).toBe('n2');
    expect(icmp?.path.map((h) => `${h.node}/${h.iface}:${h.direction}`)).toEqual([
      'n1/eth0:in',
      'n1/vxlan.calico:out',
      'n1/eth0:out',
      'n2/eth0:in',
      'n2/vxlan.calico:in',
    ]);
    expect(r.stats.crossNode.matched).toBeGreaterThan(0);
    expect(r.drops.every((d) => d.event.node === 'n2')).toBe(true);
  });
});
