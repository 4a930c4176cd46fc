/**
 * The replay command as users meet it (CONTRACT.md): help, exit statuses, one-line errors, stdin,
 * gzip, and every real capture of the fixture set (many malformed on purpose) giving exit 0 or 2
 * with a one-line reason and never a stack trace.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LINKTYPE_ETHERNET } from '../../agent/decode/link-types.js';
import { bytesOf, ethernet, ipv4, pcapFile, udp } from '../support/packet-builder.js';
import { writeThreeNodeCaptures } from '../support/three-node-story.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt, runPathwatch } from '../support/built-cli.js';

const FIXTURES = join(ROOT, 'test/fixtures/pcap');

function captures(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return captures(p);
    return /\.(pcap|pcapng)$/.test(name) ? [p] : [];
  });
}

beforeAll(() => ensureBuilt(), 180_000);

/**
 * A minute on one uplink: a bulk transfer (1,400-byte frames, about 4 MiB) and 60 flows that each
 * send a datagram every 2.5 to 7 s, so they go idle for whole flow intervals and come back.
 */
function comingAndGoing(): { tsNs: number; frame: Uint8Array }[] {
  const t0 = 1_790_000_000_000_000_000;
  const packets: { tsNs: number; frame: Uint8Array }[] = [];
  for (let i = 0; i < 3_000; i++) {
    const frame = ethernet({}, ipv4({ src: '10.1.0.1', dst: '10.2.0.1', proto: 17, id: i & 0xffff }, udp({ sport: 40000, dport: 9000 }, bytesOf('x'.repeat(1_350)))));
    packets.push({ tsNs: t0 + i * 20_000_000, frame });
  }
  for (let f = 0; f < 60; f++) {
    const every = 2_500 + ((f * 837) % 4_500);
    for (let at = (f * 211) % 3_000, n = 0; at < 60_000; at += every, n++) {
      const frame = ethernet({}, ipv4({ src: `10.3.0.${f + 1}`, dst: '10.2.0.9', proto: 17, id: f * 1_000 + n }, udp({ sport: 5000 + f, dport: 53 }, bytesOf(`query ${f}.${n}`))));
      packets.push({ tsNs: t0 + at * 1_000_000 + f, frame });
    }
  }
  return packets.sort((a, b) => a.tsNs - b.tsNs);
}

describe('pathwatch replay (command line)', () => {
  it('prints usage and exits 0 for --help, at top level and per command', async () => {
    for (const args of [['--help'], ['replay', '--help'], ['watch', '--help'], ['agent', '--help']]) {
      const r = await runPathwatch(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: pathwatch/);
    }
  });

  it('exits 2 with one line for bad arguments and unreadable input', async () => {
    const cases: [string[], RegExp][] = [
      [['replay'], /no input given/],
      [['replay', '--window', 'soon', 'x.pcap'], /--window must be/],
      [['replay', '--ifname', 'eth0', 'x.pcap'], /--ifname takes IDX=NAME/],
      [['replay', '/nonexistent/capture.pcap'], /cannot open \/nonexistent\/capture.pcap/],
      [['replay', join(ROOT, 'package.json')], /package.json: not a pcap or pcapng capture at byte offset 0/],
      [['frobnicate'], /unknown command/],
      [['agent'], /at least one --collector/],
      [['agent', '--collector', 'ftp://x'], /bad collector URL "ftp:\/\/x"/],
      [['agent', '--collector', 'http://127.0.0.1:1', '--sample', 'x'], /--sample takes a whole number/],
      [['watch', '--window', '0'], /--window must be/],
      // The message states the range the check applies (issue 13: "between 0 and 600000" refused 0).
      [['replay', '--window', '0', 'x.pcap'], /^pathwatch: replay: --window must be a number of milliseconds above 0 and at most 600000, not "0"$/m],
      [['agent', '--collector', 'http://127.0.0.1:1', '--window', '1e3'], /agent: --window must be a number of milliseconds above 0/],
      [['watch', '--window', '600001'], /watch: --window must be .* at most 600000, not "600001"/],
      [['replay', '--top', '5', 'x.pcap'], /replay: --top goes with --flows/],
      [['replay', '--flows', '--sort', 'time', 'x.pcap'], /replay: --sort takes packets or bytes, not "time"/],
      [['replay', '--flows', '--top', '0', 'x.pcap'], /replay: --top takes a whole number of flows above 0, not "0"/],
      [['replay', '--flows', '--json', 'x.pcap'], /replay: --flows is the table in the report; --json already holds the flows/],
    ];
    for (const [args, message] of cases) {
      const r = await runPathwatch(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('reads stdin and gzip-compressed captures the same as the file', async () => {
    const file = join(FIXTURES, 'deepflow/ipip.pcap');
    const plain = await runPathwatch(['replay', '--json', `node1:eth0=${file}`]);
    const fromStdin = await runPathwatch(['replay', '--json', 'node1:eth0=-'], { input: readFileSync(file) });
    const gz = await runPathwatch(['replay', '--json', 'node1:eth0=-'], { input: gzipSync(readFileSync(file)) });
    expect(plain.code).toBe(0);
    const stats = (out: string) => (JSON.parse(out) as { stats: { records: number; flows: number } }).stats;
    expect(stats(fromStdin.stdout)).toMatchObject({ records: 5, flows: stats(plain.stdout).flows });
    expect(stats(gz.stdout)).toMatchObject({ records: 5, flows: stats(plain.stdout).flows });
  });

  it('takes interface names from pcapng interface blocks', async () => {
    const r = await runPathwatch(['replay', '--json', join(FIXTURES, 'zeek/pcapng-multi-interface.pcapng')]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { stats: { nodes: { node: string; interfaces: { name: string }[] }[] } };
    expect(doc.stats.nodes[0]?.interfaces.map((i) => i.name)).toContain('eth0');
  });

  it('never crashes on any fixture: exit 0 with one JSON document, or 2 with one line', async () => {
    const files = captures(FIXTURES);
    expect(files.length).toBe(90);
    for (const f of files) {
      const r = await runPathwatch(['replay', '--json', f]);
      expect([0, 2], `${f}: ${r.stderr}`).toContain(r.code);
      if (r.code === 0) {
        const doc = JSON.parse(r.stdout) as Record<string, unknown>;
        expect(Object.keys(doc).sort()).toEqual(['drops', 'flows', 'stats']);
        // One interface per file: flows and statistics, never drops.
        if (!f.endsWith('.pcapng')) expect(doc['drops']).toEqual([]);
      } else {
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/byte offset \d+/);
      }
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  }, 240_000);

  it('with --collector and a capture dated before 2000: the analysis is printed, then one line says why it was not sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-1999-'));
    try {
      const t = Date.UTC(1999, 5, 1) * 1e6;
      const file = join(dir, 'old.pcap');
      writeFileSync(file, pcapFile(LINKTYPE_ETHERNET, [0, 1, 2].map((i) => ({ tsNs: t + i * 1e6, frame: ethernet({}, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, id: i }, udp({ sport: 1, dport: 2 }, bytesOf('x')))) }))));
      const r = await runPathwatch(['replay', '--json', '--collector', 'unix:/nonexistent/collector.sock', file]);
      expect(r.code).toBe(2);
      expect((JSON.parse(r.stdout) as { stats: { records: number } }).stats.records).toBe(3);
      expect(r.stderr.trim().split('\n')).toEqual([
        'pathwatch: replay: not sent to unix:/nonexistent/collector.sock: the capture is dated 1999-06-01T00:00:00.000Z .. 1999-06-01T00:00:00.002Z, and a collector stores times from 2000 to 2200 (a device without a clock writes 1970); the analysis above is complete',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--json lists what was decoded: flows with the whole encapsulation chain, outermost first', async () => {
    // Zeek's PPTP capture: IPv6 carrying IPv4 (4in6), carrying PPTP's GREv1 with PPP, carrying a DNS query and its answer.
    const r = await runPathwatch(['replay', '--json', join(FIXTURES, 'zeek/tunnels/gre-pptp.pcap')]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { flows: unknown[]; stats: { encapsulations: unknown[]; nodes: { interfaces: unknown[] }[] } };
    // Equal packet counts: the larger (the answer) first.
    expect(doc.flows).toEqual([
      expect.objectContaining({ src: '8.8.8.8', dst: '172.16.44.3', sport: 53, dport: 40768, packets: 1, bytes: 268 }),
      {
        node: 'local',
        iface: 'gre-pptp',
        src: '172.16.44.3',
        dst: '8.8.8.8',
        proto: 'udp',
        sport: 40768,
        dport: 53,
        encap: [
          { kind: 'ipip', src: '2402:f000:1:8e01::5555', dst: '2607:fcd0:100:2300::b108:2a6b', vni: null },
          { kind: 'gre', src: '16.0.0.200', dst: '192.52.166.154', vni: 6016 },
        ],
        packets: 1,
        bytes: 197,
        firstSeen: '2014-12-03T03:35:03.821Z',
        lastSeen: '2014-12-03T03:35:03.821Z',
      },
    ]);
    expect(doc.stats.encapsulations).toEqual([{ chain: 'ipip>gre', packets: 2 }]);
    expect(doc.stats.nodes[0]?.interfaces).toEqual([{ name: 'gre-pptp', role: 'uplink', packets: 2, bytes: 465 }]);
  });

  it('--flows prints the table, sorted by packets or bytes, --top cut; undecoded tunnels are shown as such', async () => {
    const fixture = join(FIXTURES, 'tcpdump/various_gre.pcap');
    const byPackets = await runPathwatch(['replay', '--flows', fixture]);
    expect(byPackets.code).toBe(0);
    const table = byPackets.stdout.slice(byPackets.stdout.indexOf('flows: '));
    const rows = table.trim().split('\n').slice(2);
    expect(table).toMatch(/^flows: 10 \(node, interface, encapsulation, innermost 5-tuple; both directions\), by packets\n/);
    expect(rows).toHaveLength(10);
    expect(rows[0]).toMatch(/^local\s+various_gre\s+icmp 172\.17\.1\.5[45] > 172\.17\.1\.5[45]\s+gre key 40 10\.172\.64\.[67] > 10\.172\.64\.[67]\s+5\s+770\s/);
    // GRE keepalives and CDP over GRE: never plain traffic of the outer addresses.
    expect(rows.filter((l) => l.includes('(payload not decoded: gre-protocol-0x0000)'))).toHaveLength(4);
    expect(rows.filter((l) => l.includes('(payload not decoded: gre-protocol-0x2000)'))).toHaveLength(2);
    expect(rows.some((l) => / 47 /.test(l))).toBe(false);
    expect(byPackets.stdout).toMatch(/encapsulations: gre 12, /);
    const byBytes = await runPathwatch(['replay', '--flows', '--sort', 'bytes', '--top', '3', fixture]);
    const top = byBytes.stdout.slice(byBytes.stdout.indexOf('flows: ')).trim().split('\n');
    expect(top[0]).toMatch(/by bytes, first 3$/);
    expect(top.slice(2)).toHaveLength(3);
    const bytesColumn = top.slice(2).map((l) => Number((/\s(\d[\d,]*)\s+\d\d:\d\d/.exec(l)?.[1] ?? '').replace(/,/g, '')));
    expect(bytesColumn).toEqual([...bytesColumn].sort((a, b) => b - a));
    expect(bytesColumn[0]).toBe(770);
  });

  it('the same bytes as a file, gzip-compressed or on stdin give the same document (a capture of several MiB, read in many chunks)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-feed-'));
    try {
      // The three-node story's uplink of n1 (tunnels, drops), and a minute of traffic whose flows go
      // quiet and come back: what the flow table frees and makes again depends on when it is flushed,
      // which must be capture time, never where reads happen to end (issue 13: 33, 43 and 38 flows).
      const set = writeThreeNodeCaptures(dir);
      const input = set.pcapsOf('n1').find((p) => p.includes(':eth0=')) as string;
      const story = input.slice(input.indexOf('=') + 1);
      const quiet = join(dir, 'quiet.pcap');
      writeFileSync(quiet, pcapFile(LINKTYPE_ETHERNET, comingAndGoing()));
      const doc = (out: string) => {
        const d = JSON.parse(out) as { stats: Record<string, unknown> };
        delete d.stats['inputs'];
        delete d.stats['warnings'];
        return JSON.stringify(d);
      };
      for (const [label, path] of [['n1:eth0', story], ['local:eth0', quiet]] as const) {
        expect(statSync(path).size).toBeGreaterThan(3 << 20);
        const file = await runPathwatch(['replay', '--json', `${label}=${path}`]);
        const stdin = await runPathwatch(['replay', '--json', `${label}=-`], { input: readFileSync(path) });
        const gz = await runPathwatch(['replay', '--json', `${label}=-`], { input: gzipSync(readFileSync(path)) });
        expect(file.code).toBe(0);
        expect(doc(stdin.stdout), `${label} on stdin`).toBe(doc(file.stdout));
        expect(doc(gz.stdout), `${label} gzip-compressed`).toBe(doc(file.stdout));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
