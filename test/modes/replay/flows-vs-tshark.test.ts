/**
 * Replay's flows (CONTRACT.md: one per node, interface, encapsulation chain and innermost 5-tuple)
 * against what tshark dissects, on every fixture with a tunnel: the set of innermost 5-tuples must be
 * the same (issue 13).
 *
 * tshark's innermost packet of a frame is its last IPv4/IPv6 layer before any ICMP (whose payload is
 * a quoted packet), with the protocol and the TCP/UDP ports that follow it. A flow whose tunnel
 * payload we do not decode (PPP LCP, GRE keepalives, ERSPAN frame type 7, ARP inside VXLAN) has no
 * innermost packet: tshark's innermost is then the IP header carrying the tunnel, so it is compared
 * by the layer's addresses and the protocol carrying that kind (47 for GRE and ERSPAN, 17 for VXLAN
 * and Geneve), ports aside. Fragments are not reassembled (replay does not reassemble either) and
 * UDP 8472 is VXLAN for tshark as for us (Linux's default port).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReplayInputSpec } from '../../../modes/replay/replay-input.js';
import { runReplay } from '../../../modes/replay/replay-runner.js';
import type { ReplayFlow } from '../../../modes/replay/flow-catalog.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/pcap');
const CI = process.env.CI === 'true';

/** Every fixture with a tunnel: IPIP/6in4/4in6, GRE (plain, TEB, PPTP, Cisco MetaData), ERSPAN I-III, VXLAN, Geneve. */
const TUNNEL_FIXTURES = [
  'deepflow/geneve.pcap',
  'deepflow/ip6-vxlan.pcap',
  'deepflow/ipip.pcap',
  'deepflow/vmware-gre-teb.pcap',
  'tcpdump/geneve-gcp.pcap',
  'tcpdump/geneve.pcap',
  'tcpdump/gso-ipv4-vxlan-ipv4.pcap',
  'tcpdump/gso-ipv6-geneve-ipv6.pcap',
  'tcpdump/pptp.pcap',
  'tcpdump/various_gre.pcap',
  'tcpdump/vxlan.pcap',
  'tcpdump/vxlan_port_8472.pcap',
  ...readdirSync(join(FIXTURES, 'tcpdump'))
    .filter((f) => f.startsWith('erspan-') && f.endsWith('.pcap'))
    .map((f) => `tcpdump/${f}`),
  'zeek/erspanII.pcap',
  'zeek/erspanIII.pcap',
  ...readdirSync(join(FIXTURES, 'zeek/tunnels')).map((f) => `zeek/tunnels/${f}`),
].sort();

const PROTOCOLS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, gre: 47, pim: 103, ospf: 89, igmp: 2, esp: 50, sctp: 132, vrrp: 112 };
const IPV6_EXTENSIONS = new Set(['ipv6.hopopts', 'ipv6.routing', 'ipv6.fraghdr', 'ipv6.dstopts']);
const FIELDS = ['frame.protocols', 'ip.src', 'ip.dst', 'ip.proto', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport'] as const;
type Field = (typeof FIELDS)[number];

interface Tuple {
  src: string;
  dst: string;
  proto: number | null;
  sport: number | null;
  dport: number | null;
}

const key = (t: Tuple): string => `${t.src} > ${t.dst} proto ${t.proto ?? '?'} ports ${t.sport ?? '-'} > ${t.dport ?? '-'}`;
const triple = (t: Tuple): string => `${t.src} > ${t.dst} proto ${t.proto ?? '?'}`;

function hasTshark(): boolean {
  return spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
}

function tsharkTuples(path: string): Tuple[] {
  const args = ['-n', '-r', path, '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-d', 'udp.port==8472,vxlan', '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of FIELDS) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tshark failed on ${path}: ${r.stderr}`);
  const tuples: Tuple[] = [];
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    const cols = line.split('|');
    const values = (f: Field): string[] => {
      const c = cols[FIELDS.indexOf(f)] ?? '';
      return c === '' ? [] : c.split(',');
    };
    const tokens = (cols[0] ?? '').split(':');
    // The innermost IP layer (before an ICMP message, whose payload is quoted), and how many of its family precede it.
    let innermost: { family: 'ip' | 'ipv6'; nth: number; at: number } | undefined;
    const seen = { ip: 0, ipv6: 0 };
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i] as string;
      if ((t === 'icmp' || t === 'icmpv6') && innermost) break;
      if (t === 'ip' || t === 'ipv6') innermost = { family: t, nth: seen[t]++, at: i };
    }
    if (!innermost) continue;
    const { family, nth, at } = innermost;
    const src = values(`${family}.src`)[nth];
    const dst = values(`${family}.dst`)[nth];
    if (src === undefined || dst === undefined) continue; // a header too broken for tshark to show addresses
    const after = tokens.slice(at + 1).filter((t) => !IPV6_EXTENSIONS.has(t));
    const next = after[0];
    let proto: number | null = next !== undefined && next in PROTOCOLS ? (PROTOCOLS[next] as number) : null;
    if (proto === null && family === 'ip') proto = Number(values('ip.proto')[nth]);
    let sport: number | null = null;
    let dport: number | null = null;
    if (next === 'tcp' || next === 'udp') {
      const before = tokens.slice(0, at).filter((t) => t === next).length;
      const s = values(`${next}.srcport`)[before];
      const d = values(`${next}.dstport`)[before];
      if (s !== undefined && d !== undefined) {
        sport = Number(s);
        dport = Number(d);
      }
    }
    tuples.push({ src, dst, proto, sport, dport });
  }
  return tuples;
}

const NAMED: Readonly<Record<string, number>> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };
const CARRIER: Readonly<Record<string, number>> = { gre: 47, erspan: 47, vxlan: 17, geneve: 17 };

function ourTuples(flows: readonly ReplayFlow[]): { decoded: Tuple[]; undecoded: Tuple[] } {
  const decoded: Tuple[] = [];
  const undecoded: Tuple[] = [];
  for (const f of flows) {
    if (f.undecoded !== undefined) {
      const layer = f.encap[f.encap.length - 1];
      if (!layer) throw new Error(`an undecoded flow without a layer: ${JSON.stringify(f)}`);
      undecoded.push({ src: layer.src, dst: layer.dst, proto: CARRIER[layer.kind] ?? null, sport: null, dport: null });
      continue;
    }
    const proto = f.proto === null ? null : (NAMED[f.proto] ?? Number(f.proto));
    decoded.push({ src: f.src ?? '', dst: f.dst ?? '', proto, sport: f.sport, dport: f.dport });
  }
  return { decoded, undecoded };
}

describe('replay flows against tshark, on the fixtures with tunnels', () => {
  const available = hasTshark();

  it(`covers ${TUNNEL_FIXTURES.length} fixtures, ERSPAN and PPTP among them`, () => {
    expect(TUNNEL_FIXTURES.length).toBeGreaterThanOrEqual(30);
    expect(TUNNEL_FIXTURES).toEqual(expect.arrayContaining(['tcpdump/erspan-type-ii-2.pcap', 'tcpdump/erspan-type-iii-ft-0.pcap', 'zeek/tunnels/gre-pptp.pcap', 'tcpdump/pptp.pcap']));
  });

  for (const rel of TUNNEL_FIXTURES) {
    it(rel, async (ctx) => {
      if (!available) {
        if (CI) throw new Error('CI=true but tshark is not installed');
        ctx.skip('tshark is not installed');
      }
      const path = join(FIXTURES, rel);
      const theirs = tsharkTuples(path);
      const result = await runReplay({ inputs: [parseReplayInputSpec(path)] });
      const ours = ourTuples(result.flows);
      const ourFull = new Set(ours.decoded.map(key));
      const ourTriples = new Set(ours.undecoded.map(triple));
      // A tshark tuple without a protocol (an IPv6 header followed by nothing tshark names) matches on addresses.
      const matches = (t: Tuple): boolean =>
        ourFull.has(key(t)) || ourTriples.has(triple(t)) || (t.proto === null && ours.decoded.some((o) => o.src === t.src && o.dst === t.dst));
      const theirFull = new Set(theirs.map(key));
      const theirTriples = new Set(theirs.map(triple));
      const theirAddresses = new Set(theirs.filter((t) => t.proto === null).map((t) => `${t.src} > ${t.dst}`));
      expect(theirs.filter((t) => !matches(t)).map(key), 'dissected by tshark, missing from our flows').toEqual([]);
      expect(
        ours.decoded.filter((o) => !theirFull.has(key(o)) && !theirAddresses.has(`${o.src} > ${o.dst}`)).map(key),
        'in our flows, not dissected by tshark',
      ).toEqual([]);
      expect(ours.undecoded.filter((o) => !theirTriples.has(triple(o))).map(triple), 'undecoded tunnels tshark does not show').toEqual([]);
      // Every cleanly decoded IP packet is in exactly one flow; only those cut short or malformed
      // before their addresses may be missing (fixtures are far below the flow table's bound).
      const inFlows = result.flows.filter((f) => f.undecoded === undefined).reduce((n, f) => n + f.packets, 0);
      const { ipPackets, truncated, malformed } = result.stats;
      expect(inFlows).toBeLessThanOrEqual(ipPackets);
      expect(inFlows).toBeGreaterThanOrEqual(ipPackets - truncated - malformed);
    });
  }
});
