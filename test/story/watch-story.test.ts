/**
 * The story live: `pathwatch watch` runs inside each node's namespace (as an agent would, with
 * `ip netns exec`), real traffic flows, and the drop events come out as JSON lines while it runs:
 * node n2 reports the reverse-path drop on its tunnel for ICMP and TCP, node n1 reports nothing,
 * and both stop cleanly on SIGTERM.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStoryTopology, cleanupStaleLabNamespaces, type Overlay, type StoryTopology } from '../../lab/topology.js';
import { runStoryTraffic } from '../../lab/traffic.js';
import { ROOT, ensureBuilt } from '../support/built-cli.js';
import { labUnavailableReason } from '../support/lab-prerequisites.js';

const PREFIX = 'pwwatch';
const unavailable = labUnavailableReason(PREFIX);

interface Watcher {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function startWatcher(ns: string, node: string): Watcher {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, join(ROOT, 'bin/pathwatch.js'), 'watch', '--json', '--node', node], { stdio: ['ignore', 'pipe', 'pipe'] });
  const w: Watcher = { child, stdout: '', stderr: '', exited: new Promise((res) => child.on('exit', (code) => res(code))) };
  child.stdout.on('data', (d: Buffer) => (w.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (w.stderr += d.toString()));
  return w;
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const overlay of ['vxlan', 'ipip'] as Overlay[]) {
  describe.skipIf(unavailable !== null)(`pathwatch watch on the story over ${overlay}`, () => {
    let topo: StoryTopology | undefined;
    const watchers: Watcher[] = [];

    beforeAll(async () => {
      ensureBuilt();
      await cleanupStaleLabNamespaces(PREFIX, { olderThanMs: 10 * 60_000 });
      topo = await buildStoryTopology({ overlay, prefix: PREFIX });
    }, 120_000);

    afterAll(async () => {
      for (const w of watchers) w.child.kill('SIGKILL');
      await topo?.destroy();
    });

    it('reports the drop on n2 tunnel while running, nothing on n1, and stops on SIGTERM', async () => {
      const t = topo as StoryTopology;
      const n1 = startWatcher(t.nodes.n1.ns, 'n1');
      const n2 = startWatcher(t.nodes.n2.ns, 'n2');
      watchers.push(n1, n2);
      await until(() => n1.stderr.includes('capturing') && n2.stderr.includes('capturing'), 15_000);
      await runStoryTraffic(t);
      const pa = t.pods.asymmetric.address;
      const client = t.gateway.clientAddress;
      type Ev = { node: string; iface: string; src: string; dst: string; proto: string; dport: number | null; verdict: string; confidence: string; evidence: { kind: string; detail: string }[]; remedy: string; packets: number; kernel: { reason: string; packets: number } | null };
      const events = () => n2.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Ev);
      await until(() => ['icmp', 'tcp'].every((p) => events().some((e) => e.proto === p && e.src === client && e.dst === pa)), 15_000);
      for (const e of events()) {
        expect([e.node, e.iface]).toEqual(['n2', t.nodes.n2.tunnel]);
        expect(e.verdict).toBe('reverse-path');
        expect([e.src, e.dst]).not.toContain(t.pods.healthy.address);
      }
      // The kernel's word: the eBPF monitor saw IP_RPFILTER for these packets, strict rp_filter is in
      // effect on the tunnel, and the route back to the client leaves by the uplink.
      const confirmed = events().filter((e) => e.confidence === 'confirmed');
      for (const proto of ['icmp', 'tcp']) expect(confirmed.some((e) => e.proto === proto && e.dst === pa)).toBe(true);
      for (const e of confirmed) {
        const detail = (kind: string) => e.evidence.find((x) => x.kind === kind)?.detail ?? '';
        // Each of the group's packets had its own kernel drop, matched by fingerprint.
        expect(detail('ebpf-drop-reason')).toBe(`IP_RPFILTER x${e.packets} on ${t.nodes.n2.tunnel} (${e.packets} of ${e.packets} packet(s) matched by fingerprint)`);
        expect(e.kernel).toEqual({ reason: 'IP_RPFILTER', packets: e.packets });
        expect(detail('rp-filter')).toMatch(/effective rp_filter on .* is 1 \(all=1/);
        expect(detail('route-back')).toBe(`the route back to ${client} leaves by ${t.nodes.n2.uplink}`);
        expect(e.remedy).toContain(`sysctl -w net.ipv4.conf.${t.nodes.n2.tunnel.replace(/\./g, '/')}.rp_filter=2`);
      }
      n1.child.kill('SIGTERM');
      n2.child.kill('SIGTERM');
      expect(await n1.exited).toBe(0);
      expect(await n2.exited).toBe(0);
      expect(n1.stdout.trim()).toBe('');
      expect(n2.stderr).toMatch(/drop group/);
    }, 60_000);
  });
}
