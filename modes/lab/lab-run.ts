/**
 * `pathwatch lab`: the story on this machine. Builds the topology in network namespaces, puts the
 * scenario's fault in it (lab/scenarios/: on n2 for most, on n1 for some; rp-filter, the story
 * itself, adds nothing), runs a collector (embedded store in a temporary directory) and one agent
 * inside each node's namespace, sends the story's traffic (with the scenario's probe options), and
 * reads back what the collector found. With `fix`, applies the scenario's remedy, sends the traffic
 * again and reports what vanished after it. Everything it made is removed at the end, on error, and
 * when the signal it is given aborts.
 *
 * With `ui`, the collector also serves its API and web UI on 127.0.0.1 from the start, and outlives
 * the story: once the result is known (handed to `ui.onResult`), the agents are stopped and the
 * namespaces removed, and the collector alone goes on serving what it stored until `ui.serve`
 * resolves; then it is closed and its temporary directory removed.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { startCollector, type RunningCollector } from '../../collector/collector-runner.js';
import type { DropEvent } from '../../core/explain/drop-event.js';
import type { StoredHop } from '../../collector/store/storage.js';
import type { DropSite, LabScenario, ScenarioName, ScenarioRemedy } from '../../lab/scenarios/index.js';
import { buildStoryTopology, cleanupStaleLabNamespaces, type Overlay, type StoryTopology } from '../../lab/topology.js';
import { runStoryTraffic, type StoryTraffic } from '../../lab/traffic.js';

export interface LabOptions {
  readonly overlay: Overlay;
  readonly scenario: LabScenario;
  readonly fix: boolean;
  readonly log: (line: string) => void;
  readonly signal: AbortSignal;
  readonly ui?: LabUi;
}

export interface LabUi {
  /** The TCP port on 127.0.0.1 (0: one the system picks). */
  readonly port: number;
  /** The story's result, as soon as it is known (before the lab is taken down). */
  readonly onResult: (result: LabResult) => void;
  /** The lab is down; the collector serves alone at `url` (http://127.0.0.1:PORT/) until this resolves. */
  readonly serve: (url: string) => Promise<void>;
}

export interface LabDrop {
  readonly event: DropEvent;
  readonly path: readonly StoredHop[];
}

export interface LabResult {
  readonly topology: { readonly overlay: Overlay; readonly tunnel: string; readonly tunnelImpl: string; readonly healthyPod: string; readonly asymmetricPod: string; readonly client: string };
  /**
   * The scenario, its fault in a few words (`strict rp_filter`), and where the fault drops the
   * story's packets (n2 on its tunnel, or n1 on its uplink).
   */
  readonly scenario: { readonly name: ScenarioName; readonly fault: string; readonly dropsAt: DropSite };
  readonly traffic: StoryTraffic;
  readonly drops: LabDrop[];
  readonly afterFix?: { readonly remedy: ScenarioRemedy; readonly traffic: StoryTraffic; readonly drops: LabDrop[] };
}

export class LabAbortedError extends Error {
  override name = 'LabAbortedError';
}

const PREFIX = 'pwlab';
/** A vanished packet reaches the collector within the agent's window and tick (~1 s); wait for quiet this long. */
const QUIET_MS = 3000;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

type Agent = { child: ChildProcessByStdio<null, Readable, Readable>; stderr: string; exit: Promise<number | null> };

export async function runLab(o: LabOptions): Promise<LabResult> {
  const work = mkdtempSync(join(tmpdir(), 'pathwatch-lab-'));
  const agents: Agent[] = [];
  let topology: StoryTopology | undefined;
  let collector: RunningCollector | undefined;
  const checkAborted = (): void => {
    if (o.signal.aborted) throw new LabAbortedError('interrupted');
  };
  /** Stops the agents and removes the namespaces (once; the collector stays). */
  const takeDown = async (): Promise<void> => {
    const stopping = agents.splice(0);
    for (const a of stopping) a.child.kill('SIGTERM');
    // A timer cleared once they are gone: a pending one would keep the process alive for nothing.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(stopping.map((a) => a.exit)), new Promise((r) => (timer = setTimeout(r, 8000)))]);
    clearTimeout(timer);
    for (const a of stopping) a.child.kill('SIGKILL');
    const built = topology;
    topology = undefined;
    await built?.destroy();
  };
  try {
    await cleanupStaleLabNamespaces(PREFIX, { olderThanMs: 10 * 60_000 });
    o.log(`building the story's topology (${o.overlay}) in network namespaces`);
    topology = await buildStoryTopology({ overlay: o.overlay, prefix: PREFIX });
    checkAborted();
    const t = topology;
    // The fault goes in before anything watches the nodes: the agents see them as they are.
    const fault = o.scenario.describe(t);
    await o.scenario.inject(t);
    if (o.scenario.name !== 'rp-filter') o.log(`scenario ${o.scenario.name}: ${fault}`);
    checkAborted();
    const socket = join(work, 'collector.sock');
    const listen = [`unix:${socket}`, ...(o.ui ? [`127.0.0.1:${o.ui.port}`] : [])];
    collector = await startCollector({ listen, store: `embedded:${join(work, 'store')}`, log: (line) => o.log(`collector: ${line}`), });
    o.log(`collector on ${collector.addresses.join(' and ')} (embedded store in ${work})`);
    const tcp = collector.addresses.find((a) => !a.startsWith('unix:'));
    const uiUrl = tcp ? `http://${tcp}/` : '';
    /** With `ui`: report, take the lab down, and serve until told to stop. */
    const finish = async (result: LabResult): Promise<LabResult> => {
      if (!o.ui) return result;
      o.ui.onResult(result);
      o.log('stopping the agents and removing the namespaces; the collector keeps serving what it found');
      await takeDown();
      await o.ui.serve(uiUrl);
      o.log('stopping the collector');
      return result;
    };
    for (const node of ['n1', 'n2'] as const) {
      agents.push(startAgent(t.nodes[node].ns, node, socket, join(work, `spool-${node}`)));
    }
    await waitFor(() => agents.every((a) => a.stderr.includes('watching')), 20_000, o.signal, () => `the agents did not start: ${agents.map((a) => a.stderr.trim()).join(' | ')}`);
    o.log(`agents watching n1 and n2; sending the story's traffic (ICMP and TCP, both pods, both ways)`);
    const traffic = await runStoryTraffic(t, o.scenario.traffic);
    checkAborted();
    const running = collector;
    const drops = await settledDrops(running, o.signal);
    const result: LabResult = {
      topology: { overlay: o.overlay, tunnel: t.nodes.n2.tunnel, tunnelImpl: t.tunnelImpl, healthyPod: t.pods.healthy.address, asymmetricPod: t.pods.asymmetric.address, client: t.gateway.clientAddress },
      scenario: { name: o.scenario.name, fault, dropsAt: o.scenario.dropsAt(t) },
      traffic,
      drops,
    };
    if (!o.fix) return await finish(result); // await: the finally below must wait for it
    const remedy = await o.scenario.fix(t);
    const fixedAt = Date.now();
    o.log(`applied the remedy: ${remedy.commands.join('; ')} in ${remedy.ns}${remedy.was === undefined ? '' : ` (was ${remedy.was})`}; sending the traffic again`);
    const before = new Map(drops.map((d) => [d.event.id, d.event.packets]));
    const trafficAfter = await runStoryTraffic(t, o.scenario.traffic);
    checkAborted();
    // Drops of the traffic after the remedy. A drop event with ports is one connection: the
    // traffic after opens new ones (new source ports), so only those first seen after the remedy
    // count; a connection of the traffic before can go on vanishing after it, retransmitting for
    // seconds, and a remedy need not reach connections already open (mtu: they keep the MSS they
    // agreed on). One without ports (ICMP) groups every echo between the pair, before and after,
    // and echoes are never resent: grown since, and seen vanishing after the remedy (a packet
    // dropped before it can reach the collector late).
    const afterRemedy = (e: DropEvent): boolean => e.sport !== null
      ? Date.parse(e.firstSeen) >= fixedAt
      : e.packets > (before.get(e.id) ?? 0) && Date.parse(e.lastSeen) >= fixedAt;
    const after = (await settledDrops(running, o.signal))
      .filter((d) => afterRemedy(d.event))
      .map((d) => ({ ...d, event: { ...d.event, packets: d.event.packets - (before.get(d.event.id) ?? 0) } }));
    return await finish({ ...result, afterFix: { remedy, traffic: trafficAfter, drops: after } });
  } finally {
    try {
      await takeDown();
    } finally {
      await collector?.close().catch(() => undefined);
      rmSync(work, { recursive: true, force: true });
    }
  }
}

function startAgent(ns: string, node: string, socket: string, spoolDir: string): Agent {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, join(ROOT, 'bin/pathwatch.js'), 'agent', '--collector', `unix:${socket}`, '--node', node, '--spool-dir', spoolDir, '--cross-node-sample', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const agent: Agent = { child, stderr: '', exit: new Promise((r) => child.on('exit', (code) => r(code))) };
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => (agent.stderr = (agent.stderr + d.toString()).slice(-20_000)));
  return agent;
}

async function waitFor(check: () => boolean, ms: number, signal: AbortSignal, failure: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (signal.aborted) throw new LabAbortedError('interrupted');
    if (Date.now() > end) throw new Error(failure());
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The collector's drop events once they stop changing (agents ship as they judge). */
async function settledDrops(collector: RunningCollector, signal: AbortSignal): Promise<LabDrop[]> {
  let last = '';
  let stableSince = Date.now();
  const end = Date.now() + 30_000;
  for (;;) {
    if (signal.aborted) throw new LabAbortedError('interrupted');
    const res = await collector.app.inject('/api/v1/drops?limit=10000');
    const events = (res.json() as { drops: DropEvent[] }).drops;
    const key = events.map((e) => `${e.id}:${e.packets}:${e.confidence}`).join(',');
    if (key !== last) {
      last = key;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= QUIET_MS || Date.now() > end) {
      const drops: LabDrop[] = [];
      for (const event of events) {
        const path = (await collector.app.inject(`/api/v1/paths/${event.id}`)).json() as { hops: StoredHop[] };
        drops.push({ event, path: path.hops });
      }
      return drops;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
