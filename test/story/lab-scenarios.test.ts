/**
 * `pathwatch lab --scenario all --fix --json` end to end (root, network namespaces, eBPF, iptables),
 * once per overlay: every way a packet vanishes that the lab builds is found where the scenario's
 * fault is (the asymmetric pod's node n2 on the tunnel the packets arrive by, or the wrong node n1
 * on its uplink: conntrack-invalid, mtu), with the verdict CONTRACT.md gives it, confirmed when the
 * kernel's own drop event was matched to the packets (else likely: the node's configuration and
 * counters); the fault is the only cause (nothing anywhere else); the healthy pod is never
 * reported; and after the scenario's own remedy nothing vanishes and the pod answers. Each scenario
 * runs in a lab of its own; the two runs take about 2 x 3 minutes. And the one-line usage errors of
 * --scenario, which need no root.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DropEvent } from '../../core/explain/drop-event.js';
import { iptablesUnavailableReason } from '../../lab/scenarios/iptables.js';
import { STORY } from '../../lab/topology.js';
import type { ScenarioOutcome } from '../../modes/lab/scenario-outcome.js';
import { ensureBuilt, runPathwatch } from '../support/built-cli.js';
import { labUnavailableReason } from '../support/lab-prerequisites.js';

const IN_CI = process.env['CI'] === 'true';
const unavailable = labUnavailableReason('pwlab') ?? iptablesUnavailableReason();

interface Expected {
  /** CONTRACT.md's name for the fault. */
  readonly verdict: string;
  /** Where the fault drops: n2 on the tunnel, or n1 on its uplink (the scenario's dropsAt). */
  readonly at: 'n2-tunnel' | 'n1-uplink';
  /** The client's probes to the pod whose packets vanish there (mtu: only TCP's data is too big). */
  readonly protos: readonly ('icmp' | 'tcp')[];
}

/** The contract: each scenario's verdict, and where its drops are, in the order `all` runs them. */
const EXPECTED: Readonly<Record<string, Expected>> = {
  'rp-filter': { verdict: 'reverse-path', at: 'n2-tunnel', protos: ['icmp', 'tcp'] },
  'calico-rpf': { verdict: 'netfilter', at: 'n2-tunnel', protos: ['icmp', 'tcp'] },
  policy: { verdict: 'netfilter', at: 'n2-tunnel', protos: ['icmp', 'tcp'] },
  // The client's echo replies to pa's pings and its TCP after the SYN: INVALID to n1's conntrack.
  'conntrack-invalid': { verdict: 'conntrack-invalid', at: 'n1-uplink', protos: ['icmp', 'tcp'] },
  'forwarding-off': { verdict: 'forwarding-disabled', at: 'n2-tunnel', protos: ['icmp', 'tcp'] },
  mtu: { verdict: 'mtu', at: 'n1-uplink', protos: ['tcp'] },
  blackhole: { verdict: 'no-route', at: 'n2-tunnel', protos: ['icmp', 'tcp'] },
  neighbour: { verdict: 'neighbour', at: 'n2-tunnel', protos: ['icmp', 'tcp'] },
};

function labNamespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith('pwlab-'));
}

function oneLine(d: DropEvent): string {
  return `${d.verdict} (${d.confidence}) at ${d.node} on ${d.iface}: ${d.proto} ${d.src}:${d.sport ?? ''} -> ${d.dst}:${d.dport ?? ''} x${d.packets} kernel=${JSON.stringify(d.kernel)}`;
}

describe('pathwatch lab --scenario: prerequisites', () => {
  it.runIf(IN_CI)('are present in CI', () => {
    expect(unavailable, `the lab's scenarios cannot run in CI: ${unavailable ?? ''}`).toBeNull();
  });
});

describe('pathwatch lab --scenario: usage', () => {
  it('says in one line what is wrong with a scenario or overlay, before anything else', async () => {
    ensureBuilt();
    const cases: Array<[string[], string]> = [
      [['--scenario', 'nope'], 'pathwatch: lab: --scenario takes rp-filter, calico-rpf, policy, conntrack-invalid, forwarding-off, mtu, blackhole, neighbour or all, not "nope"'],
      [['--scenario', 'all', '--overlay', 'gre'], 'pathwatch: lab: --overlay takes ipip or vxlan, not "gre"'],
      [['--overlay', 'ipip', '--overlay', 'vxlan'], 'pathwatch: lab: more than one --overlay goes with --scenario all'],
      [['--scenario', 'all', '--ui'], 'pathwatch: lab: --ui serves one scenario\'s drops; give --scenario NAME, not all'],
    ];
    for (const [args, line] of cases) {
      const r = await runPathwatch(['lab', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim()).toBe(line);
    }
  });
});

describe.skipIf(unavailable !== null)(`pathwatch lab --scenario all --fix --json${unavailable === null ? '' : ` (skipped: ${unavailable})`}`, () => {
  for (const overlay of ['ipip', 'vxlan'] as const) {
    describe(`over ${overlay}`, () => {
      const tunnel = overlay === 'ipip' ? 'tunl0' : 'vxlan.calico';
      const site = (at: Expected['at']): [string, string] => (at === 'n2-tunnel' ? ['n2', tunnel] : ['n1', 'eth0']);
      let rows: ScenarioOutcome[] = [];
      let namespacesLeft: string[] = [];

      beforeAll(async () => {
        ensureBuilt();
        const before = labNamespaces();
        const r = await runPathwatch(['lab', '--scenario', 'all', '--fix', '--json', '--overlay', overlay], { timeoutMs: 400_000 });
        expect(r.code, r.stderr).toBe(0);
        const doc = JSON.parse(r.stdout) as { scenarios: ScenarioOutcome[] };
        expect(Object.keys(doc)).toEqual(['scenarios']);
        rows = doc.scenarios;
        namespacesLeft = labNamespaces().filter((n) => !before.includes(n));
      }, 420_000);

      it('runs every scenario once, in order', () => {
        expect(rows.map((r) => [r.scenario, r.overlay])).toEqual(Object.keys(EXPECTED).map((s) => [s, overlay]));
        expect(namespacesLeft).toEqual([]);
      });

      for (const [scenario, { verdict, at, protos }] of Object.entries(EXPECTED)) {
        const [node, iface] = site(at);
        it(`${scenario}: ${verdict} at ${node} on ${iface}, the only cause, never the healthy pod, and none after the fix`, () => {
          const row = rows.find((r) => r.scenario === scenario);
          expect(row, `no row for ${scenario}`).toBeDefined();
          if (!row) return;
          expect(row.error).toBeUndefined();
          const all = row.drops.map(oneLine).join('\n');
          expect(row.dropsAt).toEqual({ node, iface });
          // The client's packets to the pod vanish where the fault is.
          for (const proto of protos) {
            const found = row.drops.filter((d) => d.proto === proto && d.node === node && d.iface === iface && d.dst === STORY.asymmetricPod);
            expect(found.length, `${proto}:\n${all}`).toBeGreaterThan(0);
          }
          for (const d of row.drops) {
            // The fault is the only cause: every drop is the asymmetric pod's traffic, where the fault is.
            expect([d.node, d.iface, d.src === STORY.asymmetricPod || d.dst === STORY.asymmetricPod], all).toEqual([node, iface, true]);
            expect(d.verdict, oneLine(d)).toBe(verdict);
            // confirmed: the kernel's drop event of these very packets; without one, the node's state.
            expect(d.confidence, oneLine(d)).toBe(d.kernel !== null ? 'confirmed' : 'likely');
            if (d.kernel !== null) expect(d.kernel.packets, oneLine(d)).toBeGreaterThan(0);
          }
          expect([row.verdict, row.expected]).toEqual([verdict, verdict]);
          const everything = [...row.drops, ...(row.afterFix?.drops ?? [])];
          for (const d of everything) expect([d.src, d.dst], oneLine(d)).not.toContain(STORY.healthyPod);
          expect(row.healthyPodReported).toBe(false);
          expect(row.afterFix?.drops.map(oneLine)).toEqual([]);
          expect(row.fixed, row.notFixedBecause).toBe(true);
        });
      }
    });
  }
});
