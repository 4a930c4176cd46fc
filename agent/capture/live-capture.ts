/**
 * Live capture through a tcpdump child writing pcap to a pipe: the kernel's TPACKET ring is read in
 * batches by libpcap in native code, and the pipe is parsed in large chunks by the same streaming
 * reader as replay (measured in the live-agent issue: per-packet callbacks into JS through the `cap`
 * binding lose packets far earlier). One `any` handle with Linux SLL2 headers gives every
 * interface's index and each packet's direction in one stream, and follows interfaces (pod veths)
 * that appear after the start.
 */
import { deferred } from '../util/deferred.js';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import type { Readable } from 'node:stream';

export interface LiveCaptureOptions {
  /** Interface to capture on; `any` (default) covers all, with SLL2 headers. */
  readonly iface?: string;
  /** Bytes kept per packet: enough for tunnel headers, the inner headers and the fingerprint's payload. */
  readonly snaplen?: number;
  /** Kernel buffer in KiB. */
  readonly bufferKiB?: number;
  /** BPF filter expression. */
  readonly filter?: string;
  readonly tcpdump?: string;
  /**
   * Where the pcap stream is parsed (LiveNode): 'main' (default) on the pipeline's thread; 'worker'
   * in a worker thread that hands records over through a shared packet ring
   * (capture-worker-host.ts). On 2 cores the worker costs more CPU per packet than it saves and
   * captures no faster (bench/README.md, live benchmark).
   */
  readonly thread?: 'main' | 'worker';
  /**
   * How tcpdump's output is read (LiveNode): 'paced' (default) from a FIFO in paced reads
   * (capture-worker-fifo.ts), 'stream' through a pipe and Node's stream, woken for every packet
   * tcpdump writes (a third more CPU per packet, measured). The worker always paces.
   */
  readonly reads?: 'stream' | 'paced';
  /** Slots of the worker's packet ring (a power of two; default 32k at the default snap length); 'worker' only. */
  readonly ringSlots?: number;
  /**
   * tcpdump's stdout goes to this file descriptor (the write end of a FIFO the capture worker reads
   * itself, in large paced reads) instead of a pipe to this process; `chunks` then yields nothing.
   */
  readonly stdoutFd?: number;
}

export class LiveCaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LiveCaptureError';
  }
}

export interface LiveCapture {
  readonly chunks: AsyncGenerator<Uint8Array>;
  /**
   * The capture's counters so far (tcpdump prints them on SIGUSR1): packets the kernel dropped
   * before we saw them make any gap in that time our own, never a drop event.
   */
  counters(): Promise<{ received: number | undefined; droppedByKernel: number | undefined }>;
  /** Resolves once tcpdump says it is listening (or rejects with why it could not). */
  readonly ready: Promise<void>;
  /** Kernel drop counters from tcpdump's exit summary, once stopped. */
  stop(): Promise<{ received: number | undefined; droppedByKernel: number | undefined }>;
}

export function startLiveCapture(options: LiveCaptureOptions = {}): LiveCapture {
  const iface = options.iface ?? 'any';
  const args = ['-i', iface, '-s', String(options.snaplen ?? 256), '-B', String(options.bufferKiB ?? 16384), '-U', '-n', '-w', '-'];
  if (iface === 'any') args.push('-y', 'LINUX_SLL2');
  if (options.filter) args.push(options.filter);
  let child: ChildProcessByStdio<null, Readable | null, Readable>;
  try {
    child = spawn(options.tcpdump ?? 'tcpdump', args, { stdio: ['ignore', options.stdoutFd ?? 'pipe', 'pipe'] }) as ChildProcessByStdio<null, Readable | null, Readable>;
  } catch (e) {
    // Arguments spawn refuses outright (a NUL in the filter): nothing was started.
    throw new LiveCaptureError(`cannot start tcpdump: ${e instanceof Error ? e.message : String(e)}`);
  }
  let stderr = '';
  let exited = false;
  let listening = false;
  const readiness = deferred();
  const ready = readiness.promise;
  // The caller may be busy starting something else (bpftrace) when tcpdump fails: a rejection it
  // awaits later must not count as unhandled (which ends the process with a stack trace).
  ready.catch(() => {});
  const exitSeen = deferred();
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr += d;
    if (!listening && /listening on/.test(stderr)) {
      listening = true;
      readiness.resolve();
    }
  });
  child.on('error', (e) => {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? ' (install it: apt-get install tcpdump)' : code === 'EACCES' ? ' (it is not executable)' : '';
    readiness.reject(new LiveCaptureError(`cannot start tcpdump: ${e.message}${hint}`));
    // A child that never started (missing, not executable) emits no 'exit': stop() must not wait for one.
    if (child.pid === undefined) {
      exited = true;
      exitSeen.resolve();
    }
  });
  // 'exit' can come before the last of stderr has been read, and tcpdump's final counters are its
  // last lines: wait for stderr's end too (briefly: a grandchild holding it open must not stall).
  const stderrEnded = new Promise<void>((resolve) => child.stderr.once('close', resolve));
  child.on('exit', () => {
    void Promise.race([stderrEnded, new Promise((r) => setTimeout(r, 500))]).then(() => {
      exited = true;
      const line = stderr.split('\n').find((l) => /permission|not permitted|no suitable device|doesn't exist|No such device|syntax error/i.test(l));
      readiness.reject(new LiveCaptureError(line ? explain(line.trim()) : `tcpdump exited before capturing: ${stderr.trim().split('\n').pop() ?? ''}`));
      exitSeen.resolve();
    });
  });
  const exit = exitSeen.promise;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    if (child.stdout) for await (const c of child.stdout) yield c as Uint8Array;
  }
  const parseCounters = (text: string) => {
    const received = [...text.matchAll(/(\d+) packets? received by filter/g)].pop();
    const dropped = [...text.matchAll(/(\d+) packets? dropped by kernel/g)].pop();
    return { received: received ? Number(received[1]) : undefined, droppedByKernel: dropped ? Number(dropped[1]) : undefined };
  };
  return {
    chunks: chunks(),
    ready,
    async counters() {
      if (exited) return parseCounters(stderr);
      // tcpdump handles SIGUSR1 only once it listens: before that, the signal's default action kills
      // it without a word (seen in the live benchmark, where the first counters came early).
      if (!listening) return { received: undefined, droppedByKernel: undefined };
      const before = stderr.length;
      child.kill('SIGUSR1');
      for (let i = 0; i < 20 && !/dropped by kernel/.test(stderr.slice(before)); i++) await new Promise((r) => setTimeout(r, 25));
      return parseCounters(stderr.slice(before));
    },
    async stop() {
      if (!exited) child.kill('SIGTERM');
      // A capture that does not stop within seconds is killed: shutdown must not hang.
      const force = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(force);
      return parseCounters(stderr);
    },
  };
}

function explain(line: string): string {
  if (/permission|not permitted/i.test(line)) {
    return `capturing needs root or CAP_NET_RAW and CAP_NET_ADMIN: run with sudo, or grant tcpdump the capabilities (setcap cap_net_raw,cap_net_admin=eip "$(command -v tcpdump)") (tcpdump: ${line})`;
  }
  return /^tcpdump:/.test(line) ? line : `tcpdump: ${line}`;
}

/** Kernel interface index -> name, from /sys/class/net (the current network namespace's). */
export function readInterfaceIndexes(sysClassNet = '/sys/class/net'): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of readdirSync(sysClassNet)) {
    try {
      out.set(Number(readFileSync(`${sysClassNet}/${name}/ifindex`, 'utf8').trim()), name);
    } catch {
      // The interface went away between the listing and the read.
    }
  }
  return out;
}
