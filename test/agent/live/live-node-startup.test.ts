/**
 * A live node whose capture cannot start stops everything it had started: LiveNode.run() starts the
 * drop monitor (bpftrace) first, then the capture (libpcap in the native addon); when the capture
 * fails (no such interface, a bad filter), run() rejects with the one-line LiveCaptureError at once,
 * only once bpftrace has ended, and `pathwatch watch` / `pathwatch agent` exit 2 with one line on
 * stderr. Children are told apart by pid: `bpftrace` on PATH is a wrapper that writes its pid, then
 * execs the real tool (other tests may run bpftrace at the same time); `tcpdump` on PATH is a
 * wrapper too, which proves that nothing starts it any more.
 *
 * Needs root (bpftrace attaches to the kernel, the capture opens a packet socket) and bpftrace:
 * skipped with the reason elsewhere, failed in CI. That a missing bpftrace is stopped without a hang
 * runs anywhere.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LiveCaptureError, type LiveCaptureOptions } from '../../../agent/capture/live-capture.js';
import { startDropMonitor } from '../../../agent/kernel/drop-monitor.js';
import { LiveNode } from '../../../agent/live/live-node.js';
import { ROOT, ensureBuilt } from '../../support/built-cli.js';

const IN_CI = process.env['CI'] === 'true';

function which(tool: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const realBpftrace = which('bpftrace');

function unavailableReason(): string | null {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (bpftrace attaches to the kernel, the capture opens a packet socket)';
  if (!realBpftrace) return 'bpftrace is not installed';
  return null;
}

const unavailable = unavailableReason();
if (unavailable !== null && !IN_CI) process.stderr.write(`test/agent/live: skipping the live-node start-up failure tests: ${unavailable}\n`);

let dir = '';
/** Every pid a wrapper wrote, killed after each test whatever it asserted. */
const seen = new Set<number>();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pw-live-startup-'));
});

afterEach(() => {
  for (const pid of seen) if (alive(pid)) process.kill(pid, 'SIGKILL');
  seen.clear();
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * A directory to put first on PATH: `bpftrace` there writes its pid to `bpftrace.pids` and execs the
 * real tool; `tcpdump` there writes its pid to `tcpdump.pids` and fails (nothing may start it).
 */
function wrapperDir(name: string): string {
  const d = join(dir, name);
  execFileSync('mkdir', ['-p', d]);
  const write = (tool: string, then: string): void => {
    const path = join(d, tool);
    writeFileSync(path, `#!/bin/sh\necho $$ >> '${d}/${tool}.pids'\n${then}\n`);
    chmodSync(path, 0o755);
  };
  write('bpftrace', `exec '${realBpftrace as string}' "$@"`);
  write('tcpdump', 'exit 1');
  return d;
}

function pids(wrappers: string, tool: 'bpftrace' | 'tcpdump'): number[] {
  const file = join(wrappers, `${tool}.pids`);
  if (!existsSync(file)) return [];
  const list = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map(Number);
  for (const p of list) seen.add(p);
  return list;
}

/** The process is running (not a zombie) and is still the wrapper or the tool it became. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
    return /bpftrace|tcpdump/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}

async function withPath<T>(first: string, f: () => Promise<T>): Promise<T> {
  const before = process.env['PATH'];
  process.env['PATH'] = `${first}:${before ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
  try {
    return await f();
  } finally {
    process.env['PATH'] = before;
  }
}

/** run() of a live node with these capture options, with the wrappers first on PATH; its rejection. */
async function failedRun(wrappers: string, capture: LiveCaptureOptions): Promise<{ error: unknown; live: LiveNode; ms: number; notices: string[] }> {
  const notices: string[] = [];
  const live = new LiveNode({ node: 'startup-test', capture, onNotice: (m) => notices.push(m) });
  const t0 = Date.now();
  const error = await withPath(wrappers, () => live.run(new AbortController().signal).then(() => undefined, (e: unknown) => e));
  return { error, live, ms: Date.now() - t0, notices };
}

/**
 * bpftrace, by the pid its wrapper wrote, has ended, and tcpdump was never started. The capture fails
 * at once, so bpftrace may be stopped before its wrapper got to write its pid (then it never became
 * bpftrace): at most one.
 */
function expectAllEnded(wrappers: string): void {
  const bpf = pids(wrappers, 'bpftrace');
  expect(bpf.length).toBeLessThanOrEqual(1);
  expect(bpf.filter(alive), 'bpftrace processes still running after run() failed').toEqual([]);
  expect(pids(wrappers, 'tcpdump'), 'tcpdump was started').toEqual([]);
}

describe('live node start-up failures: prerequisites', () => {
  it.runIf(IN_CI)('are present in CI', () => {
    expect(unavailable, `the live-node start-up tests cannot run in CI: ${unavailable ?? ''}`).toBeNull();
  });
});

describe.skipIf(unavailable !== null)('live node: the capture cannot start, so nothing started is left running', () => {
  it('no such interface: rejects at once with one line, bpftrace stopped while starting', async () => {
    const w = wrapperDir('nodev');
    const { error, notices, ms } = await failedRun(w, { iface: 'pwnosuch0' });
    expectAllEnded(w);
    expect(error).toBeInstanceOf(LiveCaptureError);
    expect((error as Error).message).toMatch(/^cannot capture on pwnosuch0: no such interface/);
    expect((error as Error).message).not.toMatch(/\n/);
    // Said at once, not after bpftrace compiled and attached (seconds); stopping it is bounded.
    expect(ms, 'run() took longer than stopping bpftrace may').toBeLessThan(5000);
    // The monitor was stopped by us: that is no news for the user.
    expect(notices.filter((n) => /kernel drop reasons unavailable/.test(n))).toEqual([]);
  }, 30_000);

  it('a bad filter: rejects with libpcap\'s word on it, bpftrace stopped', async () => {
    const w = wrapperDir('filter');
    const { error } = await failedRun(w, { filter: 'port (((' });
    expect(error).toBeInstanceOf(LiveCaptureError);
    expect((error as Error).message).toMatch(/^bad capture filter "port \(\(\(": .*syntax error/);
    expectAllEnded(w);
  }, 30_000);
});

describe.skipIf(unavailable !== null)('pathwatch watch / agent: the capture cannot start', () => {
  function runCli(wrappers: string, args: string[]): Promise<{ code: number; stderr: string }> {
    return new Promise((resolve) => {
      const env = { ...process.env, PATH: `${wrappers}:${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
      execFile(process.execPath, [join(ROOT, 'bin/pathwatch.js'), ...args], { cwd: ROOT, env, timeout: 60_000, encoding: 'utf8' }, (err, _stdout, stderr) => {
        const code = err && typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : err ? 1 : 0;
        resolve({ code, stderr });
      });
    });
  }

  it('pathwatch watch --iface (no such interface) exits 2 with one line, and leaves no bpftrace behind', async () => {
    ensureBuilt();
    const w = wrapperDir('cli-watch');
    const r = await runCli(w, ['watch', '--iface', 'pwnosuch0']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/^pathwatch: watch: .*pwnosuch0/);
    expectAllEnded(w);
  }, 200_000);

  it('pathwatch agent --filter (a bad filter) exits 2 with one line, and leaves no bpftrace behind', async () => {
    ensureBuilt();
    const w = wrapperDir('cli-agent');
    const spool = join(dir, 'cli-agent-spool');
    const r = await runCli(w, ['agent', '--collector', 'http://127.0.0.1:9', '--spool-dir', spool, '--filter', 'port (((']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/^pathwatch: agent: .*(filter|syntax)/);
    expectAllEnded(w);
  }, 200_000);
});

describe.skipIf(unavailable !== null)('live node: a tick that throws', () => {
  it('fails run() with its error, and stops the capture and bpftrace', async () => {
    const w = wrapperDir('tick-throws');
    const live = new LiveNode({
      node: 'tick-test',
      capture: { iface: 'lo' },
      onTick: () => {
        throw new Error('onTick failed on purpose');
      },
    });
    const error = await withPath(w, () => live.run(new AbortController().signal).then(() => undefined, (e: unknown) => e));
    expect((error as Error).message).toBe('onTick failed on purpose');
    expectAllEnded(w);
  }, 60_000);
});

describe.skipIf(unavailable !== null)('an agent killed outright leaves no bpftrace tracing on', () => {
  // SIGKILL (or a crash) gives the agent no chance to stop its children. bpftrace prints a heartbeat
  // every 5 s, so the write to the closed pipe ends it (SIGPIPE) within that time, drops or not.
  it('pathwatch watch SIGKILLed: its bpftrace is gone within 5 s (and a bit)', async () => {
    ensureBuilt();
    const w = wrapperDir('cli-killed');
    const env = { ...process.env, PATH: `${w}:${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
    const child = spawn(process.execPath, [join(ROOT, 'bin/pathwatch.js'), 'watch', '--iface', 'lo'], { cwd: ROOT, env, stdio: 'ignore' });
    try {
      // Until bpftrace runs and has had time to attach (a few seconds here).
      const deadline = Date.now() + 30_000;
      while (pids(w, 'bpftrace').length === 0 && Date.now() < deadline) await sleep(200);
      expect(pids(w, 'bpftrace'), 'bpftrace was started').toHaveLength(1);
      await sleep(8_000);
      const [bpf] = pids(w, 'bpftrace') as [number];
      expect(alive(bpf), 'bpftrace running before the kill').toBe(true);
      child.kill('SIGKILL');
      const killedAt = Date.now();
      while (alive(bpf) && Date.now() - killedAt < 12_000) await sleep(250);
      expect(alive(bpf), `bpftrace ${bpf} still running ${Date.now() - killedAt} ms after its agent was killed`).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);
});

describe('a child that never started is stopped without waiting for it', () => {
  it('bpftrace missing: ready rejects with the reason, stop() returns', async () => {
    const monitor = startDropMonitor(() => {}, join(tmpdir(), 'pw-no-such-bpftrace'));
    await expect(monitor.ready).rejects.toBeInstanceOf(Error); // without root, tracefs may be the reason
    const stopped = await Promise.race([monitor.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('hung'), 5000))]);
    expect(stopped).toBe('stopped');
  });
});
