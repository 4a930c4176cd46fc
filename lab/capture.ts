/**
 * Packet captures inside the lab's namespaces, in the three shapes the agent's readers must handle:
 *
 *   n2 ns                                      files (in one temp dir)
 *   +------------------------------------+
 *   | eth0 ---------- tcpdump -i eth0    | -> n2-eth0.pcap            LINKTYPE_ETHERNET
 *   | tunnel -------- tcpdump -i tunnel  | -> n2-vxlan.calico.pcap    ETHERNET (vxlan) / RAW (tunl0)
 *   | caliXXXX ------ tcpdump -i cali... | -> n2-caliXXXX.pcap        ETHERNET
 *   | (all) --------- tcpdump -i any     | -> n2-any.pcap             LINUX_SLL2 (ifindex per packet)
 *   | eth0+tunnel+cali -- dumpcap -i x3  | -> n2-multi.pcapng         one IDB per interface
 *   +------------------------------------+
 *
 * SLL2 records carry an ifindex, not a name, and the indexes are per namespace: reading the file
 * elsewhere would resolve them against the wrong interfaces. So the result carries each
 * namespace's ifindex -> name map, taken when the capture started.
 *
 * A capture counts as started only once the tool says so ("listening on" from tcpdump, "Capturing
 * on" from dumpcap): before that, the packet socket may not exist and early packets would be
 * missing. Stopping sends SIGINT and waits for the exit, so the files are complete.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackgroundProcess, inNetns, run, sleep, type ExitInfo } from './exec.js';
import type { StoryTopology } from './topology.js';

export type CaptureKind = 'pcap' | 'pcap-any-sll2' | 'pcapng';

export interface CapturePlan {
  /** One `tcpdump -i IF` per entry. `label` names the node in file names and the ifindex map. */
  interfaces?: ReadonlyArray<{ label: string; ns: string; iface: string }>;
  /** One `tcpdump -i any -y LINUX_SLL2` per entry. */
  any?: ReadonlyArray<{ label: string; ns: string }>;
  /** One `dumpcap -i IF1 -i IF2 ...` per entry (pcapng, one interface block each). */
  multi?: ReadonlyArray<{ label: string; ns: string; ifaces: readonly string[] }>;
  /** Directory for the files; default a fresh temp dir. */
  dir?: string;
  /** Snap length; default 65535 (whole packets: lab MTUs are 1500). */
  snaplen?: number;
  /** Kernel capture buffer per capture in KiB; default 8192. */
  bufferKiB?: number;
}

export interface CaptureFile {
  readonly kind: CaptureKind;
  readonly label: string;
  readonly ns: string;
  /** Interfaces captured (['any'] for the SLL2 capture). */
  readonly interfaces: readonly string[];
  readonly path: string;
}

export interface CaptureStats {
  /** From the tool's exit summary when it printed one. */
  readonly captured: number | undefined;
  readonly droppedByKernel: number | undefined;
  readonly exit: ExitInfo;
  /** The tool's stderr, for diagnosis. */
  readonly stderr: string;
}

export interface CaptureSet {
  readonly dir: string;
  readonly files: readonly CaptureFile[];
  /** Per label (node): ifindex -> interface name in that namespace, at capture start. */
  readonly ifindexes: Readonly<Record<string, Readonly<Record<number, string>>>>;
}

export interface StoppedCaptures extends CaptureSet {
  /** Same order as `files`. */
  readonly stats: readonly CaptureStats[];
}

export interface RunningCaptures extends CaptureSet {
  /**
   * Waits `settleMs` (default 300) for in-flight packets to reach the capture buffers, stops every
   * capture with SIGINT and waits for them to exit. Idempotent.
   */
  stop(options?: { settleMs?: number }): Promise<StoppedCaptures>;
}

/** Namespace ifindex -> name, from `ip -j link`. */
export async function readIfindexes(ns: string): Promise<Record<number, string>> {
  const parsed: unknown = JSON.parse(await run(['ip', '-j', '-n', ns, 'link', 'show']));
  const map: Record<number, string> = {};
  if (Array.isArray(parsed)) {
    for (const link of parsed) {
      if (typeof link === 'object' && link !== null) {
        const { ifindex, ifname } = link as { ifindex?: unknown; ifname?: unknown };
        if (typeof ifindex === 'number' && typeof ifname === 'string') map[ifindex] = ifname;
      }
    }
  }
  return map;
}

function parseStats(kind: CaptureKind, stderr: string, exit: ExitInfo): CaptureStats {
  const num = (re: RegExp): number | undefined => {
    const m = re.exec(stderr);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  };
  if (kind === 'pcapng') {
    // dumpcap, per interface: "Packets received/dropped on interface 'eth0': 23/1
    // (pcap:0/dumpcap:0/flushed:1/ps_ifdrop:0)". Only pcap: and ps_ifdrop: are losses in the kernel;
    // "flushed" are packets still in the buffer when the capture was stopped (late arrivals such as
    // SYN-ACK retransmissions), which is how we end a capture, not capture loss.
    let kernel = 0;
    let seen = false;
    for (const m of stderr.matchAll(/received\/dropped on interface '[^']*': \d+\/\d+ \(pcap:(\d+)\/dumpcap:\d+\/flushed:\d+\/ps_ifdrop:(\d+)\)/g)) {
      seen = true;
      kernel += Number(m[1]) + Number(m[2]);
    }
    return { captured: num(/Packets captured: (\d+)/), droppedByKernel: seen ? kernel : undefined, exit, stderr };
  }
  return {
    captured: num(/(\d+) packets? captured/),
    droppedByKernel: num(/(\d+) packets? dropped by kernel/),
    exit,
    stderr,
  };
}

export async function startCaptures(plan: CapturePlan): Promise<RunningCaptures> {
  const dir = plan.dir ?? (await mkdtemp(join(tmpdir(), 'pathwatch-lab-')));
  // Ring sizing matters more than it looks: libpcap's TPACKET_V3 ring is split into blocks big
  // enough for one snaplen-sized frame, and with --immediate-mode every block is handed over after
  // ~1 ms however empty it is. tcpdump's defaults (262144 snaplen, 2 MiB buffer) leave a handful of
  // blocks, and `-i any` dropped packets ("dropped by kernel") under a few dozen packets while the
  // machine was busy starting python probes. A smaller snaplen and a bigger buffer give many blocks.
  const snaplen = String(plan.snaplen ?? 65535);
  const bufferKiB = plan.bufferKiB ?? 8192;
  const files: CaptureFile[] = [];
  const procs: BackgroundProcess[] = [];
  const ifindexes: Record<string, Record<number, string>> = {};

  const labels = new Map<string, string>();
  for (const e of [...(plan.interfaces ?? []), ...(plan.any ?? []), ...(plan.multi ?? [])]) labels.set(e.label, e.ns);
  for (const [label, ns] of labels) ifindexes[label] = await readIfindexes(ns);

  // tcpdump: -U writes each packet as it comes, --immediate-mode hands packets over without waiting
  // for the TPACKET_V3 block timeout (else the last packets before SIGINT can be missing), -Z root
  // keeps it from switching to the tcpdump user, who cannot write in our 0700 temp dir.
  const tcpdump = (ns: string, iface: string, path: string, extra: readonly string[]): string[] =>
    inNetns(ns, ['tcpdump', '-i', iface, ...extra, '-s', snaplen, '-B', String(bufferKiB), '-U', '--immediate-mode', '-Z', 'root', '-n', '-w', path]);

  const starts: Array<{ file: CaptureFile; argv: string[]; ready: RegExp }> = [];
  for (const e of plan.interfaces ?? []) {
    const path = join(dir, `${e.label}-${e.iface}.pcap`);
    starts.push({ file: { kind: 'pcap', label: e.label, ns: e.ns, interfaces: [e.iface], path }, argv: tcpdump(e.ns, e.iface, path, []), ready: /listening on / });
  }
  for (const e of plan.any ?? []) {
    const path = join(dir, `${e.label}-any.pcap`);
    // tcpdump 4.99 writes the old SLL (no ifindex) for "any" unless asked for SLL2.
    starts.push({ file: { kind: 'pcap-any-sll2', label: e.label, ns: e.ns, interfaces: ['any'], path }, argv: tcpdump(e.ns, 'any', path, ['-y', 'LINUX_SLL2']), ready: /listening on / });
  }
  for (const e of plan.multi ?? []) {
    const path = join(dir, `${e.label}-multi.pcapng`);
    const argv = inNetns(e.ns, ['dumpcap', '-q', '-n',
      // dumpcap's -s and -B are per interface and must follow each -i; -B is in MiB.
      ...e.ifaces.flatMap((i) => ['-i', i, '-s', snaplen, '-B', String(Math.max(1, Math.ceil(bufferKiB / 1024)))]), '-w', path]);
    starts.push({ file: { kind: 'pcapng', label: e.label, ns: e.ns, interfaces: [...e.ifaces], path }, argv, ready: /Capturing on/ });
  }

  try {
    // Start them all at once and wait for each to confirm: sequential starts would cost ~100 ms each.
    const started = await Promise.allSettled(
      starts.map((s) => BackgroundProcess.start({ argv: s.argv, ready: s.ready, label: `${s.argv[4] ?? 'capture'} in ${s.file.ns}` })),
    );
    for (const r of started) if (r.status === 'fulfilled') procs.push(r.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
    files.push(...starts.map((s) => s.file));
  } catch (e) {
    await Promise.all(procs.map((p) => p.stop('SIGKILL', 2_000)));
    throw e;
  }

  let stopping: Promise<StoppedCaptures> | undefined;
  return {
    dir,
    files,
    ifindexes,
    stop(options = {}) {
      stopping ??= (async () => {
        await sleep(options.settleMs ?? 300);
        const exits = await Promise.all(procs.map((p) => p.stop('SIGINT', 5_000)));
        const stats = exits.map((exit, i) => parseStats(files[i]?.kind ?? 'pcap', procs[i]?.stderr ?? '', exit));
        return { dir, files, ifindexes, stats };
      })();
      return stopping;
    },
  };
}

/**
 * The story's capture set: every interesting interface of every node on its own (n1's both tunnels
 * in a three-node lab), n2's `any`, and each node behind n1 with its three interfaces in one
 * pcapng, as an engineer on the incident would have captured them.
 */
export function storyCapturePlan(topology: StoryTopology, dir?: string): CapturePlan {
  const { n1, n2, n3 } = topology.nodes;
  const nodes = [n1, n2, ...(n3 ? [n3] : [])];
  const plan: CapturePlan = {
    interfaces: nodes.flatMap((n) => [n.uplink, ...n.tunnels, n.podVeth].map((iface) => ({ label: n.role, ns: n.ns, iface }))),
    any: [{ label: 'n2', ns: n2.ns }],
    multi: nodes.slice(1).map((n) => ({ label: n.role, ns: n.ns, ifaces: [n.uplink, n.tunnel, n.podVeth] })),
  };
  return dir === undefined ? plan : { ...plan, dir };
}
