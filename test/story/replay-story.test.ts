/**
 * The story for real (issue: forensic replay): the lab topology in network namespaces on this
 * kernel, real traffic, real captures (tcpdump per interface, tcpdump -i any, dumpcap pcapng), and
 * `pathwatch replay` over them. For both overlays (VXLAN as Calico's vxlan.calico, and IPIP on a
 * userspace tunl0), the drop must be found at node n2 on the tunnel interface for ICMP and for TCP,
 * as a reverse-path verdict from the asymmetry in the traffic; the healthy pod is never reported.
 *
 * Needs root and namespaces: skipped with the reason outside CI, failing in CI.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptures, storyCapturePlan, type StoppedCaptures } from '../../lab/capture.js';
import { buildStoryTopology, cleanupStaleLabNamespaces, type Overlay, type StoryTopology } from '../../lab/topology.js';
import { runStoryTraffic } from '../../lab/traffic.js';
import { ensureBuilt, runPathwatch } from '../support/built-cli.js';
import { labUnavailableReason } from '../support/lab-prerequisites.js';

const PREFIX = 'pwstory';
const IN_CI = process.env['CI'] === 'true';
const unavailable = labUnavailableReason(PREFIX);
if (unavailable !== null && !IN_CI) process.stderr.write(`test/story: skipping the real-kernel story: ${unavailable}\n`);

interface DropEventJson {
  node: string;
  iface: string;
  src: string;
  dst: string;
  proto: string;
  sport: number | null;
  dport: number | null;
  packets: number;
  verdict: string;
  confidence: string;
  evidence: { kind: string; detail: string }[];
  remedy: string;
}

describe('story prerequisites', () => {
  it.runIf(IN_CI)('are present in CI', () => {
    expect(unavailable, `the story cannot run in CI: ${unavailable ?? ''}`).toBeNull();
  });
});

for (const overlay of ['vxlan', 'ipip'] as Overlay[]) {
  describe.skipIf(unavailable !== null)(`replay of the story over ${overlay}`, () => {
    let topo: StoryTopology | undefined;
    let captures: StoppedCaptures | undefined;

    beforeAll(async () => {
      ensureBuilt();
      await cleanupStaleLabNamespaces(PREFIX, { olderThanMs: 10 * 60_000 });
      topo = await buildStoryTopology({ overlay, prefix: PREFIX });
      const running = await startCaptures(storyCapturePlan(topo));
      try {
        await runStoryTraffic(topo);
      } finally {
        captures = await running.stop();
      }
    }, 120_000);

    afterAll(async () => {
      await topo?.destroy();
      if (captures) await rm(captures.dir, { recursive: true, force: true });
    });

    function files(kind: string, label: string): { path: string; interfaces: readonly string[] }[] {
      return (captures?.files ?? []).filter((f) => f.kind === kind && f.label === label);
    }

    async function replay(args: string[]): Promise<DropEventJson[]> {
      const r = await runPathwatch(['replay', '--json', ...args]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.stdout) as { drops: DropEventJson[]; stats: Record<string, unknown> };
      expect(Object.keys(doc).sort()).toEqual(['drops', 'stats']);
      return doc.drops;
    }

    function expectStoryDrops(drops: DropEventJson[]): void {
      const t = topo as StoryTopology;
      const tunnel = t.nodes.n2.tunnel;
      const pa = t.pods.asymmetric.address;
      const client = t.gateway.clientAddress;
      const icmp = drops.find((d) => d.proto === 'icmp' && d.src === client && d.dst === pa);
      const tcp = drops.find((d) => d.proto === 'tcp' && d.src === client && d.dst === pa && d.dport === 80);
      for (const d of [icmp, tcp]) {
        expect(d, JSON.stringify(drops, null, 1)).toBeDefined();
        expect(d?.node).toBe('n2');
        expect(d?.iface).toBe(tunnel);
        expect(d?.verdict).toBe('reverse-path');
        expect(d?.confidence).toBe('possible');
        expect(d?.evidence.map((e) => e.kind)).toContain('asymmetric-path');
        expect(d?.remedy).toContain(`sysctl -w net.ipv4.conf.${tunnel.replace(/\./g, '/')}.rp_filter=2`);
      }
      // Every drop is the story's: on n2's tunnel; the healthy pod never appears.
      for (const d of drops) {
        expect([d.node, d.iface]).toEqual(['n2', tunnel]);
        expect([d.src, d.dst]).not.toContain(t.pods.healthy.address);
      }
    }

    it('finds the drop in per-interface pcaps of node n2', async () => {
      const args = files('pcap', 'n2').map((f) => `n2:${f.interfaces[0]}=${f.path}`);
      expect(args.length).toBe(3);
      expectStoryDrops(await replay(args));
    });

    it('finds the drop in a tcpdump -i any (Linux SLL2) capture of n2', async () => {
      const [any] = files('pcap-any-sll2', 'n2');
      const ifnames = Object.entries(captures?.ifindexes['n2'] ?? {}).flatMap(([idx, name]) => ['--ifname', `${idx}=${name}`]);
      expect(any).toBeDefined();
      expectStoryDrops(await replay([...ifnames, `n2:${any?.path}`]));
    });

    it('finds the drop in a multi-interface dumpcap pcapng of n2', async () => {
      const [multi] = files('pcapng', 'n2');
      expect(multi).toBeDefined();
      expectStoryDrops(await replay([`n2:${multi?.path}`]));
    });

    it('draws the path from node n1 when both nodes are captured, and never reports the healthy pod', async () => {
      const args = [...files('pcap', 'n1'), ...files('pcap', 'n2')].map((f) => {
        const label = (captures?.files ?? []).find((x) => x.path === f.path)?.label;
        return `${label}:${f.interfaces[0]}=${f.path}`;
      });
      const drops = await replay(args);
      expectStoryDrops(drops);
      const r = await runPathwatch(['replay', ...args]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('vanished here');
      expect(r.stdout).toMatch(/n1\s+-> eth0/);
    });
  });
}
