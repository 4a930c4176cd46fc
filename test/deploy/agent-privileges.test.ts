/**
 * The agent works with exactly the capabilities the deployments give it: AGENT_CAPABILITIES, which
 * compose.test.ts and kubernetes.test.ts hold docker-compose.yml and the DaemonSet to. `pathwatch
 * agent` runs as root in a network namespace made here, as the deployments run it: its capabilities
 * bounded to that list with setpriv, no_new_privs, RLIMIT_MEMLOCK at 64 KiB (without SYS_RESOURCE
 * it could not raise it: the kernel charges BPF memory to the memory cgroup instead), and tracefs
 * mounted read-only before it starts (the deployments mount the host's). It captures, its drop
 * monitor is up, and the kernel's drops reach it: UDP from an address the namespace has no route
 * back to, dropped by strict rp_filter, is counted as IP_RPFILTER on the namespace's veth.
 *
 * Without CAP_BPF, or without CAP_PERFMON, it still captures and says once, in one line, why the
 * drop monitor did not start; with no tracefs mounted it cannot mount one (no SYS_ADMIN) and says
 * so the same way.
 *
 * Traffic only between the two namespaces made here (deleted at the end). Needs root, iproute2,
 * setpriv (util-linux) and the kernel's BTF: skipped with the reason elsewhere, failed in CI.
 */
import { execFileSync, spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADDR_B, IF_A, IF_B, makeNamespacePair, type NamespacePair } from '../agent/capture/capture-netns.js';
import { ROOT, ensureBuilt } from '../support/built-cli.js';
import { AGENT_CAPABILITIES, TRACEFS } from './agent-privileges.js';

const IN_CI = process.env['CI'] === 'true';
/** An address namespace b has no route back to: its packets die there by strict rp_filter. */
const SPOOFED = '10.77.0.6';
const RPF_PACKETS = 20;
const METRICS = '127.0.0.1:9464';
/** The kernel's numbers for the capabilities named here (linux/capability.h). */
const CAPABILITY_BITS: Readonly<Record<string, number>> = { NET_ADMIN: 12, NET_RAW: 13, SYSLOG: 34, PERFMON: 38, BPF: 39 };
const MONITOR_DOWN = /^pathwatch agent: kernel drop reasons unavailable \((.*)\); verdicts rest on rp_filter, counters and routes$/gm;

function unavailableReason(): string | null {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, capabilities to bound)';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return 'iproute2 (ip) is not installed';
  if (spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status !== 0) return 'setpriv (util-linux) is not installed';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'the kernel has no BTF (/sys/kernel/btf/vmlinux)';
  return null;
}

const unavailable = unavailableReason();
if (unavailable !== null && !IN_CI) process.stderr.write(`test/deploy: skipping the agent privilege tests: ${unavailable}\n`);

function ipns(ns: string, args: readonly string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8', timeout: 30_000 });
}

/** Sends `count` UDP datagrams from namespace `ns`, from `from`, to ADDR_B. */
function sendUdp(ns: string, from: string, count: number): void {
  const script = `
const s = require('node:dgram').createSocket('udp4');
s.bind(0, '${from}', () => {
  let i = 0;
  const next = () => { if (i === ${count}) { s.close(); return; } s.send('privileges ' + i++, 40200, '${ADDR_B}', next); };
  next();
});`;
  ipns(ns, [process.execPath, '-e', script]);
}

/** The value of one sample of the agent's metrics (labels in any order), or undefined. */
function sample(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]] as const));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}

interface RunningAgent {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  stderr(): string;
  readonly exit: Promise<number | string>;
  metrics(): string;
}

/**
 * `pathwatch agent` in namespace `ns` as root with only `capabilities` (setpriv bounds them, and
 * root's permitted and effective sets follow the bound), no_new_privs, 64 KiB of RLIMIT_MEMLOCK, and
 * the host's tracefs mounted read-only in its mount namespace unless `tracefs` is false. Each
 * command execs the next, so the child's pid ends as the agent's.
 */
function startAgent(ns: string, dir: string, capabilities: readonly string[], tracefs: boolean): RunningAgent {
  const mount = tracefs ? `mount -t tracefs nodev ${TRACEFS} && mount -o remount,bind,ro ${TRACEFS} && ` : '';
  const bound = ['-all', ...capabilities.map((c) => `+${c.toLowerCase()}`)].join(',');
  const agent = [process.execPath, join(ROOT, 'bin/pathwatch.js'), 'agent', '--node', 'privileges', '--collector', `unix:${join(dir, 'no-collector.sock')}`, '--spool-dir', join(dir, `spool-${capabilities.join('-')}-${tracefs}`), '--metrics-listen', METRICS];
  const child = spawn(
    'ip',
    ['netns', 'exec', ns, 'sh', '-c', `${mount}exec "$@"`, 'sh', 'setpriv', `--bounding-set=${bound}`, '--inh-caps=-all', '--no-new-privs', '--', 'sh', '-c', 'ulimit -l 64 && exec "$@"', 'sh', ...agent],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const exit = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const metrics = (): string => ipns(ns, [process.execPath, '-e', `fetch("http://${METRICS}/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))`]);
  return { child, stderr: () => stderr, exit, metrics };
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/** The agent's process as the kernel sees it: its capability sets, no_new_privs and memlock limit. */
function processState(pid: number): { effective: bigint; bounding: bigint; noNewPrivs: boolean; memlock: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): string => new RegExp(`^${name}:\\s+(\\S+)$`, 'm').exec(status)?.[1] ?? '';
  const memlock = /^Max locked memory\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return { effective: BigInt(`0x${field('CapEff')}`), bounding: BigInt(`0x${field('CapBnd')}`), noNewPrivs: field('NoNewPrivs') === '1', memlock: `${memlock?.[1]}/${memlock?.[2]}` };
}

function mask(capabilities: readonly string[]): bigint {
  return capabilities.reduce((m, c) => m | (1n << BigInt(CAPABILITY_BITS[c] as number)), 0n);
}

/** Starts the agent, waits until it watches, sends the spoofed UDP, and hands back what it saw; stops it with SIGTERM. */
async function runAgent(pair: NamespacePair, dir: string, capabilities: readonly string[], tracefs: boolean): Promise<{ stderr: string; metrics: string; state: ReturnType<typeof processState>; exit: number | string }> {
  const agent = startAgent(pair.b, dir, capabilities, tracefs);
  try {
    const watching = await until(() => agent.stderr().includes('watching privileges') || agent.child.exitCode !== null, 20_000);
    expect(watching && agent.child.exitCode === null, `the agent did not start: ${agent.stderr()}`).toBe(true);
    const pid = agent.child.pid as number;
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), 'the agent is the process started (every command exec()s the next)').toBe('node');
    const state = processState(pid);
    sendUdp(pair.a, SPOOFED, RPF_PACKETS);
    // The monitor's ring is read every 100 ms and the capture's blocks within one: wait for both.
    let text = '';
    await until(() => {
      text = agent.metrics();
      const captured = sample(text, 'pathwatch_agent_packets_total') ?? 0;
      const up = sample(text, 'pathwatch_agent_ebpf_monitor_up') === 1;
      return captured >= RPF_PACKETS && (!up || (sample(text, 'pathwatch_agent_kernel_drops_total', { reason: 'IP_RPFILTER', iface: IF_B }) ?? 0) >= RPF_PACKETS);
    }, 10_000);
    agent.child.kill('SIGTERM');
    const exit = await Promise.race([agent.exit, new Promise<string>((r) => setTimeout(() => r('still running 15 s after SIGTERM'), 15_000))]);
    return { stderr: agent.stderr(), metrics: text, state, exit };
  } finally {
    agent.child.kill('SIGKILL');
  }
}

describe('the agent\'s privileges', () => {
  it.runIf(IN_CI)('can be tested in CI', () => {
    expect(unavailable, `the agent privilege tests cannot run in CI: ${unavailable ?? ''}`).toBeNull();
  });

  it('are NET_RAW, NET_ADMIN, BPF, PERFMON and SYSLOG, and neither SYS_ADMIN nor SYS_RESOURCE', () => {
    expect([...AGENT_CAPABILITIES].sort()).toEqual(['BPF', 'NET_ADMIN', 'NET_RAW', 'PERFMON', 'SYSLOG']);
  });
});

describe.skipIf(unavailable !== null)('pathwatch agent with exactly the deployments\' capabilities', () => {
  let pair: NamespacePair | undefined;
  let dir = '';

  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'pw-privileges-'));
    const p = (pair = makeNamespacePair('pwpriv'));
    ipns(p.a, ['ip', 'addr', 'add', `${SPOOFED}/32`, 'dev', IF_A]);
    // Strict, and b knows no way back to SPOOFED (no default route): every such packet is dropped.
    ipns(p.b, ['sysctl', '-q', '-w', 'net.ipv4.conf.all.rp_filter=1', `net.ipv4.conf.${IF_B}.rp_filter=1`]);
  }, 120_000);

  afterAll(() => {
    pair?.destroy();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('reads kernel addresses in /proc/kallsyms with SYSLOG (to name where generic drops were freed), and only zeros without it', () => {
    const firstAddress = (capabilities: readonly string[]): string => {
      const bound = ['-all', ...capabilities.map((c) => `+${c.toLowerCase()}`)].join(',');
      const r = spawnSync('setpriv', [`--bounding-set=${bound}`, '--inh-caps=-all', '--no-new-privs', '--', 'head', '-c', '16', '/proc/kallsyms'], { encoding: 'utf8', timeout: 10_000 });
      return r.stdout;
    };
    expect(firstAddress(AGENT_CAPABILITIES)).toMatch(/^[0-9a-f]{16}$/);
    expect(firstAddress(AGENT_CAPABILITIES)).not.toBe('0'.repeat(16));
    expect(firstAddress(AGENT_CAPABILITIES.filter((c) => c !== 'SYSLOG'))).toBe('0'.repeat(16));
  });

  it('captures, attaches its drop monitor and counts the kernel\'s rp_filter drops, with 64 KiB of locked memory', async () => {
    const r = await runAgent(pair as NamespacePair, dir, AGENT_CAPABILITIES, true);
    // The conditions held: exactly these capabilities, no way to gain more, the old default memlock.
    expect(r.state.effective, 'CapEff').toBe(mask(AGENT_CAPABILITIES));
    expect(r.state.bounding, 'CapBnd').toBe(mask(AGENT_CAPABILITIES));
    expect(r.state.noNewPrivs).toBe(true);
    expect(r.state.memlock).toBe('65536/65536');
    expect([...r.stderr.matchAll(MONITOR_DOWN)].map((m) => m[1]), r.stderr).toEqual([]);
    expect(sample(r.metrics, 'pathwatch_agent_ebpf_monitor_up'), r.metrics).toBe(1);
    expect(sample(r.metrics, 'pathwatch_agent_packets_total'), r.metrics).toBeGreaterThanOrEqual(RPF_PACKETS);
    expect(sample(r.metrics, 'pathwatch_agent_kernel_drops_total', { reason: 'IP_RPFILTER', iface: IF_B }), r.metrics).toBe(RPF_PACKETS);
    expect(sample(r.metrics, 'pathwatch_agent_ebpf_events_lost_total'), r.metrics).toBe(0);
    expect(r.exit, r.stderr).toBe(0);
  }, 60_000);

  it.each(['BPF', 'PERFMON'])('without %s: captures, and says once in one line that the drop monitor needs CAP_BPF and CAP_PERFMON', async (missing) => {
    const r = await runAgent(pair as NamespacePair, dir, AGENT_CAPABILITIES.filter((c) => c !== missing), true);
    expect(r.state.effective & mask([missing]), 'CapEff').toBe(0n);
    expect([...r.stderr.matchAll(MONITOR_DOWN)].map((m) => m[1]), r.stderr).toEqual(['loading the BPF program needs CAP_BPF and CAP_PERFMON: Operation not permitted']);
    expect(sample(r.metrics, 'pathwatch_agent_ebpf_monitor_up'), r.metrics).toBe(0);
    expect(sample(r.metrics, 'pathwatch_agent_packets_total'), r.metrics).toBeGreaterThanOrEqual(RPF_PACKETS);
    expect(sample(r.metrics, 'pathwatch_agent_kernel_drops_total', { reason: 'IP_RPFILTER', iface: IF_B }), r.metrics).toBeUndefined();
    expect(r.exit, r.stderr).toBe(0);
  }, 60_000);

  it('with no tracefs mounted: cannot mount one without SYS_ADMIN, and says so once in one line', async () => {
    const r = await runAgent(pair as NamespacePair, dir, AGENT_CAPABILITIES, false);
    const reasons = [...r.stderr.matchAll(MONITOR_DOWN)].map((m) => m[1]);
    expect(reasons, r.stderr).toHaveLength(1);
    expect(reasons[0]).toMatch(new RegExp(`^cannot mount tracefs on ${TRACEFS}: `));
    expect(sample(r.metrics, 'pathwatch_agent_ebpf_monitor_up'), r.metrics).toBe(0);
    expect(sample(r.metrics, 'pathwatch_agent_packets_total'), r.metrics).toBeGreaterThanOrEqual(RPF_PACKETS);
    expect(r.exit, r.stderr).toBe(0);
  }, 60_000);
});
