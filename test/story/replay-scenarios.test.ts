/**
 * Replay of every lab scenario (issue 16): each fault injected in the story's lab, real traffic,
 * real captures (a pcap per interface of n1, `tcpdump -i any` of n2, so that n2's exits are all
 * captured even when the pod never speaks), and `pathwatch replay --json` over them. Files carry no
 * kernel evidence, so every verdict is `possible`, as far as the traffic allows:
 *   - the faults at n2 (rp-filter, calico-rpf, policy, forwarding-off, blackhole) look the same on
 *     the wire: the client's packets arrive by the tunnel and die, while the pod's own traffic to the
 *     client leaves by eth0. The traffic shows the asymmetry, so reverse-path (the remedy's routing
 *     line is the lasting fix for every one of them); telling them apart takes the kernel;
 *   - conntrack-invalid at n1: a TCP flow whose SYN left n1 by the tunnel while nothing of the other
 *     direction passed n1, and the packets after it vanished;
 *   - mtu at n1: packets bigger than any overlay's MTU vanished while the small ones of the pair
 *     left by the tunnel;
 *   - neighbour at n2: nothing on the wire says why (an unanswered ARP request is not captured on a
 *     veth without carrier): vanished.
 * The healthy pod is never reported; every drop is at the scenario's drop site.
 *
 * Needs root, namespaces and iptables: skipped with the reason outside CI, failing in CI.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptures, type StoppedCaptures } from '../../lab/capture.js';
import { allLabScenarios, type LabScenario, type ScenarioName } from '../../lab/scenarios/index.js';
import { iptablesUnavailableReason } from '../../lab/scenarios/iptables.js';
import { buildStoryTopology, cleanupStaleLabNamespaces, type Overlay, type StoryTopology } from '../../lab/topology.js';
import { runStoryTraffic } from '../../lab/traffic.js';
import { ensureBuilt, runPathwatch } from '../support/built-cli.js';
import { labUnavailableReason } from '../support/lab-prerequisites.js';

const PREFIX = 'pwreplay';
const IN_CI = process.env['CI'] === 'true';
const unavailable = labUnavailableReason(PREFIX) ?? iptablesUnavailableReason();
if (unavailable !== null && !IN_CI) process.stderr.write(`test/story/replay-scenarios: skipping: ${unavailable}\n`);

/** What the traffic alone says about each scenario's drops (see the header). */
const REPLAY_VERDICT: Readonly<Record<ScenarioName, string>> = {
  'rp-filter': 'reverse-path',
  'calico-rpf': 'reverse-path',
  policy: 'reverse-path',
  'conntrack-invalid': 'conntrack-invalid',
  'forwarding-off': 'reverse-path',
  mtu: 'mtu',
  blackhole: 'reverse-path',
  neighbour: 'vanished',
};

interface DropJson {
  node: string;
  iface: string;
  src: string;
  dst: string;
  proto: string;
  dport: number | null;
  packets: number;
  verdict: string;
  confidence: string;
  evidence: { kind: string; detail: string }[];
  kernel: unknown;
}

describe('replay of the lab scenarios: prerequisites', () => {
  it.runIf(IN_CI)('are present in CI', () => {
    expect(unavailable, `the lab's scenarios cannot be replayed in CI: ${unavailable ?? ''}`).toBeNull();
  });
});

/** Builds the lab with the scenario's fault, captures the story's traffic, stops; returns what replay needs. */
async function captureScenario(overlay: Overlay, scenario: LabScenario): Promise<{ topo: StoryTopology; captures: StoppedCaptures }> {
  const topo = await buildStoryTopology({ overlay, prefix: PREFIX });
  try {
    await scenario.inject(topo);
    const n1 = topo.nodes.n1;
    const running = await startCaptures({
      interfaces: [n1.uplink, ...n1.tunnels, n1.podVeth].map((iface) => ({ label: 'n1', ns: n1.ns, iface })),
      any: [{ label: 'n2', ns: topo.nodes.n2.ns }],
    });
    // The captures stop whatever the traffic did; its failure, if any, is the error then.
    const sent = await runStoryTraffic(topo, scenario.traffic ?? {}).then(() => null, (e: unknown) => e);
    const captures = await running.stop({ settleMs: 1500 });
    if (sent !== null) throw sent;
    return { topo, captures };
  } catch (e) {
    await topo.destroy();
    throw e;
  }
}

describe.skipIf(unavailable !== null)(`replay of the lab's scenarios${unavailable === null ? '' : ` (skipped: ${unavailable})`}`, () => {
  beforeAll(async () => {
    ensureBuilt();
    await cleanupStaleLabNamespaces(PREFIX, { olderThanMs: 10 * 60_000 });
  });

  for (const overlay of ['ipip', 'vxlan'] as const) {
    for (const scenario of allLabScenarios()) {
      describe(`${scenario.name} over ${overlay}`, () => {
        let topo: StoryTopology | undefined;
        let captures: StoppedCaptures | undefined;
        let drops: DropJson[] = [];

        beforeAll(async () => {
          ({ topo, captures } = await captureScenario(overlay, scenario));
          const n1Files = captures.files.filter((f) => f.label === 'n1').map((f) => `n1:${f.interfaces[0]}=${f.path}`);
          const n2Any = captures.files.find((f) => f.label === 'n2');
          const ifnames = Object.entries(captures.ifindexes['n2'] ?? {}).flatMap(([idx, name]) => ['--ifname', `${idx}=${name}`]);
          const r = await runPathwatch(['replay', '--json', ...ifnames, ...n1Files, `n2:${n2Any?.path}`]);
          expect(r.stderr).toBe('');
          expect(r.code).toBe(0);
          drops = (JSON.parse(r.stdout) as { drops: DropJson[] }).drops;
        }, 90_000);

        afterAll(async () => {
          await topo?.destroy();
          if (captures) await rm(captures.dir, { recursive: true, force: true });
        });

        it(`finds the client's packets vanishing at the scenario's drop site: ${REPLAY_VERDICT[scenario.name]}, possible; nothing else, never the healthy pod`, () => {
          const t = topo as StoryTopology;
          const site = scenario.dropsAt(t);
          const all = drops.map((d) => `${d.verdict} (${d.confidence}) at ${d.node} on ${d.iface}: ${d.proto} ${d.src} -> ${d.dst}:${d.dport ?? ''} x${d.packets}`).join('\n');
          const client = t.gateway.clientAddress;
          const pod = t.pods.asymmetric.address;
          // The client's TCP to the pod (every scenario's probe reaches the drop site).
          const tcp = drops.filter((d) => d.proto === 'tcp' && d.src === client && d.dst === pod && d.dport === 80);
          expect(tcp.length, all).toBeGreaterThan(0);
          for (const d of drops) {
            expect([d.node, d.iface], all).toEqual([site.node, site.iface]);
            expect([d.src, d.dst], all).not.toContain(t.pods.healthy.address);
            expect([d.src, d.dst].includes(pod), all).toBe(true);
            expect(d.kernel, all).toBeNull();
            expect(d.confidence, all).toBe('possible');
          }
          for (const d of tcp) expect(d.verdict, all).toBe(REPLAY_VERDICT[scenario.name]);
          if (scenario.name === 'mtu') expect(tcp.flatMap((d) => d.evidence.map((e) => e.kind)), all).toContain('packet-size');
          if (scenario.name === 'conntrack-invalid') expect(tcp.flatMap((d) => d.evidence.map((e) => e.kind)), all).toContain('one-sided-flow');
        });
      });
    }
  }
});
