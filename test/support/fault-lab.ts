/**
 * Plumbing for the fault tests (test/faults): the real `pathwatch collector` and `pathwatch agent`
 * as child processes (agents inside the lab's node namespaces), HTTP over the collector's unix
 * socket, and the few facts the tests read back (Prometheus samples, the agent's stop line, the
 * batches left in a spool). Every child is remembered so afterAll can SIGKILL whatever is still
 * running, also when a test failed half way.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { DropEvent } from '../../core/explain/drop-event.js';
import { run } from '../../lab/exec.js';
import { labNode, type NodeRole, type StoryTopology } from '../../lab/topology.js';
import { icmpEcho, tcpConnect } from '../../lab/traffic.js';
import { ROOT } from './built-cli.js';

export const PATHWATCH = [process.execPath, join(ROOT, 'bin/pathwatch.js')];

export interface Child {
  readonly label: string;
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Exit code, or the signal's name when a signal ended it. */
  readonly exit: Promise<number | string>;
  exited(): boolean;
}

/** Children started through a ChildSet; killAll() SIGKILLs those still running. */
export class ChildSet {
  private readonly all: Child[] = [];

  start(label: string, argv: readonly string[]): Child {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let done = false;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const exit = new Promise<number | string>((resolve) =>
      child.on('exit', (code, signal) => {
        done = true;
        resolve(code ?? signal ?? 'unknown');
      }),
    );
    const c: Child = { label, child, stderr: () => stderr, exit, exited: () => done };
    this.all.push(c);
    return c;
  }

  /**
   * Stops every child still running: SIGTERM first (an agent then flushes and detaches its drop
   * monitor), SIGKILL to whatever still runs after 8 s; waits (bounded) for them to be gone.
   */
  async killAll(): Promise<void> {
    const running = this.all.filter((c) => !c.exited());
    for (const c of running) c.child.kill('SIGTERM');
    await Promise.race([Promise.all(running.map((c) => c.exit)), sleep(8000)]);
    for (const c of running) if (!c.exited()) c.child.kill('SIGKILL');
    await Promise.race([Promise.all(running.map((c) => c.exit)), sleep(5000)]);
  }

  /** Every child's stderr, labelled: for failure messages. */
  logs(): string {
    return this.all.map((c) => `--- ${c.label}:\n${c.stderr().trim()}`).join('\n');
  }
}

/**
 * SIGKILLs whatever still runs inside the lab's node namespaces once the children were stopped (an
 * `ip route get` an agent had asked when it was killed, orphaned), by pid; the lab's own python
 * helpers are left to destroy(). Agents have no helper process beyond such a question: their
 * capture and drop monitor run and end inside them.
 */
export async function killLeftoversInNodes(topo: StoryTopology | undefined): Promise<void> {
  if (topo === undefined) return;
  for (const role of ['n1', 'n2'] as const) {
    let pids: number[] = [];
    try {
      pids = (await run(['ip', 'netns', 'pids', topo.nodes[role].ns])).split('\n').map(Number).filter((p) => p > 0);
    } catch {
      continue; // the namespace is gone already
    }
    for (const pid of pids) {
      let comm = '';
      try {
        comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
      if (/^python/.test(comm)) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every 250 ms until it is true; throws with `what` (a function: built at the end) after ms. */
export async function until(check: () => Promise<boolean> | boolean, ms: number, what: string | (() => string | Promise<string>)): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    let ok = false;
    try {
      ok = await check();
    } catch {
      ok = false; // a collector that is restarting: ask again
    }
    if (ok) return;
    if (Date.now() > end) {
      let described: string;
      try {
        described = typeof what === 'string' ? what : await what();
      } catch (e) {
        described = `(could not describe: ${(e as Error).message})`;
      }
      throw new Error(`timed out after ${ms} ms waiting for ${described}`);
    }
    await sleep(250);
  }
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** GET over the collector's unix socket (5 s limit). */
export function get(socket: string, path: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: 'GET', timeout: 5000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

export async function getJson<T>(socket: string, path: string): Promise<T> {
  const r = await get(socket, path);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body.slice(0, 200)}`);
  return JSON.parse(r.body) as T;
}

export async function drops(socket: string): Promise<DropEvent[]> {
  return (await getJson<{ drops: DropEvent[] }>(socket, '/api/v1/drops?limit=10000')).drops;
}

/**
 * Flows the collector's API returns more than once: two identical records (same flow, interval and
 * counts) never come from one agent, so each is a batch's flows counted twice.
 */
export async function duplicateFlows(socket: string): Promise<{ flow: unknown; copies: number }[]> {
  const flows = (await getJson<{ flows: unknown[] }>(socket, '/api/v1/flows?limit=10000')).flows;
  const seen = new Map<string, number>();
  for (const f of flows) seen.set(JSON.stringify(f), (seen.get(JSON.stringify(f)) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([f, copies]) => ({ flow: JSON.parse(f) as unknown, copies }));
}

/** One node as /api/v1/nodes shows it (the parts the fault tests read). */
export interface NodeStatus {
  readonly node: string;
  readonly agentId: string;
  readonly bootId: string;
  readonly lastBatch: string;
  readonly loss?: { batches_dropped: number; bytes_dropped: number };
}

export async function nodes(socket: string): Promise<NodeStatus[]> {
  return (await getJson<{ nodes: NodeStatus[] }>(socket, '/api/v1/nodes')).nodes;
}

/** A Prometheus sample's value (0 when absent): `name` or `name{label="v",...}` written exactly as exposed. */
export function sample(metricsText: string, series: string): number {
  for (const line of metricsText.split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space > 0 && line.slice(0, space) === series) return Number(line.slice(space + 1));
  }
  return 0;
}

export async function metric(socket: string, series: string): Promise<number> {
  return sample((await get(socket, '/metrics')).body, series);
}

/** The reverse-path drop of `proto` from the client to `dst` at n2 on the tunnel, if stored. */
export function storyDrop(all: readonly DropEvent[], topo: StoryTopology, proto: string, dport?: number): DropEvent | undefined {
  return all.find(
    (d) =>
      d.node === 'n2' &&
      d.iface === topo.nodes.n2.tunnel &&
      d.src === topo.gateway.clientAddress &&
      d.dst === topo.pods.asymmetric.address &&
      d.proto === proto &&
      (dport === undefined || d.dport === dport) &&
      d.verdict === 'reverse-path',
  );
}

export interface CollectorArgs {
  readonly socket: string;
  readonly store: string;
  readonly extra?: readonly string[];
}

/** Starts `pathwatch collector` on a unix socket and waits until it says it listens. */
export async function startCollector(children: ChildSet, label: string, o: CollectorArgs): Promise<Child> {
  const c = children.start(label, [...PATHWATCH, 'collector', '--listen', `unix:${o.socket}`, '--store', o.store, ...(o.extra ?? [])]);
  await until(() => c.stderr().includes('listening on') || c.exited(), 60_000, () => `${label} to listen (${c.stderr()})`);
  if (c.exited()) throw new Error(`${label} exited at start: ${c.stderr()}`);
  return c;
}

export interface AgentArgs {
  readonly node: NodeRole;
  readonly socket: string;
  readonly spoolDir: string;
  readonly extra?: readonly string[];
}

/** Starts `pathwatch agent` inside a node's namespace, shipping to the unix socket; waits until it watches. */
export async function startAgent(children: ChildSet, topo: StoryTopology, label: string, o: AgentArgs): Promise<Child> {
  const a = children.start(label, [
    'ip', 'netns', 'exec', labNode(topo, o.node).ns, ...PATHWATCH, 'agent',
    '--collector', `unix:${o.socket}`, '--node', o.node, '--spool-dir', o.spoolDir, ...(o.extra ?? []),
  ]);
  await until(() => a.stderr().includes('watching') || a.exited(), 20_000, () => `${label} to watch (${a.stderr()})`);
  if (a.exited()) throw new Error(`${label} exited at start: ${a.stderr()}`);
  return a;
}

/** What an agent's last line says: `stopped: P packets, B batches (D delivered, S spooled, L lost), V vanished groups`. */
export interface AgentStopLine {
  readonly packets: number;
  readonly batches: number;
  readonly delivered: number;
  readonly spooled: number;
  readonly lost: number;
  readonly vanishedGroups: number;
}

export function agentStopLine(stderr: string): AgentStopLine | undefined {
  const m = /stopped: (\d+) packets, (\d+) batches \((\d+) delivered, (\d+) spooled, (\d+) lost\), (\d+) vanished groups/.exec(stderr);
  if (!m) return undefined;
  const [packets, batches, delivered, spooled, lost, vanishedGroups] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return { packets, batches, delivered, spooled, lost, vanishedGroups };
}

/** SIGTERM, then the exit code and the parsed stop line (throws with the agent's stderr if it has none). */
export async function stopAgent(a: Child, timeoutMs = 20_000): Promise<{ code: number | string; line: AgentStopLine }> {
  a.child.kill('SIGTERM');
  const code = await Promise.race([a.exit, sleep(timeoutMs).then(() => 'still running' as const)]);
  const line = agentStopLine(a.stderr());
  if (line === undefined) throw new Error(`${a.label} (exit ${code}) printed no stop line:\n${a.stderr()}`);
  return { code, line };
}

/** Batch files waiting in a spool directory (all collectors' subdirectories). */
export function spooledBatchFiles(spoolDir: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(dir, name);
      if (name.endsWith('.batch')) found.push(p);
      else if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) walk(p);
    }
  };
  walk(spoolDir);
  return found.sort();
}

export interface SteadyTraffic {
  /** Echo requests and SYNs sent from the client to the asymmetric pod (each one vanishes at n2). */
  readonly icmpSent: number;
  readonly icmpAnswered: number;
  readonly tcpSent: number;
  readonly tcpAnswered: number;
}

/**
 * Traffic from the client to the asymmetric pod for `rounds` x 10 s: 10 echo requests a second
 * (rounds of 100, the helper's cap per probe) and 2 SYNs a second to `tcpPort`, side by side.
 */
export async function steadyStoryTraffic(topo: StoryTopology, rounds: number, tcpPort = 80): Promise<SteadyTraffic> {
  const pa = topo.pods.asymmetric.address;
  const icmpRounds = (async () => {
    let sent = 0;
    let answered = 0;
    for (let i = 0; i < rounds; i++) {
      const r = await icmpEcho(topo, 'gw', pa, { count: 100, intervalMs: 100, timeoutMs: 300 });
      sent += r.sent;
      answered += r.answered;
    }
    return { sent, answered };
  })();
  const tcpRounds = (async () => {
    let sent = 0;
    let answered = 0;
    for (let i = 0; i < rounds; i++) {
      const r = await tcpConnect(topo, 'gw', pa, { port: tcpPort, count: 20, intervalMs: 500, timeoutMs: 300 });
      sent += r.sent;
      answered += r.answered;
    }
    return { sent, answered };
  })();
  const [icmp, tcp] = await Promise.all([icmpRounds, tcpRounds]);
  return { icmpSent: icmp.sent, icmpAnswered: icmp.answered, tcpSent: tcp.sent, tcpAnswered: tcp.answered };
}
