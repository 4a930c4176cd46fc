/**
 * The threaded live capture (capture-worker-host.ts + capture-worker.ts): with a stand-in tcpdump
 * that writes a known capture, the main thread receives exactly what parsing the file here gives,
 * counters and stop travel through the worker, a broken stream and a tcpdump that cannot start fail
 * as in the single-thread path, and LiveNode's pipeline ends with the same statistics on either
 * thread. As root, one real tcpdump run in a temporary namespace.
 *
 * The worker runs compiled code (dist/, built by ensureBuilt): a worker thread cannot load the
 * TypeScript sources.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCapture } from '../../../bench/capture/generator.js';
import { startWorkerCapture } from '../../../agent/capture/capture-worker-host.js';
import { CaptureFormatError } from '../../../agent/capture/capture-record.js';
import { LiveCaptureError, startLiveCapture } from '../../../agent/capture/live-capture.js';
import { ROOT, ensureBuilt } from '../../support/built-cli.js';
import { CollectingSink, parseBytes, readFixture } from './capture-test-helpers.js';

const WORKER_URL = pathToFileURL(join(ROOT, 'dist/agent/capture/capture-worker.js'));
let dir = '';

/**
 * A stand-in for tcpdump: says it listens, writes FILE to stdout, answers SIGUSR1 and SIGTERM with
 * tcpdump's counter lines, and (hold) waits for SIGTERM instead of exiting when the file is out (for
 * a minute at most, so a failed test leaves nothing running).
 */
function fakeTcpdump(name: string, file: string, opts: { hold?: boolean; received?: number; fail?: string } = {}): string {
  const path = join(dir, name);
  const n = opts.received ?? 0;
  const counters = `echo "${n} packets captured" >&2; echo "${n} packets received by filter" >&2; echo "3 packets dropped by kernel" >&2`;
  const script = opts.fail
    ? `#!/bin/sh\necho "${opts.fail}" >&2\nexit 1\n`
    : `#!/bin/sh
trap '${counters}' USR1
trap '${counters}; exit 0' TERM
echo "tcpdump: listening on any, link-type LINUX_SLL2" >&2
cat '${file}'
${opts.hold ? 'i=0; while [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done' : counters}
`;
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return path;
}

function generated(packets: number): { path: string; bytes: Uint8Array } {
  const parts: Uint8Array[] = [];
  generateCapture({ packets, seed: 7, chunkBytes: 1 << 16 }, (c) => parts.push(new Uint8Array(c))); // c is a Buffer reused by the generator: copy it
  const bytes = Buffer.concat(parts);
  const path = join(dir, `gen-${packets}.pcap`);
  writeFileSync(path, bytes);
  return { path, bytes: new Uint8Array(bytes) };
}

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'pw-capture-worker-'));
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('worker capture (stand-in tcpdump)', () => {
  it('delivers exactly what parsing the stream here gives, in order', async () => {
    const { path, bytes } = generated(8000);
    const direct = parseBytes('pcap', bytes, new CollectingSink()).sink;
    const maxCaplen = direct.packets.reduce((m, p) => Math.max(m, p.caplen), 0);
    // Room for all of it: this test is about what arrives, not about keeping up.
    const cap = startWorkerCapture({ tcpdump: fakeTcpdump('gen', path, { received: 8000 }), snaplen: maxCaplen, ringSlots: 8192, workerUrl: WORKER_URL });
    await cap.ready;
    const got = new CollectingSink();
    await cap.deliver(got);
    expect(got.packets).toHaveLength(8000);
    expect(got.packets).toEqual(direct.packets);
    expect(got.interfaces).toEqual(direct.interfaces);
    const c = await cap.stop();
    expect(c).toEqual({ received: 8000, droppedByKernel: 3, droppedByRing: 0 });
    expect(cap.ring.lost).toBe(0);
  });

  it('cuts packets to the snap length, as tcpdump -s would', async () => {
    const bytes = readFixture('tcpdump/LINKTYPE_IPV4.pcap');
    const path = join(dir, 'ipv4.pcap');
    writeFileSync(path, bytes);
    const direct = parseBytes('pcap', bytes, new CollectingSink()).sink;
    const cap = startWorkerCapture({ tcpdump: fakeTcpdump('ipv4', path), snaplen: 64, ringSlots: 64, workerUrl: WORKER_URL });
    const got = new CollectingSink();
    await cap.deliver(got);
    await cap.stop();
    expect(got.packets.map((p) => [p.caplen, p.origlen, p.tsSec, p.tsNsec])).toEqual(direct.packets.map((p) => [Math.min(p.caplen, 64), p.origlen, p.tsSec, p.tsNsec]));
  });

  it('asks the worker for counters while running, and stops it', async () => {
    const { path } = generated(2000);
    const cap = startWorkerCapture({ tcpdump: fakeTcpdump('hold', path, { hold: true, received: 2000 }), snaplen: 2048, ringSlots: 4096, workerUrl: WORKER_URL });
    await cap.ready;
    const got = new CollectingSink();
    const delivering = cap.deliver(got);
    for (let i = 0; i < 100 && got.packets.length < 2000; i++) await new Promise((r) => setTimeout(r, 20));
    expect(got.packets).toHaveLength(2000);
    expect(await cap.counters()).toEqual({ received: 2000, droppedByKernel: 3, droppedByRing: 0 });
    const stopped = await cap.stop();
    await delivering;
    expect(stopped).toEqual({ received: 2000, droppedByKernel: 3, droppedByRing: 0 });
    expect(await cap.stop()).toBe(stopped);
  });

  it('with whenRingFull wait, a busy main thread makes the worker wait: nothing is lost', async () => {
    const { path, bytes } = generated(20_000);
    const cap = startWorkerCapture({ tcpdump: fakeTcpdump('busy-wait', path, { received: 20_000 }), snaplen: 2048, ringSlots: 256, workerUrl: WORKER_URL });
    await cap.ready;
    const until = Date.now() + 300;
    while (Date.now() < until) {
      // busy: the ring fills and the worker waits
    }
    const got = new CollectingSink();
    await cap.deliver(got);
    const c = await cap.stop();
    expect(c.droppedByRing).toBe(0);
    expect(got.packets).toEqual(parseBytes('pcap', bytes, new CollectingSink()).sink.packets);
  });

  it('a sink that throws ends delivery with its error, releases the waiting worker and ends the capture', async () => {
    const { path } = generated(5000);
    const cap = startWorkerCapture({ tcpdump: fakeTcpdump('sink-throws', path, { hold: true, received: 5000 }), snaplen: 2048, ringSlots: 64, workerUrl: WORKER_URL });
    await cap.ready;
    let seen = 0;
    const failing = new CollectingSink();
    failing.onPacket = () => {
      if (++seen === 100) throw new Error('pipeline failed');
    };
    await expect(cap.deliver(failing)).rejects.toThrow('pipeline failed');
    // The worker was waiting for room in a 64-slot ring; it must not keep the capture (or the test) alive.
    const c = await cap.stop();
    expect(c.received).toBe(5000);
  });

  it('with whenRingFull drop, counts what the ring could not hold while this thread was busy', async () => {
    const { path } = generated(20_000);
    const cap = startWorkerCapture({ tcpdump: fakeTcpdump('busy', path, { received: 20_000 }), snaplen: 2048, ringSlots: 256, whenRingFull: 'drop', workerUrl: WORKER_URL });
    await cap.ready;
    // Busy for a moment: the worker parses the whole file meanwhile, and 256 slots cannot hold it.
    const until = Date.now() + 500;
    while (Date.now() < until) {
      // spin
    }
    const got = new CollectingSink();
    await cap.deliver(got);
    const c = await cap.stop();
    expect(c.droppedByRing).toBeGreaterThan(0);
    expect(got.packets.length + c.droppedByRing).toBe(20_000);
    // What arrived is in stream order.
    for (let i = 1; i < got.packets.length; i++) expect(got.packets[i]!.streamOffset).toBeGreaterThan(got.packets[i - 1]!.streamOffset);
  });

  it('a broken stream ends delivery with the CaptureFormatError, after what came before it', async () => {
    const good = readFixture('tcpdump/LINKTYPE_IPV4.pcap');
    const bad = new Uint8Array(good.length + 16);
    bad.set(good);
    new DataView(bad.buffer).setUint32(good.length + 8, 0x7fffffff, true); // absurd caplen
    const path = join(dir, 'broken.pcap');
    writeFileSync(path, bad);
    const cap = startWorkerCapture({ tcpdump: fakeTcpdump('broken', path), snaplen: 256, ringSlots: 64, workerUrl: WORKER_URL });
    await cap.ready;
    const got = new CollectingSink();
    const err = await cap.deliver(got).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CaptureFormatError);
    expect((err as CaptureFormatError).message).toMatch(/absurd captured length/);
    expect(got.packets.length).toBe(parseBytes('pcap', good, new CollectingSink()).sink.packets.length);
    await cap.stop();
  });

  it('paced reads: a capture stopped before it was read leaves no descriptor open', async () => {
    const { startPacedCapture } = await import('../../../agent/capture/capture-worker-fifo.js');
    const { readdirSync } = await import('node:fs');
    const before = readdirSync('/proc/self/fd').length;
    const cap = startPacedCapture({ tcpdump: fakeTcpdump('paced-unread', '/dev/null', { hold: true }) });
    await cap.ready;
    await cap.stop();
    const chunks: Uint8Array[] = [];
    for await (const c of cap.chunks) chunks.push(c);
    expect(chunks).toEqual([]);
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });

  it('asking for counters before tcpdump listens does not signal it (SIGUSR1 would kill it then)', async () => {
    // Like tcpdump: SIGUSR1 is handled only once it listens; before, the default action ends it.
    const slow = join(dir, 'slow-start');
    writeFileSync(slow, `#!/bin/sh\nsleep 0.4\ntrap 'echo "0 packets received by filter" >&2; echo "0 packets dropped by kernel" >&2' USR1\necho "listening on any" >&2\ncat '${join(dir, 'ipv4.pcap')}'\necho "0 packets dropped by kernel" >&2\n`);
    chmodSync(slow, 0o755);
    writeFileSync(join(dir, 'ipv4.pcap'), readFixture('tcpdump/LINKTYPE_IPV4.pcap'));
    const direct = startLiveCapture({ tcpdump: slow });
    expect(await direct.counters()).toEqual({ received: undefined, droppedByKernel: undefined });
    await direct.ready;
    await direct.stop();
    const viaWorker = startWorkerCapture({ tcpdump: slow, workerUrl: WORKER_URL });
    expect(await viaWorker.counters()).toEqual({ received: undefined, droppedByKernel: undefined, droppedByRing: 0 });
    await viaWorker.ready;
    await viaWorker.deliver(new CollectingSink());
    await viaWorker.stop();
  });

  it('a tcpdump that cannot start rejects ready with its reason', async () => {
    const cap = startWorkerCapture({ tcpdump: fakeTcpdump('nodev', '/dev/null', { fail: 'tcpdump: nosuch0: No such device exists' }), workerUrl: WORKER_URL });
    await expect(cap.ready).rejects.toThrow(LiveCaptureError);
    await expect(cap.ready).rejects.toThrow(/No such device/);
    await cap.deliver(new CollectingSink());
    await cap.stop();
  });
});

describe('LiveNode on either capture thread, with either reads (stand-in tcpdump)', () => {
  it('ends with the same pipeline statistics and flows', async () => {
    const { path } = generated(40_000);
    const { LiveNode } = (await import(pathToFileURL(join(ROOT, 'dist/agent/live/live-node.js')).href)) as typeof import('../../../agent/live/live-node.js');
    const runOnce = async (thread: 'main' | 'worker', reads: 'stream' | 'paced' = 'stream') => {
      let flows = 0;
      const node = new LiveNode({
        node: 'n1',
        kernelEvidence: false,
        capture: { tcpdump: fakeTcpdump(`node-${thread}-${reads}`, path, { received: 40_000 }), snaplen: 2048, thread, reads },
        onFlows: (r) => (flows += r.length),
      });
      const counters = await node.run(new AbortController().signal);
      return { stats: { ...node.pipeline.stats }, flows, counters };
    };
    const main = await runOnce('main');
    const worker = await runOnce('worker');
    const paced = await runOnce('main', 'paced');
    expect(main.stats.records).toBe(40_000);
    expect(worker.stats).toEqual(main.stats);
    expect(worker.flows).toBe(main.flows);
    expect(paced.stats).toEqual(main.stats);
    expect(paced.flows).toBe(main.flows);
    expect(main.counters).toEqual({ received: 40_000, droppedByKernel: 3 });
    expect(paced.counters).toEqual({ received: 40_000, droppedByKernel: 3 });
    expect(worker.counters).toEqual({ received: 40_000, droppedByKernel: 3, droppedByRing: 0 });
  });
});

const asRoot = process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v tcpdump'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!asRoot)('worker capture with the real tcpdump (root, temporary namespace)', () => {
  const ns = `pwcw-${randomBytes(3).toString('hex')}`;
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  });

  it('captures datagrams sent in the namespace, every one, in order', async () => {
    const wrapper = join(dir, 'tcpdump-in-ns');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} tcpdump "$@"\n`);
    chmodSync(wrapper, 0o755);
    const cap = startWorkerCapture({ tcpdump: wrapper, filter: 'udp port 9999', workerUrl: WORKER_URL });
    await cap.ready;
    const got = new CollectingSink(true);
    const delivering = cap.deliver(got);
    const count = 3000;
    const sender = `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(${count}):\n    s.sendto(i.to_bytes(4, 'big') + bytes(60), ('127.0.0.1', 9999))\n`;
    execFileSync('ip', ['netns', 'exec', ns, 'python3', '-c', sender]);
    for (let i = 0; i < 100 && got.packets.length < count; i++) await new Promise((r) => setTimeout(r, 50));
    const c = await cap.stop();
    await delivering;
    expect(got.interfaces.map((i) => i.linkType)).toEqual([276]);
    expect(got.packets).toHaveLength(count);
    // SLL2 (20) + IPv4 (20) + UDP (8), then the counter.
    const seqs = got.payloads.map((p) => new DataView(p.buffer, p.byteOffset).getUint32(48));
    expect(seqs).toEqual([...Array(count).keys()]);
    expect(c.droppedByRing).toBe(0);
    // On `any`, libpcap counts loopback packets in both directions before it skips the outgoing copies.
    expect(c.received).toBeGreaterThanOrEqual(count);
  }, 60_000);
});
