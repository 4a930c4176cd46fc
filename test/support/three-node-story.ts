/**
 * The story over three nodes, as synthetic captures (no namespaces needed): the gateway sends the
 * traffic of pods pa (on n2, behind VXLAN) and pb (on n3, behind IPIP) to n1, which carries both
 * tunnel types; each packet crosses its tunnel and vanishes on the far node's tunnel interface,
 * while the pods' own traffic to the client leaves their node by eth0 (the asymmetry). A SYN is
 * retransmitted byte for byte (one fingerprint, two packets). Healthy bulk traffic to pod ph on n1
 * (and pings from pa to its node) makes files of several MiB, so inputs are read in many chunks, and
 * runs on for a second after the story, so no packet of it falls in a capture's last window.
 *
 * Written as a pcap per interface (no direction, like `tcpdump -i IF`) and as one pcapng per node
 * whose records are out of time order across interfaces, as dumpcap writes them (each interface's
 * buffer flushed in turn).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../agent/decode/link-types.js';
import { bytesOf, ethernet, icmpEcho, ipv4, pcapFile, pcapngFile, tcp, udp, vxlan } from './packet-builder.js';

type Node = 'n1' | 'n2' | 'n3';

interface Sighting {
  readonly node: Node;
  readonly iface: string;
  readonly tsNs: number;
  readonly frame: Uint8Array;
}

export interface ThreeNodeCaptures {
  readonly dir: string;
  /** `NODE:IFACE=PATH` per interface capture (pcap), in a fixed order. */
  readonly pcaps: readonly string[];
  /** One `NODE:PATH` pcapng per node with all its interfaces. */
  readonly pcapngs: Readonly<Record<Node, string>>;
  /** The pcap inputs of one node. */
  pcapsOf(node: Node): string[];
  /** The same input as a gzip-compressed copy. */
  gzipped(input: string): string;
}

const GW = '100.64.0.1';
const N = { n1: '192.168.77.11', n2: '192.168.77.12', n3: '192.168.77.13' } as const;
const POD = { ph: '10.91.0.2', pa: '10.91.1.130', pb: '10.91.2.130' } as const;
const TUNNEL_ADDRESS = { n2: '10.91.1.129' } as const;
const MAC = {
  gw: [2, 0, 0, 0, 0, 1],
  n1: [2, 0, 0, 0, 1, 1],
  n2: [2, 0, 0, 0, 2, 1],
  n3: [2, 0, 0, 0, 3, 1],
  vx1: [0x66, 0x77, 10, 91, 0, 1],
  vx2: [0x66, 0x77, 10, 91, 1, 0x81],
  cali: [0xee, 0xee, 0xee, 0xee, 0xee, 0xee],
  pod: [2, 0, 0, 0, 9, 9],
};
const CALI: Readonly<Record<Node, string>> = { n1: 'cali0000000ph01', n2: 'cali0000000pa02', n3: 'cali0000000pb03' };
const T0_NS = 1_790_000_000_000_000_000;
const US = 1000;
const MS = 1_000_000;

/** Builds the captures into `dir` (bulk: healthy packets to make MiB-sized files; 0 for small sets). */
export function writeThreeNodeCaptures(dir: string, bulk = 1500): ThreeNodeCaptures {
  mkdirSync(dir, { recursive: true });
  const s: Sighting[] = [];
  const see = (node: Node, iface: string, tsNs: number, frame: Uint8Array): void => void s.push({ node, iface, tsNs, frame });
  const eth = (src: number[], dst: number[], l3: Uint8Array) => ethernet({ src, dst }, l3);

  // gw -> pod behind a tunnel: n1 eth0 in, n1 tunnel out, n1 eth0 out (encapsulated), far eth0 in,
  // far tunnel in; then nothing (strict rp_filter on the far node's tunnel).
  const acrossTunnel = (t: number, pod: 'pa' | 'pb', proto: number, l4: Uint8Array, id: number): void => {
    const at1 = ipv4({ src: GW, dst: POD[pod], proto, ttl: 64, id }, l4);
    const at2 = ipv4({ src: GW, dst: POD[pod], proto, ttl: 63, id }, l4);
    see('n1', 'eth0', t, eth(MAC.gw, MAC.n1, at1));
    if (pod === 'pa') {
      const outer = ipv4({ src: N.n1, dst: N.n2, proto: 17, ttl: 64, id: id + 7 }, udp({ sport: 40000 + (id % 1000), dport: 4789 }, vxlan(4096, eth(MAC.vx1, MAC.vx2, at2))));
      see('n1', 'vxlan.calico', t + 20 * US, eth(MAC.vx1, MAC.vx2, at2));
      see('n1', 'eth0', t + 30 * US, eth(MAC.n1, MAC.n2, outer));
      see('n2', 'eth0', t + 100 * US, eth(MAC.n1, MAC.n2, outer));
      see('n2', 'vxlan.calico', t + 110 * US, eth(MAC.vx1, MAC.vx2, at2));
    } else {
      const outer = ipv4({ src: N.n1, dst: N.n3, proto: 4, ttl: 64, id: id + 7 }, at2);
      see('n1', 'tunl0', t + 20 * US, at2);
      see('n1', 'eth0', t + 30 * US, eth(MAC.n1, MAC.n3, outer));
      see('n3', 'eth0', t + 100 * US, eth(MAC.n1, MAC.n3, outer));
      see('n3', 'tunl0', t + 110 * US, at2);
    }
  };
  // A pod's own packet to the client: in on its cali, out by its node's eth0 (the asymmetric way).
  const podToClient = (t: number, pod: 'pa' | 'pb', l4: Uint8Array, proto: number, id: number): void => {
    const node: Node = pod === 'pa' ? 'n2' : 'n3';
    see(node, CALI[node], t, eth(MAC.pod, MAC.cali, ipv4({ src: POD[pod], dst: GW, proto, ttl: 64, id }, l4)));
    see(node, 'eth0', t + 15 * US, eth(MAC[node], MAC.gw, ipv4({ src: POD[pod], dst: GW, proto, ttl: 63, id }, l4)));
  };

  let t = T0_NS;
  for (const pod of ['pa', 'pb'] as const) {
    for (let i = 0; i < 8; i++) acrossTunnel(t + i * 250 * MS, pod, 1, icmpEcho({ id: 7, seq: i }, bytesOf(`ping ${pod} ${i} .........`)), (pod === 'pa' ? 100 : 200) + i);
    // A SYN and its retransmission, byte for byte: one fingerprint, two packets a second apart.
    // (Each pod's SYN has its own id and sequence: the fingerprint leaves addresses out, for NAT.)
    const syn = tcp({ sport: 40100, dport: 80, seq: pod === 'pa' ? 777 : 888, flags: 0x02 });
    const id = pod === 'pa' ? 500 : 600;
    acrossTunnel(t + 300 * MS, pod, 6, syn, id);
    acrossTunnel(t + 1300 * MS, pod, 6, syn, id);
    for (let i = 0; i < 3; i++) podToClient(t + (100 + i * 200) * MS, pod, icmpEcho({ id: 9, seq: i }, bytesOf(`pod ping ${i} .....`)), 1, 900 + i);
    t += 50 * MS;
  }
  // Healthy: gw <-> ph on n1, through eth0 and ph's veth; big packets, both ways.
  const big = new Uint8Array(1300);
  for (let i = 0; i < bulk; i++) {
    const at = T0_NS + i * 2000 * US;
    const req = (ttl: number) => ipv4({ src: GW, dst: POD.ph, proto: 1, ttl, id: 10_000 + (i % 50_000) }, icmpEcho({ id: 3, seq: i }, big));
    const rep = (ttl: number) => ipv4({ src: POD.ph, dst: GW, proto: 1, ttl, id: 20_000 + (i % 40_000) }, icmpEcho({ type: 0, id: 3, seq: i }, big));
    see('n1', 'eth0', at, eth(MAC.gw, MAC.n1, req(64)));
    see('n1', CALI.n1, at + 10 * US, eth(MAC.cali, MAC.pod, req(63)));
    see('n1', CALI.n1, at + 60 * US, eth(MAC.pod, MAC.cali, rep(64)));
    see('n1', 'eth0', at + 70 * US, eth(MAC.n1, MAC.gw, rep(63)));
    // pa pings its own node's tunnel address: traffic for the node itself, never a drop.
    if (i % 3 === 0) see('n2', CALI.n2, at + 30 * US, eth(MAC.pod, MAC.cali, ipv4({ src: POD.pa, dst: TUNNEL_ADDRESS.n2, proto: 1, ttl: 64, id: 30_000 + i }, icmpEcho({ id: 5, seq: i }, big))));
    // n3 talks to the gateway itself now and then: its captures run as long as the others.
    if (i % 100 === 0) see('n3', 'eth0', at + 40 * US, eth(MAC.n3, MAC.gw, ipv4({ src: N.n3, dst: '192.168.77.1', proto: 17, ttl: 64, id: 40_000 + i }, udp({ sport: 5353, dport: 53 }, bytesOf(`query ${i}`)))));
  }
  s.sort((a, b) => a.tsNs - b.tsNs);

  const linkOf = (iface: string): number => (iface === 'tunl0' ? LINKTYPE_RAW : LINKTYPE_ETHERNET);
  const ifacesOf = (node: Node): string[] => [...new Set(s.filter((x) => x.node === node).map((x) => x.iface))].sort();
  const pcaps: string[] = [];
  const byNode = new Map<Node, string[]>();
  for (const node of ['n1', 'n2', 'n3'] as const) {
    const list: string[] = [];
    for (const iface of ifacesOf(node)) {
      const path = join(dir, `${node}-${iface}.pcap`);
      writeFileSync(path, pcapFile(linkOf(iface), s.filter((x) => x.node === node && x.iface === iface).map((x) => ({ tsNs: x.tsNs, frame: x.frame }))));
      list.push(`${node}:${iface}=${path}`);
    }
    byNode.set(node, list);
    pcaps.push(...list);
  }
  const pcapngs = {} as Record<Node, string>;
  for (const node of ['n1', 'n2', 'n3'] as const) {
    const ifaces = ifacesOf(node);
    // dumpcap's order: each interface's buffer written in turn every ~150 ms, so a record can be
    // up to that much older than one already written for another interface.
    const flushNs = 150 * MS;
    const records = s
      .filter((x) => x.node === node)
      .map((x) => ({ iface: ifaces.indexOf(x.iface), tsNs: x.tsNs, frame: x.frame }))
      .sort((a, b) => Math.floor(a.tsNs / flushNs) - Math.floor(b.tsNs / flushNs) || b.iface - a.iface || a.tsNs - b.tsNs);
    const path = join(dir, `${node}-multi.pcapng`);
    writeFileSync(path, pcapngFile(ifaces.map((name) => ({ name, linkType: linkOf(name) })), records));
    pcapngs[node] = `${node}:${path}`;
  }
  return {
    dir,
    pcaps,
    pcapngs,
    pcapsOf: (node) => [...(byNode.get(node) ?? [])],
    gzipped(input) {
      const eq = input.indexOf('=');
      const path = input.slice(eq + 1);
      const gz = `${path}.gz`;
      writeFileSync(gz, gzipSync(readFileSync(path)));
      return `${input.slice(0, eq + 1)}${gz}`;
    },
  };
}

