/**
 * The story end to end with the real collector (IPIP overlay, userspace tunl0 where the kernel has
 * no ipip module): `pathwatch collector` with its embedded store, `pathwatch agent` inside each
 * node's namespace shipping over a unix socket, real traffic. The collector's API then shows the
 * reverse-path drops of ICMP and TCP at n2 on tunl0, confirmed by the kernel, with the remedy; none
 * for the healthy pod; the nodes with their interfaces; and the pcapng export of a drop, which
 * tshark opens with the interface named n2/tunl0 and the verdict in the packet comment.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DropEvent } from '../../core/explain/drop-event.js';
import { buildStoryTopology, cleanupStaleLabNamespaces, type StoryTopology } from '../../lab/topology.js';
import { runStoryTraffic } from '../../lab/traffic.js';
import { ROOT, ensureBuilt } from '../support/built-cli.js';
import { labUnavailableReason } from '../support/lab-prerequisites.js';

const PREFIX = 'pwcoll';
const unavailable = labUnavailableReason(PREFIX);
if (unavailable !== null && process.env['CI'] !== 'true') process.stderr.write(`test/story: skipping the collector story: ${unavailable}\n`);

async function until(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** GET over the collector's unix socket. */
function get(socket: string, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: 'GET' }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end();
  });
}

type Child = { child: ChildProcessByStdio<null, Readable, Readable>; stderr: () => string; exit: Promise<number | null> };

function start(args: string[]): Child {
  const child = spawn(args[0] as string, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  return { child, stderr: () => stderr, exit: new Promise((res) => child.on('exit', (c) => res(c))) };
}

describe.skipIf(unavailable !== null)('the story through the real collector (IPIP)', () => {
  let topo: StoryTopology | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'pw-collector-story-'));
  const socket = join(dir, 'collector.sock');
  const children: Child[] = [];

  beforeAll(async () => {
    ensureBuilt();
    await cleanupStaleLabNamespaces(PREFIX, { olderThanMs: 10 * 60_000 });
    topo = await buildStoryTopology({ overlay: 'ipip', prefix: PREFIX });
  }, 120_000);

  afterAll(async () => {
    for (const c of children) c.child.kill('SIGKILL');
    await topo?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds, explains, stores and exports the reverse-path drops', async () => {
    const t = topo as StoryTopology;
    const pathwatch = [process.execPath, join(ROOT, 'bin/pathwatch.js')];
    const collector = start([...pathwatch, 'collector', '--listen', `unix:${socket}`, '--store', `embedded:${join(dir, 'data')}`, '--stitch-hold', '2']);
    children.push(collector);
    await until(() => collector.stderr().includes('listening on'), 30_000, `the collector (${collector.stderr()})`);
    const agents = (['n1', 'n2'] as const).map((node) => {
      const a = start(['ip', 'netns', 'exec', t.nodes[node].ns, ...pathwatch, 'agent', '--collector', `unix:${socket}`, '--node', node, '--spool-dir', join(dir, `spool-${node}`), '--cross-node-sample', '1']);
      children.push(a);
      return a;
    });
    await until(() => agents.every((a) => a.stderr().includes('watching')), 20_000, 'the agents');
    await runStoryTraffic(t);

    const pa = t.pods.asymmetric.address;
    const drops = async (): Promise<DropEvent[]> => (JSON.parse((await get(socket, '/api/v1/drops')).body.toString()) as { drops: DropEvent[] }).drops;
    const confirmed = (all: DropEvent[], proto: string) => all.find((d) => d.proto === proto && d.dst === pa && d.verdict === 'reverse-path' && d.confidence === 'confirmed');
    await until(async () => {
      const all = await drops();
      return confirmed(all, 'icmp') !== undefined && confirmed(all, 'tcp') !== undefined;
    }, 30_000, 'confirmed reverse-path drops of ICMP and TCP');

    const all = await drops();
    for (const proto of ['icmp', 'tcp']) {
      const d = confirmed(all, proto) as DropEvent;
      expect(d).toMatchObject({ node: 'n2', iface: 'tunl0' });
      expect(d.evidence.map((e) => e.kind)).toEqual(expect.arrayContaining(['ebpf-drop-reason', 'rp-filter', 'route-back', 'netstat-counter']));
      expect(d.remedy).toMatch(/sysctl -w net\.ipv4\.conf\.tunl0\.rp_filter=2/);
      // Stored and read back: the kernel's own drop of each of the group's packets, by fingerprint.
      expect(d.kernel, JSON.stringify(d)).toEqual({ reason: 'IP_RPFILTER', packets: d.packets });
      expect(d.evidence.find((e) => e.kind === 'ebpf-drop-reason')?.detail).toBe(`IP_RPFILTER x${d.packets} on tunl0 (${d.packets} of ${d.packets} packet(s) matched by fingerprint)`);
    }
    for (const d of all) expect([d.src, d.dst], JSON.stringify(d)).not.toContain(t.pods.healthy.address);

    const icmp = confirmed(all, 'icmp') as DropEvent;
    const path = JSON.parse((await get(socket, `/api/v1/paths/${icmp.id}`)).body.toString()) as { hops: { node: string; iface: string }[] };
    expect(path.hops.at(-1)).toMatchObject({ node: 'n2', iface: 'tunl0' });
    const nodes = JSON.parse((await get(socket, '/api/v1/nodes')).body.toString()) as { nodes: { node: string; interfaces: { name: string; role: string }[] | null }[] };
    await until(async () => {
      const n = JSON.parse((await get(socket, '/api/v1/nodes')).body.toString()) as typeof nodes;
      return n.nodes.length === 2 && n.nodes.every((x) => x.interfaces !== null);
    }, 20_000, 'both nodes with their interfaces');

    const exported = await get(socket, `/api/v1/export.pcapng?id=${icmp.id}`);
    expect(exported.status).toBe(200);
    const file = join(dir, 'drop.pcapng');
    writeFileSync(file, exported.body);
    const tshark = start(['tshark', '-r', file, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'ip.dst', '-e', 'frame.comment']);
    let out = '';
    tshark.child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    expect(await tshark.exit, tshark.stderr()).toBe(0);
    const first = out.trim().split('\n')[0]?.split('\t') ?? [];
    expect(first[0]).toBe('n2/tunl0');
    expect(first[1]).toBe(pa);
    expect(first[2]).toMatch(/reverse-path \(confirmed\)/);

    for (const a of agents) a.child.kill('SIGTERM');
    for (const a of agents) expect(await a.exit, a.stderr()).toBe(0);
    // Every packet's tunnel hops were reported (sample 1): those that crossed from n1 to n2 are
    // matched across the nodes, and none is taken for a transit loss.
    const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec((await get(socket, '/metrics')).body.toString())?.[1]);
    await until(async () => (await metric('pathwatch_collector_cross_node_matched_total')) > 0, 20_000, 'packets stitched across nodes');
    await new Promise((r) => setTimeout(r, 8000)); // past the hold (2 s) and a judging tick (5 s)
    expect(await metric('pathwatch_collector_cross_node_lost_total')).toBe(0);
    expect((await drops()).filter((d) => d.node === 'n1')).toEqual([]);
    collector.child.kill('SIGTERM');
    expect(await collector.exit, collector.stderr()).toBe(0);
  }, 180_000);
});

describe('the story through the real collector: prerequisites', () => {
  it.runIf(process.env['CI'] === 'true')('are present in CI', () => {
    expect(unavailable, `the story cannot run in CI: ${unavailable ?? ''}`).toBeNull();
  });
});
