/**
 * The kernel's drop reasons, live: a bpftrace program on the tracepoint skb:kfree_skb reports each
 * dropped IP packet whose reason matters for forwarding (IP_RPFILTER, NETFILTER_DROP, no route,
 * bad source, ...) with its addresses, protocol, ports and ingress interface, only for drops in this
 * network namespace. Reason numbers come from the tracepoint's format (they differ per kernel).
 *
 * Without bpftrace, tracefs or the privileges, the monitor does not start and says why once; the
 * verdicts then rest on configuration and counters ("likely") instead of the kernel's word.
 */
import { deferred } from '../util/deferred.js';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { readDropReasons } from './drop-reasons.js';
import { ensureTracefs } from './tracefs.js';

/** Reasons that explain a forwarded packet vanishing inside a node. */
const KERNEL_BTF = '/sys/kernel/btf/vmlinux';

export const FORWARDING_DROP_REASONS = [
  'IP_RPFILTER',
  'NETFILTER_DROP',
  'IP_INNOROUTES',
  'IP_OUTNOROUTES',
  'IP_INADDRERRORS',
  'IP_INVALID_SOURCE',
  'IP_LOCAL_SOURCE',
  'IP_INVALID_DEST',
  'IP_LOCALNET',
  'PKT_TOO_BIG',
  'NEIGH_FAILED',
  'XFRM_POLICY',
  'TC_INGRESS',
  'TC_EGRESS',
  'SECURITY_HOOK',
] as const;

export interface KernelDrop {
  readonly reason: string;
  readonly ifindex: number;
  readonly src: string;
  readonly dst: string;
  readonly proto: number;
  readonly sport: number;
  readonly dport: number;
  /** Wall-clock milliseconds when the monitor read it (within milliseconds of the drop). */
  readonly ts: number;
}

export interface DropMonitor {
  /** Resolves when attached; rejects with a one-line reason when it cannot run. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/** This process's network namespace inode (drops elsewhere are not ours to report). */
export function currentNetnsInode(): number {
  const link = readlinkSync('/proc/self/ns/net'); // "net:[4026531840]"
  return Number(/\[(\d+)\]/.exec(link)?.[1] ?? '0');
}

/**
 * bpftrace prints a line this often even when nothing drops: if the agent died without stopping it
 * (SIGKILL, a crash), the write fails on the closed pipe and SIGPIPE ends bpftrace within this time,
 * instead of it tracing on as an orphan until the next drop.
 */
const HEARTBEAT_SECONDS = 5;

export function bpftraceProgram(reasons: ReadonlyMap<string, number>, netns: number): string {
  const wanted = FORWARDING_DROP_REASONS.map((r) => reasons.get(r)).filter((n): n is number => n !== undefined);
  const filter = wanted.map((n) => `args->reason == ${n}`).join(' || ');
  // The IP header is read byte-wise (version/IHL are bitfields); ports only for TCP/UDP/SCTP.
  return `
BEGIN { printf("ready\\n"); }
interval:s:${HEARTBEAT_SECONDS} { printf("alive\\n"); }
tracepoint:skb:kfree_skb /${filter}/
{
  $skb = (struct sk_buff *)args->skbaddr;
  $dev = $skb->dev;
  if ($dev != 0 && $dev->nd_net.net->ns.inum == ${netns}) {
    $ip = (uint8 *)($skb->head + $skb->network_header);
    $v = *$ip >> 4;
    if ($v == 4) {
      $ihl = (*$ip & 15) * 4;
      $p = *($ip + 9);
      $sp = 0; $dp = 0;
      if ($p == 6 || $p == 17 || $p == 132) {
        $sp = (*($ip + $ihl) << 8) | *($ip + $ihl + 1);
        $dp = (*($ip + $ihl + 2) << 8) | *($ip + $ihl + 3);
      }
      printf("D %d %d %s %s %d %d %d\\n", args->reason, $skb->skb_iif, ntop(2, *(uint32 *)($ip + 12)), ntop(2, *(uint32 *)($ip + 16)), $p, $sp, $dp);
    }
  }
}
`;
}

export function startDropMonitor(onDrop: (d: KernelDrop) => void, bpftrace = 'bpftrace'): DropMonitor {
  const tracefsError = ensureTracefs();
  if (tracefsError) return failed(tracefsError);
  let reasons: Map<string, number>;
  try {
    reasons = readDropReasons();
  } catch (e) {
    return failed(`cannot read the kfree_skb drop reasons: ${e instanceof Error ? e.message : String(e)}`);
  }
  const names = new Map([...reasons].map(([name, n]) => [n, name]));
  const program = bpftraceProgram(reasons, currentNetnsInode());
  let child: ChildProcessByStdio<null, Readable, Readable>;
  try {
    // Told where the kernel's BTF is, bpftrace needs only CAP_BPF and CAP_PERFMON; searching for it
    // itself (Debian's 0.17) takes CAP_SYS_ADMIN.
    const env = !process.env['BPFTRACE_BTF'] && existsSync(KERNEL_BTF) ? { ...process.env, BPFTRACE_BTF: KERNEL_BTF } : process.env;
    child = spawn(bpftrace, ['-e', program], { stdio: ['ignore', 'pipe', 'pipe'], env });
  } catch (e) {
    return failed(`cannot start bpftrace: ${e instanceof Error ? e.message : String(e)}`);
  }
  let stderr = '';
  let exited = false;
  const readiness = deferred();
  const ready = readiness.promise;
  // Awaited only once the caller gets to it: a failure before then is not an unhandled rejection.
  ready.catch(() => {});
  const exitSeen = deferred();
  child.on('error', (e) => {
    readiness.reject(new Error(`cannot start bpftrace: ${e.message} (apt-get install bpftrace)`));
    // A child that never started (missing, not executable) emits no 'exit': stop() must not wait for one.
    if (child.pid === undefined) {
      exited = true;
      exitSeen.resolve();
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (stderr += d));
  let pending = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    pending += d;
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
      if (line === 'ready') {
        readiness.resolve();
        continue;
      }
      const f = line.split(' ');
      if (f[0] !== 'D' || f.length < 8) continue;
      const [reason, ifindex, proto, sport, dport] = [f[1], f[2], f[5], f[6], f[7]].map(Number) as [number, number, number, number, number];
      // A line bpftrace garbled (or cut) is skipped: the collector refuses a batch with a broken record.
      if (![reason, ifindex, proto, sport, dport].every(Number.isInteger)) continue;
      onDrop({
        reason: names.get(reason) ?? `REASON_${reason}`,
        ifindex,
        src: f[3] as string,
        dst: f[4] as string,
        proto,
        sport,
        dport,
        ts: Date.now(),
      });
    }
  });
  child.on('exit', () => {
    exited = true;
    const why = stderr.split('\n').find((l) => /ERROR|error|permission|not permitted/i.test(l) && !/RLIMIT_MEMLOCK/.test(l));
    readiness.reject(new Error(`bpftrace stopped: ${(why ?? stderr.trim().split('\n').pop() ?? 'no output').trim()}`));
    exitSeen.resolve();
  });
  const exit = exitSeen.promise;
  return {
    ready,
    async stop() {
      if (exited) return;
      // bpftrace misses a SIGINT that comes just as it starts its probes (seen right after "ready":
      // it ran on until killed), so the signal is repeated until it ends, and SIGKILL ends the wait.
      const interrupt = (): void => {
        if (!exited) child.kill('SIGINT');
      };
      interrupt();
      const again = setInterval(interrupt, 250);
      const force = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearInterval(again);
      clearTimeout(force);
    },
  };
}

function failed(reason: string): DropMonitor {
  const ready = Promise.reject(new Error(reason));
  ready.catch(() => {});
  return { ready, stop: async () => {} };
}
