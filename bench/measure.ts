/**
 * Run one command and measure it: wall time, exit status, peak resident memory, and its output.
 *
 * Peak RSS comes from GNU time (`/usr/bin/time -f %M`, the kernel's ru_maxrss of the child) when it is
 * installed: exact, and free of sampling gaps. Without it, /proc/<pid>/status is polled every 50 ms
 * for VmHWM (the kernel's own high-water mark, so a short peak between two polls is still seen, unless
 * the process exits before the next poll). Wall time is always measured here with hrtime, because
 * time's %e has only 10 ms resolution.
 *
 * Each command runs in its own process group so a timeout can stop it and everything it started.
 */

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunResult {
  readonly ok: boolean;
  /** Exit code, or null when killed by a signal. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly wallSeconds: number;
  /** Peak resident set size in KiB; null when it could not be measured. */
  readonly peakRssKiB: number | null;
  readonly rssSource: 'gnu-time' | 'proc-poll';
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  /** Keep stdout (up to maxOutputBytes); otherwise it is read and discarded. */
  readonly keepStdout?: boolean;
  readonly maxOutputBytes?: number;
  readonly timeoutSeconds?: number;
}

const GNU_TIME = '/usr/bin/time';
let gnuTimeUsable: boolean | undefined;

/** Whether /usr/bin/time is GNU time with -f and -o (BusyBox and shells' `time` are not). */
export function hasGnuTime(): boolean {
  if (gnuTimeUsable === undefined) {
    const r = spawnSync(GNU_TIME, ['-f', '%M', '-o', '/dev/null', 'true'], { stdio: 'ignore' });
    gnuTimeUsable = r.status === 0;
  }
  return gnuTimeUsable;
}

export async function measure(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const useTime = hasGnuTime();
  const tmp = useTime ? mkdtempSync(join(tmpdir(), 'pathwatch-bench-')) : '';
  const timeFile = join(tmp, 'time');
  const argv = useTime ? ['-f', '%e %M', '-o', timeFile, command, ...args] : [...args];
  const maxOutput = options.maxOutputBytes ?? 256 * 1024 * 1024;

  try {
    const started = process.hrtime.bigint();
    const child = spawn(useTime ? GNU_TIME : command, argv, {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    child.stdout.on('data', (c: Buffer) => {
      if (options.keepStdout && outBytes < maxOutput) out.push(c);
      outBytes += c.length;
    });
    child.stderr.on('data', (c: Buffer) => {
      // Keep the head and cap the total: a tool that floods stderr must not exhaust our memory.
      if (errBytes < 1024 * 1024) err.push(c);
      errBytes += c.length;
    });

    let peakPolled = 0;
    const poll =
      useTime || child.pid === undefined
        ? undefined
        : setInterval(() => {
            const kib = readVmHwmKiB(child.pid!);
            if (kib > peakPolled) peakPolled = kib;
          }, 50);

    let timedOut = false;
    const timer =
      options.timeoutSeconds === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            killGroup(child.pid);
          }, options.timeoutSeconds * 1000);

    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolve([c, s]));
    });
    const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (poll) clearInterval(poll);
    if (timer) clearTimeout(timer);

    let peakRssKiB: number | null = peakPolled > 0 ? peakPolled : null;
    let exitCode = code;
    let sig: string | null = signal;
    if (useTime) {
      const parsed = parseTimeFile(timeFile);
      peakRssKiB = parsed.peakRssKiB;
      // GNU time exits with the child's status; a child killed by signal N is reported in the file.
      if (parsed.signal !== null) {
        sig = parsed.signal;
        exitCode = null;
      }
    }
    return {
      ok: exitCode === 0 && !timedOut,
      exitCode,
      signal: sig,
      timedOut,
      wallSeconds,
      peakRssKiB,
      rssSource: useTime ? 'gnu-time' : 'proc-poll',
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    };
  } finally {
    if (useTime) rmSync(tmp, { recursive: true, force: true });
  }
}

function parseTimeFile(path: string): { peakRssKiB: number | null; signal: string | null } {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { peakRssKiB: null, signal: null };
  }
  const lines = text.trim().split('\n');
  const sigMatch = /Command terminated by signal (\d+)/.exec(text);
  // The format line ("%e %M") is last; "Command exited with non-zero status N" may precede it.
  const m = /^([\d.]+) (\d+)$/.exec(lines[lines.length - 1] ?? '');
  return { peakRssKiB: m ? Number(m[2]) : null, signal: sigMatch ? `signal ${sigMatch[1]}` : null };
}

function readVmHwmKiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // exited between polls
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** First line of `cmd --version`-style output, or null when the tool is missing. */
export function toolVersion(command: string, args: readonly string[]): string | null {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  const text = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => /\d+\.\d+/.test(l));
  return text?.trim() ?? null;
}
