/**
 * The collector's HTTP API end to end over real sockets, with the embedded store (chDB) in a
 * temporary directory: ingest with tokens, limits and dedup; drop queries with the contract's
 * filters; server-sent events; the pcapng export opened by tshark; alerts to a webhook; metrics.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WireDirection } from '../../../schemas/wire-types.js';
import { startCollector, CollectorConfigError, type RunningCollector } from '../../../collector/collector-runner.js';
import { startCollectorWithTokens } from '../../support/token-collector.js';
import { MAX_EVENT_STREAMS } from '../../../collector/api/drop-event-hub.js';
import type { DropEvent } from '../../../core/explain/drop-event.js';
import { T0, batch, encoded, rpfVanished } from '../../support/wire-batches.js';

const INGEST_TOKEN = 'ingest-token-0123456789';
const READ_TOKEN = 'read-token-0123456789';

let dir: string;
let collector: RunningCollector;
let base: string;
let webhook: Server;
const webhookBodies: { status: string; alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[] = [];

function ingest(body: Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/api/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip', ...headers },
    body,
  });
}

async function get(path: string, token = READ_TOKEN): Promise<Response> {
  return fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
}

async function drops(query = ''): Promise<DropEvent[]> {
  const res = await get(`/api/v1/drops${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { drops: DropEvent[] }).drops;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pathwatch-collector-'));
  webhook = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      webhookBodies.push(JSON.parse(text) as (typeof webhookBodies)[number]);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', () => r()));
  const port = (webhook.address() as { port: number }).port;
  // (The ingest token's file ends in a newline, as editors write it: the collector trims it.)
  collector = await startCollectorWithTokens(dir, { ingest: `${INGEST_TOKEN}\n`, read: READ_TOKEN }, {
    listen: ['127.0.0.1:0', `unix:${join(dir, 'collector.sock')}`],
    webhook: [`http://127.0.0.1:${port}/hook`],
    alertRule: { verdicts: ['reverse-path'], confidences: ['likely', 'confirmed'], minPackets: 3, windowMs: 60_000, resolveAfterMs: 1500, repeatMs: 60_000 },
    alertTickMs: 100,
  });
  base = `http://${collector.addresses[0]}`;
}, 120_000);

afterAll(async () => {
  await collector?.close();
  webhook?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ingest', () => {
  it('answers 401 before reading the body, whatever it is', async () => {
    for (const auth of [undefined, 'Bearer wrong-token-xxxxxxxx', `Basic ${INGEST_TOKEN}`, `Bearer ${READ_TOKEN}`]) {
      const res = await fetch(`${base}/api/v1/ingest`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', ...(auth ? { authorization: auth } : {}) }, body: Buffer.from('garbage') });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'missing or wrong bearer token' });
    }
  });

  it('refuses bodies that do not decode, the wrong type, and decompression bombs, with one line', async () => {
    const garbage = await ingest(gzipSync(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])));
    expect(garbage.status).toBe(400);
    const notGzip = await ingest(Buffer.from('not gzip at all'));
    expect(notGzip.status).toBe(400);
    expect(((await notGzip.json()) as { error: string }).error).toMatch(/gzip/);
    const json = await ingest(Buffer.from('{}'), { 'content-type': 'application/json', 'content-encoding': 'identity' });
    expect(json.status).toBe(415);
    const bomb = await ingest(gzipSync(Buffer.alloc(17 * 1024 * 1024)));
    expect(bomb.status).toBe(413);
    expect(((await bomb.json()) as { error: string }).error).toMatch(/exceeds/);
    const badAddress = await ingest(encoded(batch({ sequence: 99, vanished: [rpfVanished({ src: "1.2.3.4'; DROP TABLE drops; --" })] })));
    expect(badAddress.status).toBe(400);
    expect(((await badAddress.json()) as { error: string }).error).toBe('vanished src is not an IP address');
  });

  it('stores a batch once however often it is retried, and adds what later batches add', async () => {
    const first = encoded(batch({ sequence: 1, vanished: [rpfVanished()] }));
    expect(await (await ingest(first)).json()).toEqual({ outcome: 'stored' });
    expect(await (await ingest(first)).json()).toEqual({ outcome: 'duplicate' });
    let found = await drops();
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ node: 'n2', iface: 'tunl0', src: '100.64.0.1', dst: '10.91.1.130', proto: 'icmp', sport: null, dport: null, packets: 3, verdict: 'reverse-path', confidence: 'confirmed' });
    expect(found[0]!.firstSeen).toBe(new Date(T0).toISOString());
    expect(found[0]!.remedy).toMatch(/net\.ipv4\.conf\.tunl0\.rp_filter=2/);
    // The group grew by 2 packets: the agent sends only the new ones.
    const grown = encoded(batch({ sequence: 2, vanished: [rpfVanished({ packets: 2, first_seen_ms: T0 + 3000, last_seen_ms: T0 + 4000 })] }));
    await ingest(grown);
    await ingest(grown);
    found = await drops();
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ packets: 5, firstSeen: new Date(T0).toISOString(), lastSeen: new Date(T0 + 4000).toISOString() });
  });

  it('serves the same API on a unix socket', async () => {
    // Asynchronously: the collector runs in this very process.
    const out = await new Promise<string>((resolve, reject) =>
      execFile('curl', ['-s', '--unix-socket', join(dir, 'collector.sock'), 'http://localhost/healthz'], { encoding: 'utf8' }, (e, stdout) => (e ? reject(e) : resolve(stdout))),
    );
    expect(JSON.parse(out)).toMatchObject({ status: 'ok', storage: { backend: 'embedded', up: true } });
  });
});

describe('queries', () => {
  it('filters drops as CONTRACT.md says, newest first', async () => {
    await ingest(encoded(batch({ sequence: 3, node: 'n3', agent_id: 'agent-n3', vanished: [rpfVanished({ dst: '10.91.2.7', first_seen_ms: T0 + 60_000, last_seen_ms: T0 + 61_000 })] })));
    const all = await drops();
    expect(all.map((d) => d.node)).toEqual(['n3', 'n2']);
    expect((await drops('?node=n2')).map((d) => d.node)).toEqual(['n2']);
    expect((await drops('?dst=10.91.2.7')).map((d) => d.node)).toEqual(['n3']);
    expect((await drops('?src=100.64.0.1&limit=1')).map((d) => d.node)).toEqual(['n3']);
    expect((await drops(`?since=${T0 + 30_000}`)).map((d) => d.node)).toEqual(['n3']);
    expect((await drops(`?until=${encodeURIComponent(new Date(T0 + 30_000).toISOString())}`)).map((d) => d.node)).toEqual(['n2']);
    expect(await drops("?node=n2'%20OR%201=1--")).toEqual([]);
  });

  it('answers bad parameters with 400 and one line, never 500', async () => {
    for (const q of ['?limit=0', '?limit=10001', '?limit=abc', '?since=yesterday', '?src=10.0.0.300', '?dst=%27%3B', '?since=2&until=1', '?bogus=1', '?node=a&node=b', '?since=2026-02-30T00:00:00Z', '?until=2026-04-31T00:00:00Z', '?since=2026-00-10T00:00:00Z', '?since=2025-02-29T00:00:00Z']) {
      const res = await get(`/api/v1/drops${q}`);
      expect(res.status, q).toBe(400);
      const body = (await res.json()) as { error: string };
      expect(body.error, q).not.toMatch(/\n/);
    }
    // The last day of a month, and 29 February of a leap year, are dates.
    for (const q of ['?since=2028-02-29T00:00:00Z', '?until=2026-04-30T23:59:59Z']) expect((await get(`/api/v1/drops${q}`)).status, q).toBe(200);
    expect((await get('/api/v1/drops/not-an-id')).status).toBe(400);
    expect((await get('/api/v1/drops/00000000000000000000')).status).toBe(404);
    expect((await get('/api/v1/drops', 'wrong')).status).toBe(401);
  });

  it('gives a drop event its path, and the nodes their status', async () => {
    const [n2] = await drops('?node=n2');
    const path = (await (await get(`/api/v1/paths/${n2!.id}`)).json()) as { hops: { iface: string; direction: string; encap: string }[] };
    expect(path.hops.map((h) => [h.iface, h.direction, h.encap])).toEqual([
      ['eth0', 'in', 'ipip'],
      ['tunl0', 'in', 'none'],
    ]);
    const nodes = (await (await get('/api/v1/nodes')).json()) as { nodes: { node: string }[] };
    expect(nodes.nodes.map((n) => n.node).sort()).toEqual(['n2', 'n3']);
    // Interfaces come with flow batches only; a batch without them keeps the last ones; spool losses
    // are running totals per boot (the highest wins, whatever order batches arrive in).
    // So do the kernel's drop tallies (running totals per reason and interface, '' for no device).
    const kernelDrops = [
      { reason: 'IP_RPFILTER', iface: 'eth0', drops: 2, matched: 0 },
      { reason: 'IP_RPFILTER', iface: 'tunl0', drops: 5, matched: 3 },
      { reason: 'NOT_SPECIFIED', iface: '', drops: 4, matched: 1 },
    ];
    const status = { interfaces: [{ name: 'tunl0', role: 'tunnel', packets: 9, bytes: 900 }], addresses: ['192.168.77.12'], agent_version: '0.1.0', kernel_drops: kernelDrops };
    const capture = { received: 100, dropped_by_kernel: 0, dropped_by_interface: 0, ebpf_monitor: true, ebpf_unavailable_reason: '', truncated_unjudged: 0, ebpf_events_lost: 7 };
    await ingest(encoded(batch({ sequence: 20, status, capture, loss: { batches_dropped: 2, bytes_dropped: 200 } })));
    const nodeStatus = async (node: string) =>
      ((await (await get('/api/v1/nodes')).json()) as { nodes: { node: string; interfaces: unknown; loss: unknown; addresses: unknown; kernelDrops: unknown; capture: unknown }[] }).nodes.find((n) => n.node === node);
    expect(await nodeStatus('n2')).toMatchObject({ kernelDrops, capture: { ebpf_monitor: true, ebpf_events_lost: 7 } });
    await ingest(encoded(batch({ sequence: 22, vanished: [rpfVanished({ packets: 0 })], loss: { batches_dropped: 3, bytes_dropped: 300 } })));
    await ingest(encoded(batch({ sequence: 21, vanished: [rpfVanished({ packets: 0 })], loss: { batches_dropped: 1, bytes_dropped: 100 } })));
    expect(await nodeStatus('n2')).toMatchObject({ interfaces: status.interfaces, addresses: status.addresses, kernelDrops, loss: { batches_dropped: 3, bytes_dropped: 300 } });
    // A node whose agent never sent tallies has none.
    expect((await nodeStatus('n3'))?.kernelDrops).toBeNull();

    // The metrics sum each node's tallies over its interfaces, per reason; no interface label.
    const metrics = await (await get('/metrics')).text();
    const series = metrics.split('\n').filter((l) => l.startsWith('pathwatch_collector_node_kernel_drops'));
    expect(series.sort()).toEqual([
      'pathwatch_collector_node_kernel_drops_matched{node="n2",reason="IP_RPFILTER"} 3',
      'pathwatch_collector_node_kernel_drops_matched{node="n2",reason="NOT_SPECIFIED"} 1',
      'pathwatch_collector_node_kernel_drops{node="n2",reason="IP_RPFILTER"} 7',
      'pathwatch_collector_node_kernel_drops{node="n2",reason="NOT_SPECIFIED"} 4',
    ]);
    // The latest flow batch's tallies replace the ones before (running totals, not added up).
    await ingest(encoded(batch({ sequence: 23, status: { ...status, kernel_drops: [{ reason: 'IP_RPFILTER', iface: 'tunl0', drops: 9, matched: 9 }] } })));
    expect((await nodeStatus('n2'))?.kernelDrops).toEqual([{ reason: 'IP_RPFILTER', iface: 'tunl0', drops: 9, matched: 9 }]);
    const after = (await (await get('/metrics')).text()).split('\n').filter((l) => l.startsWith('pathwatch_collector_node_kernel_drops'));
    expect(after.sort()).toEqual([
      'pathwatch_collector_node_kernel_drops_matched{node="n2",reason="IP_RPFILTER"} 9',
      'pathwatch_collector_node_kernel_drops{node="n2",reason="IP_RPFILTER"} 9',
    ]);
  });

  it("gives a drop event the kernel's word: the reason and the packets matched by fingerprint, or null", async () => {
    await ingest(encoded(batch({ sequence: 30, vanished: [rpfVanished({ dst: '10.91.5.5', packets: 4, kernel: { ...rpfVanished().kernel!, drop_reasons: { IP_RPFILTER: 3 } } })] })));
    const [matched] = await drops('?dst=10.91.5.5');
    expect(matched).toMatchObject({ confidence: 'confirmed', kernel: { reason: 'IP_RPFILTER', packets: 3 } });
    // More packets of the group, two of them matched: the kernel's packets add up.
    await ingest(encoded(batch({ sequence: 31, vanished: [rpfVanished({ dst: '10.91.5.5', packets: 2, first_seen_ms: T0 + 5000, last_seen_ms: T0 + 6000 })] })));
    expect((await (await get(`/api/v1/drops/${matched!.id}`)).json()) as { drop: DropEvent }).toMatchObject({ drop: { packets: 6, kernel: { reason: 'IP_RPFILTER', packets: 5 } } });
    await ingest(encoded(batch({ sequence: 32, vanished: [rpfVanished({ dst: '10.91.5.6', kernel: { ...rpfVanished().kernel!, drop_reasons: {} } })] })));
    const [unmatched] = await drops('?dst=10.91.5.6');
    expect(unmatched).toMatchObject({ confidence: 'likely', kernel: null });
  });

  it('exports a drop event as pcapng that tshark reads, with node/iface names and the verdict', async () => {
    const [n2] = await drops('?node=n2');
    const res = await get(`/api/v1/export.pcapng?id=${n2!.id}`);
    expect(res.status).toBe(200);
    const file = join(dir, 'export.pcapng');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const tshark = await run('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'frame.comment', '-e', 'frame.len', '-e', 'frame.cap_len']);
    expect(tshark.status, tshark.stderr).toBe(0);
    const rows = tshark.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows[0]![0]).toBe('n2/tunl0');
    expect(rows[0]![1]).toMatch(/reverse-path \(confirmed\) at n2\/tunl0/);
    expect(rows[0]!.slice(2)).toEqual(['104', '48']);
  });
});

describe('events and alerts', () => {
  it('streams drop events as they are found', async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/api/v1/events`, { headers: { authorization: `Bearer ${READ_TOKEN}` }, signal: controller.signal });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const decoder = new TextDecoder();
    await ingest(encoded(batch({ sequence: 10, vanished: [rpfVanished({ proto: 6, sport: 40000, dport: 80 })] })));
    while (!/event: drop\n/.test(text)) text += decoder.decode((await reader.read()).value);
    const data = /data: (.*)\n/.exec(text.slice(text.indexOf('event: drop')))![1]!;
    expect(JSON.parse(data)).toMatchObject({ proto: 'tcp', sport: 40000, dport: 80, verdict: 'reverse-path' });
    controller.abort();
  });

  it('holds at most MAX_EVENT_STREAMS streams: the next gets 503 with Retry-After, and a freed place is taken again', async () => {
    const open: AbortController[] = [];
    const stream = async (): Promise<Response> => {
      const controller = new AbortController();
      const res = await fetch(`${base}/api/v1/events`, { headers: { authorization: `Bearer ${READ_TOKEN}` }, signal: controller.signal });
      if (res.status === 200) open.push(controller);
      return res;
    };
    try {
      let refused: Response | undefined;
      for (let i = 0; i <= MAX_EVENT_STREAMS && !refused; i++) {
        const res = await stream();
        if (res.status !== 200) refused = res;
      }
      expect(refused?.status).toBe(503);
      expect(refused?.headers.get('retry-after')).toBe('30');
      expect(await refused?.json()).toEqual({ error: `too many event streams open (${MAX_EVENT_STREAMS}); try again later` });
      expect(open.length).toBeLessThanOrEqual(MAX_EVENT_STREAMS);
      open.pop()?.abort();
      const deadline = Date.now() + 5000;
      let again = await stream();
      while (again.status !== 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        again = await stream();
      }
      expect(again.status).toBe(200);
    } finally {
      for (const c of open) c.abort();
    }
  }, 30_000);

  it('fires an alert for a reverse-path drop and resolves it when it goes quiet', async () => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !webhookBodies.some((b) => b.alerts.some((a) => a.status === 'resolved'))) await new Promise((r) => setTimeout(r, 100));
    const firing = webhookBodies.find((b) => b.status === 'firing');
    expect(firing?.alerts[0]?.labels).toMatchObject({ alertname: 'PathwatchPacketDrop', node: 'n2', iface: 'tunl0', verdict: 'reverse-path' });
    // The kernel's word is an annotation (labels name the alert; the reason may change while it fires).
    expect(firing?.alerts[0]?.annotations.kernel).toMatch(/^IP_RPFILTER, \d+ packet\(s\) matched by fingerprint$/);
    expect(firing?.alerts[0]?.labels).not.toHaveProperty('kernel');
    expect(webhookBodies.some((b) => b.alerts.some((a) => a.status === 'resolved'))).toBe(true);
  });

  it('exposes metrics, and health without a token', async () => {
    const text = await (await get('/metrics')).text();
    expect(text).toMatch(/^pathwatch_collector_batches_stored_total [1-9]/m);
    expect(text).toMatch(/^pathwatch_collector_batches_duplicate_total [1-9]/m);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});

describe('configuration', () => {
  it('refuses to listen beyond loopback without tokens', async () => {
    await expect(startCollector({ listen: ['0.0.0.0:0'], store: `embedded:${join(dir, 'other')}`, log: () => {} })).rejects.toThrow(CollectorConfigError);
  });
});

void WireDirection;

function run(command: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (e) => resolve({ status: -1, stdout, stderr: e.message }));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
