/**
 * Live-capture benchmark: how fast can `pathwatch watch` capture and analyse before it loses packets,
 * compared with plain `tcpdump -w /dev/null` on the same link, in the same run.
 *
 * Why this shape (from the live-agent issue):
 * - Replay benchmarks (bench/run-bench.ts) measure the analysis alone; a live agent can also lose
 *   packets in the kernel when its consumer (the addon's capture thread, and the pipeline behind
 *   it) falls behind. Only a live run with a known number of packets sent tells the loss-free rate.
 * - Two network namespaces joined by a veth keep the traffic off every real interface: the sender
 *   runs in `pwlb-<hex>-a`, the captures in `pwlb-<hex>-b`, and both namespaces are deleted at the
 *   end, on failure and on Ctrl-C / SIGTERM. Addresses are 10.250.0.1/30 and 10.250.0.2/30 and only
 *   exist inside them.
 * - The sender (bench/live/sender.c, compiled here with `cc -O2`) batches with sendmmsg and is
 *   pinned to CPU 1 so its own cost is steady; the captures are pinned to CPU 0 (default) so they
 *   never take the sender's core and the tools compete on equal terms. The veth's receive path
 *   (the packet taps' copy into the capture rings included) runs in softirq on the sender's core,
 *   so the kernel's share of capturing is charged to the sender, not to the tools.
 * - Port 9 in namespace b is held by `sender sink` (a bound socket that is never read): each
 *   datagram is dropped right after the socket lookup instead of costing an ICMP port-unreachable
 *   attempt, which raises the sender's ceiling on this VM by about half. Before the ladders the
 *   sender runs once with no capture to record that ceiling: a tool that never loses up to it has
 *   a limit of at least that, no more is known.
 * - Each tool climbs a ladder of rising rates and stops at its first lossy rate: loss is
 *   1 - captured / sent (sender's count), lossy when >= 0.1%. The veth's own counters are read too,
 *   so a loss on the link (not in the capture) is told apart. A rung the sender could not reach also
 *   ends the ladder, unless --keep-climbing (on a busy machine the sender may reach the next one).
 * - For every tool the CPU per packet is measured after the capture is ready (start-up excluded):
 *   total user+system seconds of the process tree from GNU time (which includes children the tool
 *   reaped) minus the tree's /proc ticks at readiness, over the packets captured. pathwatch's tree
 *   is its node process alone: the capture and the kernel drop monitor (a BPF program loaded
 *   through libbpf) run inside it, so its drop monitor's cost is in its figures. RSS is each
 *   process's VmHWM.
 * - Time to capture: from the tool's start (the `ip netns exec` that runs it) until one of its
 *   processes holds a packet socket (libpcap opens it in pcap_activate; polled every 5 ms in
 *   /proc), and until it says it is ready (pathwatch attaches its drop monitor before it opens the
 *   capture).
 * - Offloads are left as the veth driver sets them: this is the path a pod veth takes.
 * - The tcpdump baselines use the agent's own snaplen and ring (-s 256 -B 16384, as
 *   agent/capture/live-capture.ts gives libpcap), so the difference to pathwatch is the analysis
 *   and Node; the same BPF filter (`udp port 9`) is given to all three. With the default pinning,
 *   pathwatch's threads share CPU 0; `--capture-cpus none` lets the scheduler spread them. CPU is
 *   the whole process (every thread); the split between node's main thread and its others (the
 *   capture thread, and V8's helper threads) is reported too.
 * - The ladders are interleaved: each rate is run for every tool still climbing before the next
 *   rate, so a change in the machine's load during the run hits all tools alike.
 *
 * Usage (as root, after `npx tsc -p tsconfig.json` and the addon's build):
 *   node dist/bench/live/run-live-bench.js [--rates 25000,50000,75000,...] [--seconds 3] [--drain 1]
 *     [--tools veth,any,pathwatch] [--capture-cpus 0|none] [--sender-cpu 1] [--batch 64]
 *     [--budget 480] [--keep-climbing] [--out bench/out/live-results.json]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** dist/bench/live/run-live-bench.js -> the repository root (sources and bin/ live there). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SENDER_SOURCE = join(ROOT, 'bench', 'live', 'sender.c');
const PATHWATCH_BIN = join(ROOT, 'bin', 'pathwatch.js');
/** Extra Node options for pathwatch only (e.g. `--cpu-prof --cpu-prof-dir=DIR` to profile it under load). */
const PATHWATCH_NODE_ARGS = (process.env.PATHWATCH_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
const GNU_TIME = '/usr/bin/time';
const ADDR_A = '10.250.0.1';
const ADDR_B = '10.250.0.2';
const PORT = 9;
const FILTER = `udp port ${PORT}`;
const IF_A = 'pwa';
const IF_B = 'pwb';
/** Lossy at or above this fraction of the sender's count. */
const LOSS_LIMIT = 0.001;
/** Below this fraction of its target the sender could not keep up: higher rungs are pointless. */
const SENDER_SHORTFALL = 0.95;
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;
const POLL_MS = 100;
/** The agent's own capture settings (agent/capture/live-capture.ts), given to the tcpdump baselines. */
const SNAPLEN = 256;
const BUFFER_KIB = 16384;
const CLK_TCK = readClockTicks();
/** The calibration run (no capture) asks for this rate, far above what one core can send. */
const CEILING_PROBE_RATE = 2_000_000;

type ToolName = 'veth' | 'any' | 'pathwatch';
const TOOL_LABEL: Record<ToolName, string> = {
  veth: `tcpdump -i ${IF_B} -w /dev/null`,
  any: 'tcpdump -i any -w /dev/null',
  pathwatch: 'pathwatch watch (libpcap on any in the addon, as shipped)',
};
/** Other names accepted by --tools (the issue's wording). */
const TOOL_ALIASES: Record<string, ToolName> = { tcpdump: 'any', watch: 'pathwatch' };
const isPathwatch = (t: ToolName): boolean => t === 'pathwatch';

interface Options {
  readonly rates: readonly number[];
  readonly seconds: number;
  readonly drainSeconds: number;
  readonly tools: readonly ToolName[];
  readonly captureCpus: string | null;
  readonly senderCpu: string;
  readonly batch: number;
  readonly budgetSeconds: number;
  /** Go on past a rung the sender could not reach (on a busy machine it may reach the next). */
  readonly keepClimbing: boolean;
  readonly out: string;
}

interface SenderResult {
  readonly sent: number;
  readonly attempted: number;
  readonly errors: number;
  readonly seconds: number;
  readonly rate: number;
}

interface LinkCounters {
  readonly txPackets: number;
  readonly txDropped: number;
  readonly rxPackets: number;
  readonly rxDropped: number;
}

interface ProcSample {
  readonly pid: number;
  readonly comm: string;
  /** utime + stime + cutime + cstime, in clock ticks. */
  readonly ticks: number;
  readonly hwmKiB: number;
}

interface StepResult {
  readonly tool: ToolName;
  readonly targetRate: number;
  readonly achievedRate: number;
  readonly sent: number;
  readonly senderErrors: number;
  readonly captured: number;
  readonly receivedByFilter: number | null;
  readonly droppedByKernel: number;
  readonly loss: number;
  readonly lossFree: boolean;
  readonly senderLimited: boolean;
  /** Packets the receiving veth counted (what reached namespace b). */
  readonly linkDelivered: number;
  readonly linkDropped: number;
  /** softnet backlog drops over the step (global to the host, not per namespace). */
  readonly backlogDrops: number;
  readonly cpuSecondsAfterReady: number | null;
  readonly cpuUsPerPacket: number | null;
  /** CPU seconds per process from readiness to just before the stop signal. */
  readonly cpuSplitSeconds: Record<string, number>;
  /** pathwatch only: the node process's CPU seconds split into its main thread, the addon's capture thread and all others. */
  readonly nodeThreadSeconds: { main: number; capture: number; others: number } | null;
  readonly peakRssKiB: Record<string, number>;
  /** From the start until a process of the tool held a packet socket (libpcap's pcap_activate). */
  readonly captureOpenSeconds: number | null;
  readonly readySeconds: number;
  readonly summary: string;
}

interface ToolResult {
  readonly tool: ToolName;
  readonly label: string;
  readonly steps: StepResult[];
  readonly best: StepResult | null;
  readonly firstLossy: StepResult | null;
  readonly stoppedBy: 'loss' | 'sender-limit' | 'ladder-end' | 'budget' | 'error';
  readonly error?: string;
  /** Rungs that failed (a tool that would not start or stop) and were run again once. */
  readonly incidents: { rate: number; error: string }[];
}

// ---------------------------------------------------------------------------------------------
// Cleanup: every child process we start (each in its own process group), the namespaces and the
// temp dir are tracked here. `cleanup` ends processes bottom-up so each one's parent is still alive
// to reap it (no zombies left to init), then deletes the namespaces; `cleanupSync` is the last
// resort on process exit.

const liveChildren = new Map<number, Spawned>();
const namespaces: string[] = [];
let tempDir: string | undefined;
let cleanedUp = false;

/** Ends `s` and everything under it, deepest first; resolves once `s` itself is reaped (bounded). */
async function stopTree(s: Spawned): Promise<void> {
  for (const pid of descendants(s.pid).reverse()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      continue;
    }
    for (let i = 0; i < 20 && existsSync(`/proc/${pid}/stat`) && !/\) Z /.test(safeRead(`/proc/${pid}/stat`)); i++) await sleep(25);
    // Its parent reaps it (a zombie only lingers until then).
    for (let i = 0; i < 20 && existsSync(`/proc/${pid}`); i++) await sleep(25);
  }
  try {
    process.kill(-s.pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
  await withTimeout(s.exited, 3000);
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

async function cleanup(): Promise<void> {
  for (const s of [...liveChildren.values()]) await stopTree(s);
  cleanupSync();
}

function cleanupSync(): void {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const pgid of liveChildren.keys()) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
}

let signalled = false;
function onSignal(sig: NodeJS.Signals): void {
  if (signalled) return;
  signalled = true;
  process.stderr.write(`\nlive-bench: ${sig}: stopping captures and deleting ${namespaces.join(', ') || 'no namespaces'}\n`);
  const code = sig === 'SIGINT' ? 130 : 143;
  // Bounded: whatever is left after 8 s is killed by cleanupSync on exit.
  const force = setTimeout(() => process.exit(code), 8000);
  void cleanup().finally(() => {
    clearTimeout(force);
    process.exit(code);
  });
}

// ---------------------------------------------------------------------------------------------
// Small process helpers.

interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

/** Starts a command in its own process group (so cleanup can end it with everything it started). */
function start(cmd: string, args: readonly string[], keepStdout = true): Spawned {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (child.pid === undefined) throw new Error(`cannot start ${cmd}`);
  const pid = child.pid;
  const s: Spawned = {
    child,
    pid,
    stdout: '',
    stderr: '',
    exited: new Promise<number | null>((res) => {
      child.on('error', () => {
        liveChildren.delete(pid);
        res(null);
      });
      child.on('close', (code) => {
        liveChildren.delete(pid);
        res(code);
      });
    }),
  };
  liveChildren.set(pid, s);
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => {
    if (keepStdout && s.stdout.length < 1 << 20) s.stdout += d;
  });
  child.stderr?.on('data', (d: string) => {
    if (s.stderr.length < 1 << 20) s.stderr += d;
  });
  return s;
}

function sh(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
  return r.stdout;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

function readClockTicks(): number {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
}

// ---------------------------------------------------------------------------------------------
// /proc: the process tree under a pid, with CPU ticks and peak RSS.

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      // The thread ended.
    }
  }
  return out;
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = childrenOf(pid);
  for (let i = 0; i < queue.length && i < 64; i++) {
    const p = queue[i] as number;
    out.push(p);
    queue.push(...childrenOf(p));
  }
  return out;
}

function sampleProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    // After the comm: state is field 3, so field k is f[k - 3]; utime 14, stime 15, cutime 16, cstime 17.
    const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { pid, comm, ticks, hwmKiB: hwm ? Number(hwm[1]) : 0 };
  } catch {
    return undefined;
  }
}

/** The addon's capture thread names itself so (native/capture/live_capture.c). */
const CAPTURE_THREAD = 'pw-capture';

/** CPU ticks (utime + stime) of a process's main thread, its capture thread, and all its other threads together. */
function threadTicks(pid: number): { main: number; capture: number; others: number } {
  let main = 0;
  let capture = 0;
  let others = 0;
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return { main, capture, others };
  }
  for (const t of tasks) {
    const stat = safeRead(`/proc/${pid}/task/${t}/stat`);
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]);
    if (!Number.isFinite(ticks)) continue;
    if (Number(t) === pid) main += ticks;
    else if (comm === CAPTURE_THREAD) capture += ticks;
    else others += ticks;
  }
  return { main, capture, others };
}

function sampleTree(rootPid: number): ProcSample[] {
  return descendants(rootPid)
    .map(sampleProc)
    .filter((s): s is ProcSample => s !== undefined);
}

// ---------------------------------------------------------------------------------------------
// Counters.

function linkCounters(nsA: string, nsB: string): LinkCounters {
  const stats = (ns: string, dev: string): { rx: Record<string, number>; tx: Record<string, number> } => {
    const parsed: unknown = JSON.parse(sh('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev]));
    const first: unknown = Array.isArray(parsed) ? parsed[0] : undefined;
    const s64: unknown = typeof first === 'object' && first !== null ? (first as Record<string, unknown>)['stats64'] : undefined;
    if (typeof s64 !== 'object' || s64 === null) throw new Error(`no stats64 for ${dev} in ${ns}`);
    const { rx, tx } = s64 as { rx: Record<string, number>; tx: Record<string, number> };
    return { rx, tx };
  };
  const a = stats(nsA, IF_A);
  const b = stats(nsB, IF_B);
  return { txPackets: a.tx['packets'] ?? 0, txDropped: a.tx['dropped'] ?? 0, rxPackets: b.rx['packets'] ?? 0, rxDropped: b.rx['dropped'] ?? 0 };
}

/** Sum over CPUs of /proc/net/softnet_stat's second column (packets dropped at the backlog). */
function softnetDrops(): number {
  let sum = 0;
  for (const line of readFileSync('/proc/net/softnet_stat', 'utf8').trim().split('\n')) sum += parseInt(line.split(' ')[1] ?? '0', 16);
  return sum;
}

function parseSender(out: string): SenderResult {
  const line = out.trim().split('\n').pop() ?? '';
  const v: unknown = JSON.parse(line);
  if (typeof v !== 'object' || v === null) throw new Error(`sender printed ${line}`);
  const r = v as Record<string, unknown>;
  const num = (k: string): number => {
    const x = r[k];
    if (typeof x !== 'number') throw new Error(`sender output lacks ${k}: ${line}`);
    return x;
  };
  return { sent: num('sent'), attempted: num('attempted'), errors: num('errors'), seconds: num('seconds'), rate: num('rate') };
}

interface CaptureCounts {
  readonly captured: number;
  readonly receivedByFilter: number | null;
  readonly droppedByKernel: number;
  readonly summary: string;
}

function parseCaptureCounts(tool: ToolName, stderr: string): CaptureCounts {
  const lastNumber = (re: RegExp): number | null => {
    const m = [...stderr.matchAll(re)].pop();
    return m ? Number(m[1]) : null;
  };
  if (isPathwatch(tool)) {
    const summary = stderr.split('\n').filter((l) => /^pathwatch watch: \d+ packets/.test(l)).pop();
    if (!summary) throw new Error(`pathwatch printed no summary: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return {
      captured: Number(/: (\d+) packets/.exec(summary)?.[1] ?? 'NaN'),
      receivedByFilter: null,
      droppedByKernel: Number(/lost (\d+) packets in the kernel/.exec(summary)?.[1] ?? '0'),
      summary,
    };
  }
  const captured = lastNumber(/(\d+) packets? captured/g);
  if (captured === null) throw new Error(`tcpdump printed no summary: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const received = lastNumber(/(\d+) packets? received by filter/g);
  const dropped = lastNumber(/(\d+) packets? dropped by kernel/g);
  return {
    captured,
    receivedByFilter: received,
    droppedByKernel: dropped ?? 0,
    summary: `${captured} captured, ${received ?? '?'} received by filter, ${dropped ?? '?'} dropped by kernel`,
  };
}

// ---------------------------------------------------------------------------------------------
// The setup: sender binary, namespaces, veth.

function buildSender(dir: string): string {
  const bin = join(dir, 'sender');
  sh('cc', ['-O2', '-Wall', '-Wextra', '-o', bin, SENDER_SOURCE]);
  return bin;
}

function createNamespaces(tag: string): { nsA: string; nsB: string } {
  const nsA = `pwlb-${tag}-a`;
  const nsB = `pwlb-${tag}-b`;
  for (const ns of [nsA, nsB]) {
    sh('ip', ['netns', 'add', ns]);
    namespaces.push(ns);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  sh('ip', ['-n', nsA, 'link', 'add', IF_A, 'type', 'veth', 'peer', 'name', IF_B, 'netns', nsB]);
  sh('ip', ['-n', nsA, 'addr', 'add', `${ADDR_A}/30`, 'dev', IF_A]);
  sh('ip', ['-n', nsB, 'addr', 'add', `${ADDR_B}/30`, 'dev', IF_B]);
  sh('ip', ['-n', nsA, 'link', 'set', IF_A, 'up']);
  sh('ip', ['-n', nsB, 'link', 'set', IF_B, 'up']);
  // A permanent neighbour entry: no ARP exchange, and no packets held (and dropped) while resolving.
  const linkB: unknown = JSON.parse(sh('ip', ['-n', nsB, '-j', 'link', 'show', 'dev', IF_B]));
  const mac = Array.isArray(linkB) && typeof linkB[0] === 'object' && linkB[0] !== null ? (linkB[0] as Record<string, unknown>)['address'] : undefined;
  if (typeof mac !== 'string') throw new Error(`no MAC address for ${IF_B}`);
  sh('ip', ['-n', nsA, 'neigh', 'replace', ADDR_B, 'lladdr', mac, 'dev', IF_A, 'nud', 'permanent']);
  return { nsA, nsB };
}

function offloadState(ns: string, dev: string): string {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'ethtool', '-k', dev], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) return 'not inspected (ethtool not installed); left at the veth driver defaults';
  return r.stdout
    .split('\n')
    .filter((l) => /^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload|rx-checksumming|tx-checksumming|rx-gro-list|rx-udp-gro-forwarding):/.test(l))
    .map((l) => l.trim())
    .join('; ');
}

// ---------------------------------------------------------------------------------------------
// One rung: start the capture, send, drain, stop, count.

interface Context {
  readonly opts: Options;
  readonly nsA: string;
  readonly nsB: string;
  readonly senderBin: string;
  readonly dir: string;
}

function captureCommand(ctx: Context, tool: ToolName, timeFile: string): { args: string[]; ready: RegExp } {
  const pin = ctx.opts.captureCpus === null ? [] : ['taskset', '-c', ctx.opts.captureCpus];
  const timed = [GNU_TIME, '-f', '%U %S %M', '-o', timeFile];
  const tcpdump = (iface: string): string[] => ['tcpdump', '-i', iface, '-s', String(SNAPLEN), '-B', String(BUFFER_KIB), '-n', '-w', '/dev/null', FILTER];
  const cmd = tool === 'pathwatch' ? [process.execPath, ...PATHWATCH_NODE_ARGS, PATHWATCH_BIN, 'watch', '--json', '--node', 'bench', '--filter', FILTER] : tcpdump(tool === 'veth' ? IF_B : 'any');
  return { args: ['netns', 'exec', ctx.nsB, ...pin, ...timed, ...cmd], ready: isPathwatch(tool) ? /capturing on/ : /listening on/ };
}

async function runSender(ctx: Context, rate: number): Promise<SenderResult> {
  const sender = start('ip', ['netns', 'exec', ctx.nsA, 'taskset', '-c', ctx.opts.senderCpu, ctx.senderBin, ADDR_B, String(PORT), String(rate), String(ctx.opts.seconds), String(ctx.opts.batch)]);
  const code = await withTimeout(sender.exited, (ctx.opts.seconds * 1.5 + 10) * 1000);
  if (code === 'timeout') throw new Error('the sender did not finish in time');
  if (code !== 0) throw new Error(`the sender failed (${code}): ${sender.stderr.trim()}`);
  return parseSender(sender.stdout);
}

/** Holds port 9 in namespace b for the whole run (see the header); ended by cleanup. */
async function startSink(ctx: Context): Promise<void> {
  const sink = start('ip', ['netns', 'exec', ctx.nsB, ctx.senderBin, 'sink', ADDR_B, String(PORT), String(Math.ceil(ctx.opts.budgetSeconds + 300))]);
  for (let i = 0; i < 200 && !/sink ready/.test(sink.stdout); i++) {
    if ((await withTimeout(sink.exited, 25)) !== 'timeout') throw new Error(`the sink failed: ${sink.stderr.trim()}`);
  }
  if (!/sink ready/.test(sink.stdout)) throw new Error('the sink did not bind port 9 in time');
}

/** Whether a process under `rootPid` holds a packet socket (its inode listed in its namespace's /proc/net/packet). */
function holdsPacketSocket(rootPid: number): boolean {
  for (const pid of descendants(rootPid)) {
    const inodes = new Set(
      safeRead(`/proc/${pid}/net/packet`)
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/)[8]),
    );
    if (inodes.size === 0) continue;
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1])) return true;
      } catch {
        // closed meanwhile
      }
    }
  }
  return false;
}

async function runStep(ctx: Context, tool: ToolName, rate: number): Promise<StepResult> {
  const timeFile = join(ctx.dir, `time-${tool}-${rate}`);
  const { args, ready } = captureCommand(ctx, tool, timeFile);
  const startedAt = Date.now();
  const cap = start('ip', args, false);
  try {
    // Ready: the tool said so and its process tree is visible under GNU time. Until its capture is
    // open (a packet socket), /proc is looked at every 5 ms.
    let target: number | undefined;
    let captureOpenSeconds: number | null = null;
    for (;;) {
      if (captureOpenSeconds === null && holdsPacketSocket(cap.pid)) captureOpenSeconds = (Date.now() - startedAt) / 1000;
      if (ready.test(cap.stderr)) {
        target = childrenOf(cap.pid)[0];
        if (target !== undefined) break;
      }
      if (Date.now() - startedAt > READY_TIMEOUT_MS) throw new Error(`${tool} not ready after ${READY_TIMEOUT_MS / 1000} s: ${cap.stderr.trim().split('\n').pop() ?? ''}`);
      if ((await withTimeout(cap.exited, captureOpenSeconds === null ? 5 : 25)) !== 'timeout') throw new Error(`${tool} exited before it was ready: ${cap.stderr.trim().split('\n').slice(-2).join(' | ')}`);
    }
    const readySeconds = (Date.now() - startedAt) / 1000;
    await sleep(200); // let the tool settle (pathwatch's first tick) before the baseline
    const baseline = sampleTree(cap.pid);
    // The node process (pathwatch): its threads, for the main / capture thread / other threads split.
    const nodePid = isPathwatch(tool) ? baseline.find((b) => b.comm === 'node')?.pid : undefined;
    const threadsBefore = nodePid === undefined ? undefined : threadTicks(nodePid);
    const latest = new Map<number, ProcSample>(baseline.map((s) => [s.pid, s]));
    // A process sampled while it exits has no VmHWM line any more: keep the highest seen.
    const remember = (s: ProcSample): void => {
      const prev = latest.get(s.pid);
      latest.set(s.pid, prev && prev.hwmKiB > s.hwmKiB ? { ...s, hwmKiB: prev.hwmKiB } : s);
    };
    const poll = setInterval(() => {
      for (const s of sampleTree(cap.pid)) remember(s);
    }, POLL_MS);
    try {
      const linkBefore = linkCounters(ctx.nsA, ctx.nsB);
      const backlogBefore = softnetDrops();
      const sent = await runSender(ctx, rate);
      await sleep(ctx.opts.drainSeconds * 1000);
      const linkAfter = linkCounters(ctx.nsA, ctx.nsB);
      const backlogDrops = softnetDrops() - backlogBefore;
      // Per-process CPU up to now (the stop and the final analysis come on top, in GNU time's total).
      const atStop = sampleTree(cap.pid);
      for (const s of atStop) remember(s);
      const threadsAfter = nodePid === undefined ? undefined : threadTicks(nodePid);
      const nodeThreadSeconds =
        threadsBefore && threadsAfter
          ? { main: (threadsAfter.main - threadsBefore.main) / CLK_TCK, capture: (threadsAfter.capture - threadsBefore.capture) / CLK_TCK, others: (threadsAfter.others - threadsBefore.others) / CLK_TCK }
          : null;
      const cpuSplitSeconds: Record<string, number> = {};
      for (const s of atStop) {
        const before = baseline.find((b) => b.pid === s.pid)?.ticks ?? 0;
        cpuSplitSeconds[s.comm] = (cpuSplitSeconds[s.comm] ?? 0) + (s.ticks - before) / CLK_TCK;
      }
      // Stop the tool itself (GNU time would die of SIGTERM without reporting).
      process.kill(target, 'SIGTERM');
      const exit = await withTimeout(cap.exited, STOP_TIMEOUT_MS);
      if (exit === 'timeout') {
        // Say what each process was doing, and what the tool last printed, before it is killed.
        const states = descendants(cap.pid)
          .map((pid) => {
            const st = safeRead(`/proc/${pid}/stat`);
            return `${pid} ${st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'))} ${st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3)} ${safeRead(`/proc/${pid}/wchan`)}`;
          })
          .join(', ');
        throw new Error(`${tool} did not stop within ${STOP_TIMEOUT_MS / 1000} s (processes: ${states}; last output: ${cap.stderr.trim().split('\n').slice(-3).join(' | ')})`);
      }
      clearInterval(poll);
      const counts = parseCaptureCounts(tool, cap.stderr);
      const peakRssKiB: Record<string, number> = {};
      for (const s of latest.values()) peakRssKiB[s.comm] = Math.max(peakRssKiB[s.comm] ?? 0, s.hwmKiB);
      let cpuSecondsAfterReady: number | null = null;
      const timeLine = existsSync(timeFile)
        ? readFileSync(timeFile, 'utf8')
            .trim()
            .split('\n')
            .filter((l) => /^[\d.]+ [\d.]+ \d+$/.test(l))
            .pop()
        : undefined;
      if (timeLine) {
        const [u, s] = timeLine.split(' ').map(Number);
        const baseTicks = baseline.reduce((acc, b) => acc + b.ticks, 0);
        cpuSecondsAfterReady = Math.max(0, (u ?? 0) + (s ?? 0) - baseTicks / CLK_TCK);
      }
      const loss = sent.sent > 0 ? 1 - counts.captured / sent.sent : 1;
      return {
        tool,
        targetRate: rate,
        achievedRate: Math.round(sent.rate),
        sent: sent.sent,
        senderErrors: sent.errors,
        captured: counts.captured,
        receivedByFilter: counts.receivedByFilter,
        droppedByKernel: counts.droppedByKernel,
        loss,
        lossFree: loss < LOSS_LIMIT,
        senderLimited: sent.rate < rate * SENDER_SHORTFALL,
        linkDelivered: linkAfter.rxPackets - linkBefore.rxPackets,
        linkDropped: linkAfter.rxDropped - linkBefore.rxDropped + (linkAfter.txDropped - linkBefore.txDropped),
        backlogDrops,
        cpuSecondsAfterReady,
        cpuUsPerPacket: cpuSecondsAfterReady !== null && counts.captured > 0 ? (cpuSecondsAfterReady / counts.captured) * 1e6 : null,
        cpuSplitSeconds,
        nodeThreadSeconds,
        peakRssKiB,
        captureOpenSeconds,
        readySeconds,
        summary: counts.summary,
      };
    } finally {
      clearInterval(poll);
    }
  } finally {
    if (liveChildren.has(cap.pid)) await stopTree(cap);
  }
}

// ---------------------------------------------------------------------------------------------
// Ladders and the report.

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      rates: { type: 'string', default: '25000,50000,75000,100000,125000,150000,175000,200000,250000,300000,400000,600000' },
      seconds: { type: 'string', default: '3' },
      drain: { type: 'string', default: '1' },
      tools: { type: 'string', default: 'veth,any,pathwatch' },
      'capture-cpus': { type: 'string', default: '0' },
      'sender-cpu': { type: 'string', default: '1' },
      batch: { type: 'string', default: '64' },
      budget: { type: 'string', default: '480' },
      'keep-climbing': { type: 'boolean', default: false },
      out: { type: 'string', default: join(ROOT, 'bench', 'out', 'live-results.json') },
    },
  });
  const rates = values.rates.split(',').map(Number);
  if (rates.length === 0 || rates.length > 20 || rates.some((r) => !(r > 0 && r <= 5e6))) throw new Error('--rates: up to 20 rates in packets/s, each in (0, 5e6]');
  const tools = values.tools.split(',').map((t) => TOOL_ALIASES[t] ?? t) as ToolName[];
  if (tools.some((t) => !(t in TOOL_LABEL))) throw new Error(`--tools: a list of ${Object.keys(TOOL_LABEL).join(', ')} (or ${Object.keys(TOOL_ALIASES).join(', ')})`);
  const seconds = Number(values.seconds);
  const drainSeconds = Number(values.drain);
  const batch = Number(values.batch);
  const budgetSeconds = Number(values.budget);
  if (!(seconds > 0 && seconds <= 30) || !(drainSeconds >= 0 && drainSeconds <= 10)) throw new Error('--seconds in (0, 30], --drain in [0, 10]');
  if (!(Number.isInteger(batch) && batch >= 1 && batch <= 256)) throw new Error('--batch: 1..256');
  if (!(budgetSeconds > 0 && budgetSeconds <= 3600)) throw new Error('--budget: seconds, up to 3600');
  const cpuList = /^[\d,-]+$/;
  const captureCpus = values['capture-cpus'] === 'none' ? null : values['capture-cpus'];
  if ((captureCpus !== null && !cpuList.test(captureCpus)) || !cpuList.test(values['sender-cpu'])) throw new Error('--capture-cpus / --sender-cpu: a CPU list (or "none" for captures)');
  return { rates: [...rates].sort((x, y) => x - y), seconds, drainSeconds, tools, captureCpus, senderCpu: values['sender-cpu'], batch, budgetSeconds, keepClimbing: values['keep-climbing'], out: resolve(values.out) };
}

/** The median of the known durations, in ms. */
function medianMs(seconds: readonly (number | null)[]): string {
  const known = seconds.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (known.length === 0) return '?';
  return `${((known[Math.floor((known.length - 1) / 2)] as number) * 1000).toFixed(0)} ms`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(3)}%`;
}

function fmtRss(r: Record<string, number>): string {
  return Object.entries(r)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${(v / 1024).toFixed(0)} MiB`)
    .join(', ');
}

function printStep(s: StepResult): void {
  const cpu = s.cpuUsPerPacket === null ? '?' : s.cpuUsPerPacket.toFixed(2);
  const open = s.captureOpenSeconds === null ? '?' : `${(s.captureOpenSeconds * 1000).toFixed(0)} ms`;
  process.stdout.write(
    `  ${String(s.targetRate).padStart(7)} pps -> sent ${s.sent} at ${s.achievedRate} pps${s.senderLimited ? ' (sender-limited)' : ''}; ` +
      `captured ${s.captured} (loss ${pct(s.loss)}, kernel drops ${s.droppedByKernel}); veth rx ${s.linkDelivered}` +
      `${s.linkDropped || s.backlogDrops ? `, link drops ${s.linkDropped}, backlog drops ${s.backlogDrops}` : ''}; CPU ${cpu} us/pkt; capturing after ${open}, ready after ${(s.readySeconds * 1000).toFixed(0)} ms ${s.lossFree ? 'ok' : 'LOSSY'}\n`,
  );
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces and packet capture)');
  for (const [bin, why] of [
    ['cc', 'to build the sender'],
    ['tcpdump', 'to capture'],
    ['taskset', 'to pin processes'],
  ] as const) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status !== 0) throw new Error(`${bin} not found (${why})`);
  }
  if (spawnSync(GNU_TIME, ['-f', '%U', '-o', '/dev/null', 'true'], { stdio: 'ignore' }).status !== 0) throw new Error(`${GNU_TIME} (GNU time) not found: apt-get install time`);
  if (opts.tools.some(isPathwatch) && !existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('pathwatch is not built: run npx tsc -p tsconfig.json');

  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', cleanupSync);
  const began = Date.now();
  // Other work on the machine skews every figure: recorded with the results.
  const loadAverageAtStart = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'pwlb-'));
  tempDir = dir;
  try {
    const senderBin = buildSender(dir);
    const { nsA, nsB } = createNamespaces(randomBytes(3).toString('hex'));
    const ctx: Context = { opts, nsA, nsB, senderBin, dir };
    const offloads = offloadState(nsB, IF_B);
    process.stdout.write(
      `live-bench: ${nsA} (${ADDR_A}, ${IF_A}, sender on CPU ${opts.senderCpu}) -> ${nsB} (${ADDR_B}, ${IF_B}, captures on CPU ${opts.captureCpus ?? 'any'}); ` +
        `${opts.seconds} s per rate, filter "${FILTER}", lossy at >= ${pct(LOSS_LIMIT)}\n  offloads: ${offloads}\n`,
    );
    await startSink(ctx);
    const ceiling = await runSender(ctx, CEILING_PROBE_RATE);
    process.stdout.write(`  sender ceiling with no capture: ${Math.round(ceiling.rate)} pps (${ceiling.sent} datagrams in ${ceiling.seconds.toFixed(2)} s)\n`);
    interface Ladder {
      readonly tool: ToolName;
      readonly steps: StepResult[];
      stoppedBy: ToolResult['stoppedBy'] | undefined;
      error?: string;
      readonly incidents: { rate: number; error: string }[];
    }
    const ladders: Ladder[] = opts.tools.map((tool) => ({ tool, steps: [], stoppedBy: undefined, incidents: [] }));
    // Interleaved: every tool still climbing runs a rate before any tool runs the next one.
    for (const rate of opts.rates) {
      for (const ladder of ladders) {
        if (ladder.stoppedBy !== undefined) continue;
        const tool = ladder.tool;
        if ((Date.now() - began) / 1000 > opts.budgetSeconds) {
          ladder.stoppedBy = 'budget';
          process.stdout.write(`${TOOL_LABEL[tool]}: time budget of ${opts.budgetSeconds} s spent, ladder stopped\n`);
          continue;
        }
        process.stdout.write(`${TOOL_LABEL[tool]}:\n`);
        let step: StepResult | undefined;
        // A failed rung is run once more (and recorded): one stuck stop should not end a ladder.
        for (let attempt = 0; attempt < 2 && step === undefined; attempt++) {
          try {
            step = await runStep(ctx, tool, rate);
          } catch (e) {
            const message = e instanceof Error ? e.message : String(e);
            ladder.incidents.push({ rate, error: message });
            process.stdout.write(`  ${rate} pps: error${attempt === 0 ? ' (running the rung again)' : ''}: ${message}\n`);
          }
        }
        if (step === undefined) {
          ladder.stoppedBy = 'error';
          ladder.error = ladder.incidents[ladder.incidents.length - 1]?.error;
          continue;
        }
        ladder.steps.push(step);
        printStep(step);
        if (!step.lossFree) ladder.stoppedBy = 'loss';
        else if (step.senderLimited && !opts.keepClimbing) ladder.stoppedBy = 'sender-limit';
      }
    }
    const results: ToolResult[] = ladders.map(({ tool, steps, stoppedBy, error, incidents }) => {
      const clean = steps.filter((s) => s.lossFree);
      const best = clean.reduce<StepResult | null>((b, s) => (b === null || s.achievedRate > b.achievedRate ? s : b), null);
      return { tool, label: TOOL_LABEL[tool], steps, best, firstLossy: steps.find((s) => !s.lossFree) ?? null, stoppedBy: stoppedBy ?? 'ladder-end', ...(error ? { error } : {}), incidents };
    });

    // The table.
    process.stdout.write('\n| tool | highest loss-free rate (pps) | first lossy rung | CPU us/packet at that rate | peak RSS | capturing after (median) |\n|---|---|---|---|---|---|\n');
    for (const r of results) {
      const b = r.best;
      const bound = r.stoppedBy === 'sender-limit' || r.stoppedBy === 'ladder-end' ? '>= ' : '';
      const lossy = r.firstLossy ? `${r.firstLossy.targetRate} (sent at ${r.firstLossy.achievedRate}): loss ${pct(r.firstLossy.loss)}, kernel drops ${r.firstLossy.droppedByKernel}` : `none (${r.stoppedBy})`;
      process.stdout.write(
        `| ${r.label} | ${b ? `${bound}${b.achievedRate} (target ${b.targetRate})` : 'none'} | ${lossy} | ${b?.cpuUsPerPacket?.toFixed(2) ?? '?'} | ${b ? fmtRss(b.peakRssKiB) : '?'} | ${medianMs(r.steps.map((st) => st.captureOpenSeconds))} |\n`,
      );
    }
    // CPU per packet at the same rates (the best rates differ, and cost per packet falls with batching).
    const ratesRun = opts.rates.filter((rate) => results.some((r) => r.steps.some((st) => st.targetRate === rate)));
    process.stdout.write(`\nCPU us/packet by rate (loss in brackets when lossy; node main/capture/other-thread seconds for pathwatch):\n| rate | ${results.map((r) => r.tool).join(' | ')} |\n|---|${results.map(() => '---|').join('')}\n`);
    for (const rate of ratesRun) {
      const cells = results.map((r) => {
        const st = r.steps.find((x) => x.targetRate === rate);
        if (!st) return '';
        const threads = st.nodeThreadSeconds ? ` (${st.nodeThreadSeconds.main.toFixed(2)}/${st.nodeThreadSeconds.capture.toFixed(2)}/${st.nodeThreadSeconds.others.toFixed(2)} s)` : '';
        return `${st.cpuUsPerPacket?.toFixed(2) ?? '?'}${st.lossFree ? '' : ` [${pct(st.loss)}]`}${threads}`;
      });
      process.stdout.write(`| ${rate} | ${cells.join(' | ')} |\n`);
    }
    const rateOf = (t: ToolName): ToolResult | undefined => results.find((r) => r.tool === t);
    const pw = rateOf('pathwatch');
    const ratios: Record<string, { ratio: number; note: string } | null> = {};
    for (const base of ['any', 'veth'] as const) {
      const b = rateOf(base);
      if (pw?.best && b?.best) {
        const baseBounded = b.stoppedBy === 'sender-limit' || b.stoppedBy === 'ladder-end';
        ratios[base] = { ratio: pw.best.achievedRate / b.best.achievedRate, note: baseBounded ? `tcpdump (${base}) never lost: its true limit is higher, so this ratio is an upper bound` : 'both limits measured' };
        process.stdout.write(`\npathwatch / tcpdump(${base}) loss-free rate: ${ratios[base]?.ratio.toFixed(3)} (${ratios[base]?.note})`);
      } else ratios[base] = null;
    }
    process.stdout.write('\n');

    const report = {
      format: 'pathwatch-live-bench/1',
      date: new Date().toISOString(),
      host: { loadAverageAtStart, loadAverageAtEnd: loadavg(), cpus: spawnSync('nproc', [], { encoding: 'utf8' }).stdout.trim(), kernel: spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim(), node: process.version },
      setup: {
        namespaces: [nsA, nsB],
        addresses: [ADDR_A, ADDR_B],
        filter: FILTER,
        senderCeilingPps: Math.round(ceiling.rate),
        sink: 'port 9 bound in namespace b by `sender sink`, never read (datagrams dropped at the socket)',
        secondsPerRate: opts.seconds,
        drainSeconds: opts.drainSeconds,
        batch: opts.batch,
        senderCpu: opts.senderCpu,
        captureCpus: opts.captureCpus,
        tcpdumpBaselineArgs: `-s ${SNAPLEN} -B ${BUFFER_KIB} -n -w /dev/null`,
        lossLimit: LOSS_LIMIT,
        keepClimbing: opts.keepClimbing,
        offloads,
        rates: opts.rates,
      },
      results,
      ratios,
      wallSeconds: (Date.now() - began) / 1000,
    };
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`wrote ${opts.out} (${report.wallSeconds.toFixed(0)} s)\n`);
    return results.some((r) => r.stoppedBy === 'error') ? 1 : 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`live-bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
    return cleanup();
  },
);
