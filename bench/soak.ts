/**
 * `npm run soak`: the story's lab left running with steady traffic, to see that pathwatch stays
 * right and stays small over time.
 *
 *   node dist/bench/soak.js [--minutes N] [--burst-every S] [--sample-every S] [--warmup-minutes M]
 *                           [--overlay ipip|vxlan] [--json PATH]
 *
 * Runs (as root, in network namespaces: lab/topology.ts buildStoryTopology):
 *  - a collector in this process (embedded store in a temporary directory, on a unix socket);
 *  - one agent per node, `ip netns exec <node> node bin/pathwatch.js agent ...`, as `pathwatch lab` does;
 *  - healthy background traffic, all the time, at a bounded rate, only to addresses inside the lab:
 *    the client (100.64.0.1) and the healthy pod both ways (ICMP at 10/s, TCP connects), and pod to pod
 *    across the tunnel (ph <-> pa, which crosses the overlay and is answered);
 *  - the asymmetric pod's traffic in a burst every --burst-every seconds (default 30): the client to
 *    the pod and the pod to the client, ICMP and TCP, whose packets n2's strict rp_filter drops.
 *
 * Every --sample-every seconds (default 10) it reads VmRSS (/proc/PID/status) and the number of open
 * file descriptors (/proc/PID/fd) of the collector (this process) and of each agent's node process,
 * which is the whole agent (its capture and kernel drop monitor run inside it). The traffic probes
 * run in a separate process (this script forked with --traffic-worker), so that their short-lived
 * stdio does not show up among the collector's descriptors.
 *
 * At the end it reports, prints a table and writes JSON (default bench/out/soak.json):
 *  - false drop events: any drop event that is not at n2, on the tunnel, between the asymmetric pod and
 *    the client. Goal: none.
 *  - the real ones: each burst must show up as new dropped packets (ICMP and TCP) at n2's tunnel. Goal: all.
 *  - memory growth after warm-up (default the first 2 minutes, or a third of a shorter run): median of
 *    the last three RSS samples against the median of the first three after warm-up. Goal: under 10%
 *    for the collector and each agent. Beside the RSS, to tell retained JS objects from native memory
 *    (the allocator, the embedded store), it shows the JS heap's floor and the Buffers' memory
 *    (external + arrayBuffers); each agent reports its process.memoryUsage() through a small probe
 *    loaded with `node --import` (HEAP_PROBE). Measured here (2 CPUs): the RSS of the agents and of
 *    the collector (chDB's caches) still climbs for 8-10 minutes and then stays level, with the JS
 *    heap flat; to judge a leak rather than that warm-up, run `--minutes 25 --warmup-minutes 10`.
 *  - open file descriptor growth: the lowest count in the last third of the samples after warm-up
 *    against the lowest in the first third (connections and the store's merges open descriptors for a
 *    moment; a leak raises the floor). Goal: none.
 *
 * Exit status: 0 when every goal is met, 1 when one is not (the figures are still printed and written),
 * 2 when it cannot run (not root, bad arguments, the lab could not be built).
 */
import { fork, spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { RunningCollector } from '../collector/collector-runner.js';
import type { DropEvent } from '../core/explain/drop-event.js';
import { buildStoryTopology, cleanupStaleLabNamespaces, type Overlay, type StoryTopology } from '../lab/topology.js';
import { icmpEcho, tcpConnect, type ProbeOptions, type ProbeResult } from '../lab/traffic.js';
import type { LabNsRole } from '../lab/topology.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PREFIX = 'pwsoak';
const MEMORY_GROWTH_GOAL_PCT = 10;

class SoakUsageError extends Error {}

export interface SoakOptions {
  readonly minutes: number;
  readonly burstEverySec: number;
  readonly sampleEverySec: number;
  readonly warmupMinutes: number;
  readonly overlay: Overlay;
  readonly jsonPath: string;
}

function parseOptions(argv: string[]): SoakOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        minutes: { type: 'string', default: '10' },
        'burst-every': { type: 'string', default: '30' },
        'sample-every': { type: 'string', default: '10' },
        'warmup-minutes': { type: 'string' },
        overlay: { type: 'string', default: 'ipip' },
        json: { type: 'string', default: join(ROOT, 'bench', 'out', 'soak.json') },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    throw new SoakUsageError((e as Error).message.split('\n')[0]);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write('Usage: node dist/bench/soak.js [--minutes N] [--burst-every S] [--sample-every S] [--warmup-minutes M] [--overlay ipip|vxlan] [--json PATH]\n');
    process.exit(0);
  }
  const num = (name: string, text: string, min: number, max: number): number => {
    const n = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || n < min || n > max) throw new SoakUsageError(`--${name} must be a number from ${min} to ${max}, not "${text}"`);
    return n;
  };
  const minutes = num('minutes', v.minutes, 0.5, 24 * 60);
  const burstEverySec = num('burst-every', v['burst-every'], 5, 3600);
  const sampleEverySec = num('sample-every', v['sample-every'], 1, 600);
  const warmupMinutes = v['warmup-minutes'] !== undefined ? num('warmup-minutes', v['warmup-minutes'], 0, minutes) : Math.min(2, minutes / 3);
  if (v.overlay !== 'ipip' && v.overlay !== 'vxlan') throw new SoakUsageError(`--overlay must be ipip or vxlan, not "${v.overlay}"`);
  return { minutes, burstEverySec, sampleEverySec, warmupMinutes, overlay: v.overlay, jsonPath: resolve(v.json) };
}

// ---- processes and their resources ----------------------------------------------------------------

type AgentChild = ChildProcessByStdio<null, Readable, Readable>;

interface Agent {
  readonly node: 'n1' | 'n2';
  readonly child: AgentChild;
  stderr: string;
  exitCode: number | null | undefined;
  readonly exit: Promise<number | null>;
  /** The agent's node process (the pid of `ip netns exec`, which execs, or its child). */
  pid: number | undefined;
}

/**
 * Loaded into each agent with `node --import`: writes process.memoryUsage() to the file named by
 * PATHWATCH_SOAK_HEAP_FILE every 2 s, so that the agents' JS heap can be told apart from the rest of
 * their RSS. A timer and a small write; nothing else of the agent changes.
 */
const HEAP_PROBE = `data:text/javascript,${encodeURIComponent(
  'import { writeFileSync } from "node:fs"; const f = process.env.PATHWATCH_SOAK_HEAP_FILE; if (f) { const w = () => { try { writeFileSync(f, JSON.stringify(process.memoryUsage())); } catch {} }; w(); setInterval(w, 2000).unref(); }',
)}`;

function startAgent(ns: string, node: 'n1' | 'n2', socket: string, spoolDir: string, heapFile: string): Agent {
  const argv = ['netns', 'exec', ns, process.execPath, '--import', HEAP_PROBE, join(ROOT, 'bin/pathwatch.js'), 'agent', '--collector', `unix:${socket}`, '--node', node, '--spool-dir', spoolDir, '--cross-node-sample', '1'];
  const child = spawn('ip', argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATHWATCH_SOAK_HEAP_FILE: heapFile } });
  let resolveExit: (code: number | null) => void = () => undefined;
  const agent: Agent = { node, child, stderr: '', exitCode: undefined, exit: new Promise((r) => (resolveExit = r)), pid: undefined };
  child.on('exit', (code) => {
    agent.exitCode = code;
    resolveExit(code);
  });
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => (agent.stderr = (agent.stderr + d.toString()).slice(-20_000)));
  return agent;
}

function procStat(pid: number): { comm: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const ppid = Number(text.slice(close + 2).split(' ')[1]);
    return { comm, ppid };
  } catch {
    return undefined;
  }
}

/** Every process whose parent chain reaches pid (not pid itself). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (!s) continue;
    const list = children.get(s.ppid) ?? [];
    list.push(Number(name));
    children.set(s.ppid, list);
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/**
 * The agent's node process. `ip netns exec` calls setns() and execs the command, so the pid we spawned
 * is normally node itself; an `ip` that forks instead leaves node as its child.
 */
function agentNodePid(spawned: number): number | undefined {
  const own = procStat(spawned);
  if (own?.comm === 'node' || own?.comm === 'pathwatch') return spawned;
  return descendants(spawned).find((p) => procStat(p)?.comm === 'node');
}

function rssKb(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function fdTargets(pid: number): string[] | null {
  try {
    const dir = `/proc/${pid}/fd`;
    return readdirSync(dir).map((fd) => {
      try {
        return readlinkSync(`${dir}/${fd}`);
      } catch {
        return '';
      }
    });
  } catch {
    return null;
  }
}

/**
 * Open descriptors of pid, by kind: pipe, socket, anon_inode, file, dev, and procfs. The total leaves
 * out procfs: the embedded store (chDB) keeps /proc/self/task/TID/{stat,schedstat,io} open for each
 * of its pool threads that has run a query, three at a time as its pool warms up, and closes them
 * with the thread; they are counted on their own (kinds.procfs) in the JSON.
 */
function fdCount(pid: number): { total: number; kinds: Record<string, number> } | null {
  const targets = fdTargets(pid);
  if (targets === null) return null;
  const kinds: Record<string, number> = {};
  let total = 0;
  for (const target of targets) {
    const kind = /^(pipe|socket|anon_inode):/.exec(target)?.[1] ?? (target.startsWith('/proc/') ? 'procfs' : target.startsWith('/dev/') ? 'dev' : target.startsWith('/') ? 'file' : 'other');
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    if (kind !== 'procfs') total++;
  }
  return { total, kinds };
}

interface Sample {
  /** Seconds since the traffic started. */
  readonly t: number;
  readonly rssKb: number | null;
  /** Open descriptors but the procfs ones (see fdCount). */
  readonly fds: number | null;
  /** The descriptors by what they are: pipe, socket, anon_inode, file, dev, procfs. */
  readonly fdKinds: Record<string, number>;
  /** process.memoryUsage() of node processes (the collector: here; agents: from their heap probe). */
  readonly js: JsMemory | null;
}

interface JsMemory {
  readonly heapUsedKb: number;
  readonly heapTotalKb: number;
  /** Memory of C++ objects bound to JS ones, Buffers' included. */
  readonly externalKb: number;
  readonly arrayBuffersKb: number;
}

function jsMemory(m: { heapUsed?: unknown; heapTotal?: unknown; external?: unknown; arrayBuffers?: unknown }): JsMemory | null {
  const kb = (x: unknown): number => (typeof x === 'number' ? Math.round(x / 1024) : NaN);
  const out = { heapUsedKb: kb(m.heapUsed), heapTotalKb: kb(m.heapTotal), externalKb: kb(m.external), arrayBuffersKb: kb(m.arrayBuffers) };
  return Object.values(out).every(Number.isFinite) ? out : null;
}

interface Tracked {
  readonly name: string;
  /** The processes measured together. */
  readonly pids: () => number[];
  /** process.memoryUsage(), for node processes. */
  readonly js: () => JsMemory | null;
  readonly samples: Sample[];
  /** Pids seen over the run. */
  readonly seenPids: Set<number>;
}

function jsFromProbe(file: string): JsMemory | null {
  try {
    return jsMemory(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>);
  } catch {
    return null;
  }
}

function sampleOf(t: number, pids: number[], js: JsMemory | null): Sample {
  let rss: number | null = null;
  let fds: number | null = null;
  const fdKinds: Record<string, number> = {};
  for (const p of pids) {
    const r = rssKb(p);
    const f = fdCount(p);
    if (r !== null) rss = (rss ?? 0) + r;
    if (f !== null) {
      fds = (fds ?? 0) + f.total;
      for (const [k, n] of Object.entries(f.kinds)) fdKinds[k] = (fdKinds[k] ?? 0) + n;
    }
  }
  return { t, rssKb: rss, fds, fdKinds, js };
}

// ---- traffic ------------------------------------------------------------------------------------------

interface TrafficTally {
  probes: number;
  sent: number;
  answered: number;
  failures: number;
  lastFailure: string;
}

function tally(into: TrafficTally, r: ProbeResult): void {
  into.probes++;
  into.sent += r.sent;
  into.answered += r.answered;
}

/** Runs `round` again and again until stop is set (each round is a few bounded probes). */
async function loop(stop: { value: boolean }, t: TrafficTally, round: () => Promise<ProbeResult[]>): Promise<void> {
  while (!stop.value) {
    try {
      for (const r of await round()) tally(t, r);
    } catch (e) {
      t.failures++;
      t.lastFailure = (e as Error).message.slice(0, 300);
      await sleep(1000);
    }
  }
}

/** What the traffic worker needs of the topology: the probes only use the namespace names. */
interface TrafficPlan {
  readonly namespaces: StoryTopology['namespaces'];
  readonly client: string;
  readonly healthyPod: string;
  readonly asymmetricPod: string;
}

type ToWorker = { kind: 'start'; plan: TrafficPlan } | { kind: 'burst'; id: number } | { kind: 'stop' };
type FromWorker = { kind: 'burst'; id: number; sent: number; error?: string } | { kind: 'stopped'; healthy: TrafficTally; podToPod: TrafficTally };

/**
 * The traffic worker (this script with --traffic-worker, forked with an IPC channel): healthy traffic
 * in two loops until told to stop, and an asymmetric burst whenever asked.
 *  - the client and the healthy pod both ways: ~10 ICMP/s and ~4 TCP connects/s each way;
 *  - pod to pod across the tunnel (ph -> pa, pa -> ph): ~5 ICMP/s and 2 connects per round.
 * Every probe is bounded (lab/traffic.ts); a round takes 1-2 s.
 */
async function trafficWorker(): Promise<void> {
  const plan = await new Promise<TrafficPlan>((resolve) => process.once('message', (m: ToWorker) => m.kind === 'start' && resolve(m.plan)));
  const t = { namespaces: plan.namespaces } as StoryTopology;
  const stop = { value: false };
  const healthy: TrafficTally = { probes: 0, sent: 0, answered: 0, failures: 0, lastFailure: '' };
  const podToPod: TrafficTally = { probes: 0, sent: 0, answered: 0, failures: 0, lastFailure: '' };
  const pair = (from: LabNsRole, dst: string, icmp: ProbeOptions, tcp: ProbeOptions): Promise<ProbeResult[]> => Promise.all([icmpEcho(t, from, dst, icmp), tcpConnect(t, from, dst, tcp)]);
  const steadyIcmp: ProbeOptions = { count: 10, intervalMs: 100, timeoutMs: 500 };
  const steadyTcp: ProbeOptions = { count: 4, intervalMs: 250, timeoutMs: 900 };
  const crossIcmp: ProbeOptions = { count: 5, intervalMs: 200, timeoutMs: 500 };
  const loops = [
    loop(stop, healthy, async () => (await Promise.all([pair('gw', plan.healthyPod, { ...steadyIcmp, src: plan.client }, { ...steadyTcp, src: plan.client }), pair('ph', plan.client, steadyIcmp, steadyTcp)])).flat()),
    loop(stop, podToPod, async () => (await Promise.all([pair('ph', plan.asymmetricPod, crossIcmp, { count: 2 }), pair('pa', plan.healthyPod, crossIcmp, { count: 2 })])).flat()),
  ];
  const send = (m: FromWorker): void => void process.send?.(m);
  process.on('message', (m: ToWorker) => {
    if (m.kind === 'burst') {
      // The story's asymmetric traffic, with the probes' defaults (3 ICMP, 2 TCP connects) each way.
      Promise.all([pair('gw', plan.asymmetricPod, { src: plan.client }, { src: plan.client }), pair('pa', plan.client, {}, {})]).then(
        (rs) => send({ kind: 'burst', id: m.id, sent: rs.flat().reduce((n, r) => n + r.sent, 0) }),
        (e: Error) => send({ kind: 'burst', id: m.id, sent: 0, error: e.message.slice(0, 300) }),
      );
    } else if (m.kind === 'stop') {
      stop.value = true;
      void Promise.allSettled(loops).then(() => {
        send({ kind: 'stopped', healthy, podToPod });
        process.disconnect?.();
      });
    }
  });
  // Orphaned (the soak died): stop.
  process.once('disconnect', () => {
    stop.value = true;
  });
}

interface Burst {
  readonly index: number;
  /** Seconds since the traffic started. */
  readonly at: number;
  /** Packets and connection attempts the burst's probes sent. */
  sent: number;
  /** Dropped packets of the story's asymmetric traffic at n2's tunnel, before the burst. */
  readonly before: { icmp: number; tcp: number };
  after?: { icmp: number; tcp: number };
  /** Seconds from the burst's start until both ICMP and TCP drops had grown. */
  foundAfterSec?: number;
}

// ---- drop events --------------------------------------------------------------------------------------

interface Classified {
  readonly real: DropEvent[];
  readonly falseDrops: DropEvent[];
}

function classify(events: readonly DropEvent[], t: StoryTopology): Classified {
  const pod = t.pods.asymmetric.address;
  const client = t.gateway.clientAddress;
  const tunnel = t.nodes.n2.tunnel;
  const real: DropEvent[] = [];
  const falseDrops: DropEvent[] = [];
  for (const e of events) {
    const story = e.node === 'n2' && e.iface === tunnel && ((e.src === client && e.dst === pod) || (e.src === pod && e.dst === client));
    (story ? real : falseDrops).push(e);
  }
  return { real, falseDrops };
}

function realPackets(events: readonly DropEvent[], t: StoryTopology): { icmp: number; tcp: number } {
  const out = { icmp: 0, tcp: 0 };
  for (const e of classify(events, t).real) {
    if (e.proto === 'icmp') out.icmp += e.packets;
    else if (e.proto === 'tcp') out.tcp += e.packets;
  }
  return out;
}

async function dropEvents(collector: RunningCollector): Promise<DropEvent[]> {
  const res = await collector.app.inject('/api/v1/drops?limit=10000');
  if (res.statusCode !== 200) throw new Error(`collector answered ${res.statusCode} to /api/v1/drops: ${res.body.slice(0, 200)}`);
  return (res.json() as { drops: DropEvent[] }).drops;
}

// ---- figures ------------------------------------------------------------------------------------------

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export interface ProcessFigures {
  readonly name: string;
  readonly pids: number[];
  readonly samples: number;
  readonly rssStartKb: number | null;
  readonly rssBaselineKb: number | null;
  readonly rssEndKb: number | null;
  readonly rssMaxKb: number | null;
  readonly rssGrowthPct: number | null;
  readonly fdsBaseline: number | null;
  readonly fdsEnd: number | null;
  readonly fdsMax: number | null;
  readonly fdGrowth: number | null;
  /** The JS heap's floor (lowest heapUsed: what survives collections) in the first and last third after warm-up. */
  readonly heapFloorBaselineKb: number | null;
  readonly heapFloorEndKb: number | null;
  readonly heapFloorGrowthPct: number | null;
  /** external + arrayBuffers (Buffers and other native memory held by JS objects), medians of three. */
  readonly externalBaselineKb: number | null;
  readonly externalEndKb: number | null;
}

function figures(p: Tracked, warmupSec: number): ProcessFigures {
  const valid = p.samples.filter((s) => s.rssKb !== null && s.fds !== null);
  const after = valid.filter((s) => s.t >= warmupSec);
  // Memory: the median of the first three samples after warm-up against that of the last three.
  const rss = (xs: Sample[]): number | null => median(xs.map((s) => s.rssKb as number));
  const base = rss(after.slice(0, 3));
  const end = rss(after.slice(-3));
  // Descriptors come and go with connections and the store's merges, always upwards from a floor; a
  // leak raises the floor. So: the lowest count in the first third after warm-up against the lowest
  // in the last third.
  const third = Math.max(1, Math.floor(after.length / 3));
  const floor = (xs: Sample[]): number | null => (xs.length === 0 ? null : Math.min(...xs.map((s) => s.fds as number)));
  const fdBase = floor(after.slice(0, third));
  const fdEnd = floor(after.slice(-third));
  // The JS heap saws up and down between collections: its floor (the lowest in the first and in the
  // last third, as for descriptors) says what is retained.
  const js = (xs: Sample[]): JsMemory[] => xs.flatMap((s) => (s.js ? [s.js] : []));
  const heapFloor = (xs: Sample[]): number | null => (js(xs).length === 0 ? null : Math.min(...js(xs).map((m) => m.heapUsedKb)));
  const heapBase = heapFloor(after.slice(0, third));
  const heapEnd = heapFloor(after.slice(-third));
  const external = (xs: Sample[]): number | null => median(js(xs).map((m) => m.externalKb + m.arrayBuffersKb));
  return {
    name: p.name,
    pids: [...p.seenPids],
    samples: valid.length,
    rssStartKb: valid[0]?.rssKb ?? null,
    rssBaselineKb: base,
    rssEndKb: end,
    rssMaxKb: valid.length > 0 ? Math.max(...valid.map((s) => s.rssKb as number)) : null,
    rssGrowthPct: base !== null && end !== null && base > 0 ? ((end - base) / base) * 100 : null,
    fdsBaseline: fdBase,
    fdsEnd: fdEnd,
    fdsMax: valid.length > 0 ? Math.max(...valid.map((s) => s.fds as number)) : null,
    fdGrowth: fdBase !== null && fdEnd !== null ? fdEnd - fdBase : null,
    heapFloorBaselineKb: heapBase,
    heapFloorEndKb: heapEnd,
    heapFloorGrowthPct: heapBase !== null && heapEnd !== null && heapBase > 0 ? ((heapEnd - heapBase) / heapBase) * 100 : null,
    externalBaselineKb: external(after.slice(0, 3)),
    externalEndKb: external(after.slice(-3)),
  };
}

export interface SoakReport {
  readonly options: SoakOptions;
  readonly startedAt: string;
  readonly durationSec: number;
  readonly topology: { overlay: Overlay; tunnel: string; tunnelImpl: string; asymmetricPod: string; healthyPod: string; client: string };
  readonly traffic: { healthy: TrafficTally; podToPod: TrafficTally; bursts: number };
  readonly drops: {
    readonly falseDrops: DropEvent[];
    readonly realEvents: number;
    readonly realPackets: { icmp: number; tcp: number };
    readonly bursts: Burst[];
    readonly burstsFound: number;
  };
  readonly processes: ProcessFigures[];
  readonly agentsExitedEarly: string[];
  readonly goals: { noFalseDrops: boolean; allBurstsFound: boolean; memoryFlat: boolean; noFdGrowth: boolean; agentsKeptRunning: boolean };
  readonly samples: Record<string, Sample[]>;
}

// ---- the run ------------------------------------------------------------------------------------------

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((r) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      r();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      r();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function runSoak(o: SoakOptions, log: (line: string) => void, signal: AbortSignal): Promise<SoakReport> {
  const work = mkdtempSync(join(tmpdir(), 'pathwatch-soak-'));
  const agents: Agent[] = [];
  let topology: StoryTopology | undefined;
  let collector: RunningCollector | undefined;
  let worker: ChildProcess | undefined;
  try {
    // Leftovers of a soak that crashed; a soak still running elsewhere (a long one) is younger than this.
    await cleanupStaleLabNamespaces(PREFIX, { olderThanMs: 12 * 3_600_000 });
    log(`building the story's topology (${o.overlay})`);
    topology = await buildStoryTopology({ overlay: o.overlay, prefix: PREFIX });
    const t = topology;
    const socket = join(work, 'collector.sock');
    // Loaded here, not at the top: the traffic worker (this file too) needs no collector and no chDB.
    const { startCollector } = await import('../collector/collector-runner.js');
    collector = await startCollector({ listen: [`unix:${socket}`], store: `embedded:${join(work, 'store')}`, log: (line) => log(`collector: ${line}`) });
    for (const node of ['n1', 'n2'] as const) agents.push(startAgent(t.nodes[node].ns, node, socket, join(work, `spool-${node}`), join(work, `heap-${node}.json`)));
    const startBy = Date.now() + 30_000;
    while (!agents.every((a) => a.stderr.includes('watching'))) {
      if (signal.aborted) throw new Error('interrupted');
      const dead = agents.find((a) => a.exitCode !== undefined);
      if (dead || Date.now() > startBy) throw new Error(`the agents did not start: ${agents.map((a) => `${a.node}: ${a.stderr.trim().split('\n').slice(-3).join(' / ')}`).join(' | ')}`);
      await sleep(100);
    }
    for (const a of agents) {
      a.pid = a.child.pid !== undefined ? agentNodePid(a.child.pid) : undefined;
      if (a.pid === undefined) throw new Error(`cannot find agent ${a.node}'s node process`);
    }
    const tracked: Tracked[] = [
      { name: 'collector', pids: () => [process.pid], js: () => jsMemory(process.memoryUsage()), samples: [], seenPids: new Set() },
      ...agents.map((a): Tracked => ({ name: `agent ${a.node}`, pids: () => [a.pid as number], js: () => jsFromProbe(join(work, `heap-${a.node}.json`)), samples: [], seenPids: new Set() })),
    ];
    log(`collector in this process (pid ${process.pid}), agents ${agents.map((a) => `${a.node} pid ${a.pid}`).join(', ')}; ${o.minutes} min of traffic, a burst every ${o.burstEverySec} s`);

    const started = Date.now();
    const elapsed = (): number => (Date.now() - started) / 1000;
    const client = t.gateway.clientAddress;
    const healthyPod = t.pods.healthy.address;
    const asymPod = t.pods.asymmetric.address;
    worker = fork(fileURLToPath(import.meta.url), ['--traffic-worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const traffic = worker;
    const burstSent = new Map<number, (sent: number) => void>();
    let stopped: ((m: Extract<FromWorker, { kind: 'stopped' }>) => void) | undefined;
    traffic.on('message', (m: FromWorker) => {
      if (m.kind === 'burst') {
        if (m.error) log(`burst ${m.id}: ${m.error}`);
        burstSent.get(m.id)?.(m.sent);
      } else stopped?.(m);
    });
    const toWorker = (m: ToWorker): void => void traffic.send(m);
    toWorker({ kind: 'start', plan: { namespaces: t.namespaces, client, healthyPod, asymmetricPod: asymPod } });
    const bursts: Burst[] = [];
    const endAt = started + o.minutes * 60_000;
    let nextSample = started;
    let nextBurst = started + Math.min(10_000, o.burstEverySec * 1000);
    const sample = (): void => {
      const at = elapsed();
      for (const p of tracked) {
        const pids = p.pids();
        for (const pid of pids) p.seenPids.add(pid);
        p.samples.push(sampleOf(at, pids, p.js()));
      }
    };
    /** Bursts sent and not yet seen at the collector. */
    const pending: Burst[] = [];
    const checkPending = async (): Promise<void> => {
      if (pending.length === 0 || !collector) return;
      const now = realPackets(await dropEvents(collector), t);
      for (const b of [...pending]) {
        if (now.icmp > b.before.icmp && now.tcp > b.before.tcp) {
          b.after = now;
          b.foundAfterSec = elapsed() - b.at;
          pending.splice(pending.indexOf(b), 1);
        }
      }
    };
    while (Date.now() < endAt && !signal.aborted) {
      if (Date.now() >= nextSample) {
        sample();
        nextSample += o.sampleEverySec * 1000;
      }
      // A new burst only once the last one was seen (or gave up): each is measured on its own.
      if (Date.now() >= nextBurst && Date.now() + 20_000 < endAt) {
        for (const b of pending.splice(0)) log(`burst ${b.index} at ${b.at.toFixed(0)} s was not seen within ${o.burstEverySec} s`);
        const before = realPackets(await dropEvents(collector), t);
        const burst: Burst = { index: bursts.length + 1, at: elapsed(), sent: 0, before };
        bursts.push(burst);
        pending.push(burst);
        // The worker answers when its probes are done (~2 s); the sampling goes on meanwhile.
        burstSent.set(burst.index, (sent) => {
          burst.sent = sent;
        });
        toWorker({ kind: 'burst', id: burst.index });
        nextBurst += o.burstEverySec * 1000;
      }
      await checkPending();
      for (const a of agents) if (a.exitCode !== undefined) throw new Error(`agent ${a.node} exited (${a.exitCode}): ${a.stderr.trim().split('\n').slice(-3).join(' / ')}`);
      await sleep(Math.min(1000, Math.max(50, Math.min(nextSample, nextBurst) - Date.now())), signal);
    }
    const tallies = await new Promise<Extract<FromWorker, { kind: 'stopped' }>>((resolve, reject) => {
      stopped = resolve;
      traffic.once('exit', () => reject(new Error('the traffic worker exited before reporting')));
      toWorker({ kind: 'stop' });
    });
    // The last bursts' drops need the agents' window and a shipping tick.
    const settleBy = Date.now() + 20_000;
    while (pending.length > 0 && Date.now() < settleBy) {
      await checkPending();
      await sleep(500);
    }
    await sleep(3000);
    sample();
    const events = await dropEvents(collector);
    const { real, falseDrops } = classify(events, t);
    const durationSec = elapsed();
    const agentsExitedEarly = agents.filter((a) => a.exitCode !== undefined).map((a) => `${a.node}: exit ${a.exitCode}`);
    const warmupSec = o.warmupMinutes * 60;
    const processes = tracked.map((p) => figures(p, warmupSec));
    const report: SoakReport = {
      options: o,
      startedAt: new Date(started).toISOString(),
      durationSec,
      topology: { overlay: o.overlay, tunnel: t.nodes.n2.tunnel, tunnelImpl: t.tunnelImpl, asymmetricPod: asymPod, healthyPod, client },
      traffic: { healthy: tallies.healthy, podToPod: tallies.podToPod, bursts: bursts.length },
      drops: { falseDrops, realEvents: real.length, realPackets: realPackets(events, t), bursts, burstsFound: bursts.filter((b) => b.foundAfterSec !== undefined).length },
      processes,
      agentsExitedEarly,
      goals: {
        noFalseDrops: falseDrops.length === 0,
        allBurstsFound: bursts.length > 0 && bursts.every((b) => b.foundAfterSec !== undefined),
        memoryFlat: processes.every((p) => p.rssGrowthPct !== null && p.rssGrowthPct < MEMORY_GROWTH_GOAL_PCT),
        noFdGrowth: processes.every((p) => p.fdGrowth !== null && p.fdGrowth <= 0),
        agentsKeptRunning: agentsExitedEarly.length === 0,
      },
      samples: Object.fromEntries(tracked.map((p) => [p.name, p.samples])),
    };
    return report;
  } finally {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await Promise.race([new Promise((r) => worker?.once('exit', r)), sleep(5000)]);
    }
    for (const a of agents) a.child.kill('SIGTERM');
    await Promise.race([Promise.all(agents.map((a) => a.exit)), sleep(8000)]);
    for (const a of agents) if (a.exitCode === undefined) a.child.kill('SIGKILL');
    await collector?.close().catch(() => undefined);
    await topology?.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

// ---- output -------------------------------------------------------------------------------------------

function mb(kb: number | null): string {
  return kb === null ? '-' : `${(kb / 1024).toFixed(1)} MB`;
}

function pct(x: number | null): string {
  return x === null ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

export function renderReport(r: SoakReport): string {
  const lines: string[] = [];
  const ok = (b: boolean): string => (b ? 'met' : 'NOT MET');
  lines.push(`pathwatch soak: ${(r.durationSec / 60).toFixed(1)} min, ${r.topology.overlay} (${r.topology.tunnelImpl}), warm-up ${r.options.warmupMinutes.toFixed(1)} min, samples every ${r.options.sampleEverySec} s`);
  lines.push('');
  lines.push(
    table([
      ['process', 'rss start', 'rss after warm-up', 'rss end', 'rss max', 'growth', 'js heap floor after warm-up', 'end', 'growth', 'buffers after warm-up', 'end', 'fds (floor) after warm-up', 'end', 'max', 'growth'],
      ...r.processes.map((p) => [
        p.name, mb(p.rssStartKb), mb(p.rssBaselineKb), mb(p.rssEndKb), mb(p.rssMaxKb), pct(p.rssGrowthPct),
        mb(p.heapFloorBaselineKb), mb(p.heapFloorEndKb), pct(p.heapFloorGrowthPct), mb(p.externalBaselineKb), mb(p.externalEndKb),
        String(p.fdsBaseline ?? '-'), String(p.fdsEnd ?? '-'), String(p.fdsMax ?? '-'), p.fdGrowth === null ? '-' : `${p.fdGrowth >= 0 ? '+' : ''}${p.fdGrowth}`,
      ]),
    ]),
  );
  lines.push('');
  const h = r.traffic.healthy;
  const p = r.traffic.podToPod;
  lines.push(`healthy traffic: ${h.probes} probes, ${h.sent} packets/connects sent, ${h.answered} answered${h.failures > 0 ? `, ${h.failures} probe failures (${h.lastFailure})` : ''}`);
  lines.push(`pod to pod across the tunnel: ${p.probes} probes, ${p.sent} sent, ${p.answered} answered${p.failures > 0 ? `, ${p.failures} probe failures (${p.lastFailure})` : ''}`);
  const found = r.drops.bursts.filter((b) => b.foundAfterSec !== undefined).map((b) => b.foundAfterSec as number);
  lines.push(`asymmetric bursts: ${r.drops.bursts.length} sent, ${r.drops.burstsFound} found (seen at the collector after ${found.length > 0 ? `median ${median(found)!.toFixed(1)} s, max ${Math.max(...found).toFixed(1)} s` : '-'})`);
  lines.push(`real drop events: ${r.drops.realEvents} (${r.drops.realPackets.icmp} ICMP + ${r.drops.realPackets.tcp} TCP packets) at n2 on ${r.topology.tunnel}`);
  lines.push(`false drop events: ${r.drops.falseDrops.length}`);
  for (const d of r.drops.falseDrops.slice(0, 20)) lines.push(`  ${d.node}/${d.iface} ${d.src} -> ${d.dst} ${d.proto} ${d.sport ?? ''}->${d.dport ?? ''} x${d.packets} ${d.verdict} (${d.confidence})`);
  if (r.agentsExitedEarly.length > 0) lines.push(`agents exited early: ${r.agentsExitedEarly.join(', ')}`);
  lines.push('');
  lines.push(`goals: no false drops ${ok(r.goals.noFalseDrops)}; every burst found ${ok(r.goals.allBurstsFound)}; memory growth under ${MEMORY_GROWTH_GOAL_PCT}% after warm-up ${ok(r.goals.memoryFlat)}; no fd growth ${ok(r.goals.noFdGrowth)}; agents kept running ${ok(r.goals.agentsKeptRunning)}`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  let options: SoakOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (e) {
    if (e instanceof SoakUsageError) {
      process.stderr.write(`pathwatch soak: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    process.stderr.write('pathwatch soak: needs root on Linux (it builds the lab in network namespaces); run it with sudo\n');
    return 2;
  }
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const log = (line: string): void => void process.stderr.write(`pathwatch soak: ${line}\n`);
  let report: SoakReport;
  try {
    report = await runSoak(options, log, controller.signal);
  } catch (e) {
    process.stderr.write(`pathwatch soak: ${(e as Error).message.replace(/\s+/g, ' ')}\n`);
    return 2;
  }
  process.stdout.write(renderReport(report));
  mkdirSync(dirname(options.jsonPath), { recursive: true });
  writeFileSync(options.jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`written ${options.jsonPath}\n`);
  if (controller.signal.aborted) return 2;
  return Object.values(report.goals).every(Boolean) ? 0 : 1;
}

if (process.argv[2] === '--traffic-worker') {
  void trafficWorker();
} else if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url) && existsSync(join(ROOT, 'bin/pathwatch.js'))) {
  // Exit explicitly: everything was stopped, but a helper's handle must not keep the soak waiting.
  main().then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`pathwatch soak: internal error: ${e.message}\n`);
      process.exit(1);
    },
  );
}
