/**
 * The story with agents: `pathwatch agent` runs inside each node's namespace and ships protobuf
 * batches over a unix socket to a receiver (a small fastify server standing in for the collector,
 * which decodes them with the wire codec). Each agent is one process: the capture and the kernel
 * drop monitor (a BPF program loaded through libbpf) run inside it, with no child process. Node
 * n2's batches carry the vanished ICMP and TCP groups on its tunnel with the kernel's evidence: the
 * IP_RPFILTER drops the kernel reported for those very packets (matched by fingerprint, so one per
 * packet of the group in the batch), strict rp_filter in effect, the counter delta, the route back
 * by the uplink; and the node's status counts the kernel's drops per reason and interface. Node n1
 * ships flows and no vanished packet; a pod added while they run is captured by name; the receiver
 * goes away for a while and every batch still arrives (sequences without a gap after dedup); both
 * stop cleanly on SIGTERM, flushing.
 */
import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBatch } from '../../schemas/wire-codec.js';
import type { WireBatch } from '../../schemas/wire-types.js';
import { buildStoryTopology, cleanupStaleLabNamespaces, type StoryTopology } from '../../lab/topology.js';
import { runStoryTraffic } from '../../lab/traffic.js';
import { pythonExecutable } from '../../lab/exec.js';
import { ROOT, ensureBuilt } from '../support/built-cli.js';
import { labUnavailableReason } from '../support/lab-prerequisites.js';

const PREFIX = 'pwagent';
/** Three ICMP echo requests through a raw socket (the machine has no ping), to argv[1]. */
const PING_ONCE = `
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(0.5)
for seq in range(3):
    body = struct.pack('!BBHHH', 8, 0, 0, 77, seq) + b'pathwatch-new-pod'
    padded = body + b'\\0' * (len(body) % 2)
    c = sum(struct.unpack('!%dH' % (len(padded) // 2), padded))
    c = (c >> 16) + (c & 0xffff); c = ~(c + (c >> 16)) & 0xffff
    s.sendto(body[:2] + struct.pack('!H', c) + body[4:], (sys.argv[1], 0))
    try: s.recv(1500)
    except socket.timeout: pass
    time.sleep(0.1)
`;
const unavailable = labUnavailableReason(PREFIX);

/** Every process below `pid`, with its command name (from /proc's children lists). */
function descendants(pid: number): { pid: number; comm: string }[] {
  const found: { pid: number; comm: string }[] = [];
  const queue = [pid];
  for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      let children: string[] = [];
      try {
        children = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter((c) => c !== '');
      } catch {
        continue;
      }
      for (const c of children) {
        try {
          found.push({ pid: Number(c), comm: readFileSync(`/proc/${c}/comm`, 'utf8').trim() });
        } catch {
          // ended meanwhile
        }
        queue.push(Number(c));
      }
    }
  }
  return found;
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(unavailable !== null)('pathwatch agent on the story (VXLAN), shipping to a receiver', () => {
  let topo: StoryTopology | undefined;
  let receiver: FastifyInstance | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'pw-agent-'));
  const socket = join(dir, 'collector.sock');
  const batches: WireBatch[] = [];
  const agents: ChildProcessByStdio<null, Readable, Readable>[] = [];

  beforeAll(async () => {
    ensureBuilt();
    await cleanupStaleLabNamespaces(PREFIX, { olderThanMs: 10 * 60_000 });
    topo = await buildStoryTopology({ overlay: 'vxlan', prefix: PREFIX });
    receiver = await startReceiver();
  }, 120_000);

  async function startReceiver(): Promise<FastifyInstance> {
    const r = Fastify();
    r.addContentTypeParser('application/x-protobuf', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    r.post('/api/v1/ingest', async (req, reply) => {
      expect(req.headers['content-encoding']).toBe('gzip');
      batches.push(decodeBatch(new Uint8Array(gunzipSync(req.body as Buffer))));
      return reply.code(204).send();
    });
    await r.listen({ path: socket });
    return r;
  }

  afterAll(async () => {
    for (const a of agents) a.kill('SIGKILL');
    await receiver?.close();
    await topo?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ships the vanished packets of n2 with the kernel evidence, flows of both nodes, and stops on SIGTERM', async () => {
    const t = topo as StoryTopology;
    const start = (node: 'n1' | 'n2') => {
      const extra = node === 'n2' ? ['--metrics-listen', '127.0.0.1:9464'] : [];
      const child = spawn('ip', ['netns', 'exec', t.nodes[node].ns, process.execPath, join(ROOT, 'bin/pathwatch.js'), 'agent', '--collector', `unix:${socket}`, '--node', node, '--spool-dir', join(dir, `spool-${node}`), ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out = { stderr: '', exit: new Promise<number | null>((res) => child.on('exit', (c) => res(c))) };
      child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
      agents.push(child);
      return out;
    };
    const n1 = start('n1');
    const n2 = start('n2');
    await until(() => n1.stderr.includes('watching') && n2.stderr.includes('watching'), 20_000);
    // The capture (libpcap) and the drop monitor (libbpf) run inside the agent's own process: nothing
    // below it, neither tcpdump nor bpftrace. (`ip netns exec` exec()s node, so the pid spawned is
    // the agent's; the walk finds it below this process, so it would find the agent's children too.)
    const ours = descendants(process.pid);
    for (const a of agents) {
      expect(ours, 'the walk sees this process\'s children').toContainEqual({ pid: a.pid as number, comm: 'node' });
      expect(descendants(a.pid as number), 'child processes of an agent').toEqual([]);
    }
    // A pod appears while the agents run: its veth is captured and named.
    const podNs = `${PREFIX}-${t.id}-pnew`;
    const veth = 'cali0a1b2c3d4e5';
    const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
    ip('netns', 'add', podNs);
    try {
      ip('link', 'add', veth, 'netns', t.nodes.n2.ns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', podNs);
      ip('-n', t.nodes.n2.ns, 'link', 'set', veth, 'up');
      ip('-n', podNs, 'link', 'set', 'lo', 'up');
      ip('-n', podNs, 'link', 'set', 'eth0', 'up');
      ip('-n', podNs, 'addr', 'add', '10.91.1.140/32', 'dev', 'eth0');
      ip('-n', podNs, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link');
      ip('-n', podNs, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0');
      execFileSync('ip', ['netns', 'exec', t.nodes.n2.ns, 'sysctl', '-qw', `net.ipv4.conf.${veth}.proxy_arp=1`]);
      ip('-n', t.nodes.n2.ns, 'route', 'add', '10.91.1.140', 'dev', veth, 'scope', 'link');
      await runStoryTraffic(t);
      // The new pod talks to the gateway through node n2 (bounded: three pings to our own namespace).
      execFileSync('ip', ['netns', 'exec', podNs, pythonExecutable(), '-c', PING_ONCE, t.gateway.uplinkAddress], { stdio: 'pipe', timeout: 10_000 });
      const metrics = execFileSync('ip', ['netns', 'exec', t.nodes.n2.ns, process.execPath, '-e', 'fetch("http://127.0.0.1:9464/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))'], { encoding: 'utf8', timeout: 10_000 });
      expect(Number(/^pathwatch_agent_packets_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
      expect(metrics).toMatch(/^pathwatch_agent_ebpf_monitor_up 1$/m);
      for (const role of ['tunnel', 'pod', 'uplink']) expect(Number(new RegExp(`^pathwatch_agent_class_packets_total\\{class="${role}"\\} (\\d+)`, 'm').exec(metrics)?.[1]), role).toBeGreaterThan(0);
    } finally {
      ip('netns', 'del', podNs);
    }
    const pa = t.pods.asymmetric.address;
    const vanished = () => batches.filter((b) => b.node === 'n2').flatMap((b) => b.vanished);
    await until(() => ['1', '6'].every((p) => vanished().some((v) => String(v.proto) === p && v.dst === pa && Object.keys(v.kernel?.drop_reasons ?? {}).length > 0)), 20_000);
    // The collector goes away for a while: the agents spool, then deliver everything once it is back.
    await receiver?.close();
    await runStoryTraffic(t);
    await new Promise((r) => setTimeout(r, 1500));
    const during = batches.length;
    receiver = await startReceiver();
    for (const a of agents) a.kill('SIGTERM');
    expect(await n1.exit, n1.stderr).toBe(0);
    expect(await n2.exit, n2.stderr).toBe(0);

    for (const v of vanished()) {
      expect(v.iface).toBe(t.nodes.n2.tunnel);
      expect([v.src, v.dst]).not.toContain(t.pods.healthy.address);
    }
    // The kernel's drops counted for a group are those of its own packets (matched by fingerprint):
    // here every packet of the group was dropped by rp_filter, so each batch's group says so for
    // exactly its packets in that batch, and for no other reason.
    const n2Batches = [...new Map(batches.filter((b) => b.node === 'n2').map((b) => [`${b.agent_id}/${b.boot_id}/${b.sequence}`, b] as const)).values()];
    const withKernelDrops = n2Batches.flatMap((b) => b.vanished).filter((v) => Object.keys(v.kernel?.drop_reasons ?? {}).length > 0);
    expect(withKernelDrops.length).toBeGreaterThan(0);
    for (const v of withKernelDrops) expect(v.kernel?.drop_reasons, `${v.proto} ${v.src} -> ${v.dst}: ${v.packets} packet(s)`).toEqual({ IP_RPFILTER: v.packets });
    // The node's status counts the kernel's drops per reason and interface, and of those the ones
    // matched to vanished packets: by the last batch (sent after the last groups), all of these.
    const lastStatus = n2Batches.filter((b) => b.status).sort((x, y) => x.sequence - y.sequence).pop()?.status;
    const tunnelRpf = lastStatus?.kernel_drops.find((d) => d.reason === 'IP_RPFILTER' && d.iface === t.nodes.n2.tunnel);
    const matched = withKernelDrops.reduce((sum, v) => sum + (v.kernel?.drop_reasons['IP_RPFILTER'] ?? 0), 0);
    expect(tunnelRpf?.matched, JSON.stringify(lastStatus?.kernel_drops)).toBe(matched);
    expect(tunnelRpf?.drops ?? 0).toBeGreaterThanOrEqual(matched);
    const icmp = vanished().filter((v) => v.proto === 1 && v.dst === pa).pop();
    expect(icmp?.kernel?.drop_reasons['IP_RPFILTER']).toBeGreaterThan(0);
    expect(icmp?.kernel?.rp_filter_effective).toBe(1);
    expect(icmp?.kernel?.route_back_iface).toBe(t.nodes.n2.uplink);
    expect(icmp?.kernel?.rp_filter_counter_delta).toBeGreaterThan(0);
    expect(icmp?.path.map((h) => h.iface)).toEqual([t.nodes.n2.uplink, t.nodes.n2.tunnel]);
    // The packet itself as it arrived on the tunnel: a Linux SLL2 header, then the inner IPv4 header.
    const first = icmp?.first_bytes ?? new Uint8Array(0);
    expect(icmp?.link_type).toBe(276);
    expect(first.length).toBeGreaterThanOrEqual(20 + 20 + 8);
    expect(first[20]! >> 4).toBe(4);
    expect([...first.subarray(36, 40)].join('.')).toBe(pa);
    expect(icmp?.first_orig_len).toBeGreaterThanOrEqual(first.length);
    expect(batches.filter((b) => b.node === 'n1').flatMap((b) => b.vanished)).toEqual([]);
    expect(batches.filter((b) => b.node === 'n2').flatMap((b) => b.flows).some((f) => f.iface === veth)).toBe(true);
    for (const node of ["n1", "n2"]) expect(batches.filter((b) => b.node === node).flatMap((b) => b.flows).length, `${node}: ${JSON.stringify(batches.filter((b) => b.node === node).map((b) => [b.sequence, b.flows.length, b.vanished.length, b.kernel_drops.length]))} ${n1.stderr} ${n2.stderr}`).toBeGreaterThan(0);
    // Every batch arrived, once after dedup by (agent, boot, sequence): sequences 1..N without a gap,
    // including those made while the collector was away.
    expect(batches.length).toBeGreaterThan(during);
    // Nothing left behind: the spools were emptied and nothing was dropped.
    expect(n1.stderr).toMatch(/, 0 spooled, 0 lost\)/);
    expect(n2.stderr).toMatch(/, 0 spooled, 0 lost\)/);
    for (const node of ['n1', 'n2']) {
      const seqs = [...new Set(batches.filter((b) => b.node === node).map((b) => `${b.agent_id}/${b.boot_id}/${b.sequence}`))].map((id) => Number(id.split('/')[2])).sort((a, b) => a - b);
      expect(seqs, node).toEqual(seqs.map((_, i) => i + 1));
    }
  }, 90_000);
});
