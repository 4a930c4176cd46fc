/**
 * The kernel's drop events, live (issue 15), in process: the BPF program on skb:kfree_skb
 * (native/bpf/drop_monitor.bpf.c, loaded by the addon through libbpf) reports every packet this
 * network namespace's kernel drops, with its reason, the freeing function, the device and the
 * packet's first bytes. The live node reads the events in batches and hands them to the engine as
 * they are (no object per event), which keeps each by the dropped packet's fingerprint for the
 * vanish candidates to match (native/engine/kernel_drops.h).
 *
 * Without the privileges (CAP_BPF and CAP_PERFMON), BTF or tracefs, the monitor does not start and
 * says why in one line; the verdicts then rest on configuration and counters ("likely").
 */
import { readlinkSync } from 'node:fs';
import { DropMonitorStartError, NativeDropMonitor } from '../native/drop-monitor-native.js';
import { readDropReasons } from './drop-reasons.js';
import { ensureTracefs } from './tracefs.js';

/**
 * Reasons only a node's own sockets meet (a closed port, a TCP socket's checks, a full receive
 * buffer): no forwarded packet, so no vanished one, is ever dropped with them. They are counted per
 * reason and device in the kernel instead of sent one by one: a flood to a closed port then costs
 * the agent nothing per packet.
 */
export function isSocketDropReason(name: string): boolean {
  return /^(TCP|SOCKET|UDP)_/.test(name) || SOCKET_REASONS.has(name);
}

const SOCKET_REASONS = new Set(['NO_SOCKET', 'IP_NOPROTO', 'PROTO_MEM', 'ICMP_CSUM', 'OTHERHOST', 'UNICAST_IN_L2_MULTICAST', 'SKB_UCOPY_FAULT', 'SKB_CSUM']);

/** This process's network namespace inode (drops elsewhere are not ours to report). */
export function currentNetnsInode(): number {
  const link = readlinkSync('/proc/self/ns/net'); // "net:[4026531840]"
  return Number(/\[(\d+)\]/.exec(link)?.[1] ?? '0');
}

export class DropMonitorUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DropMonitorUnavailable';
  }
}

/** A running monitor: read it often enough that its 4 MiB ring (about 26,000 events) never fills. */
export interface DropMonitor {
  /** The kernel's numbers for drop reasons, to their names (from the tracepoint's format). */
  readonly reasonNames: ReadonlyMap<number, string>;
  /** The size of one event in drain's batches (struct pw_drop_event). */
  readonly eventBytes: number;
  /**
   * Reads every waiting event, a batch at a time: `onBatch` sees each batch in the native monitor's
   * buffer (valid during the call). Returns how many were read.
   */
  drain(onBatch: (events: NativeDropMonitor, count: number) => void): number;
  /** Events the ring had no room for since the start (and counted-only drops the kernel's table had no room for). */
  readonly lost: number;
  /** Drops of counted-only reasons since the start, per reason and device (running totals). */
  counts(): { reasonCode: number; ifindex: number; count: number }[];
  stop(): void;
}

/**
 * Loads and attaches the program for this network namespace (about 40 ms, on this thread). Throws
 * DropMonitorUnavailable with a one-line reason when it cannot.
 */
export function startDropMonitor(): DropMonitor {
  const tracefsError = ensureTracefs();
  if (tracefsError) throw new DropMonitorUnavailable(tracefsError);
  let reasons: Map<string, number>;
  try {
    reasons = readDropReasons();
  } catch (e) {
    throw new DropMonitorUnavailable(`cannot read the kfree_skb drop reasons: ${e instanceof Error ? e.message : String(e)}`);
  }
  const reasonNames = new Map([...reasons].map(([name, n]) => [n, name]));
  // Below NOT_SPECIFIED are "not dropped yet" and "consumed": packets freed after their work was done.
  const minReason = reasons.get('NOT_SPECIFIED') ?? 2;
  let native: NativeDropMonitor;
  try {
    const countedOnly = [...reasons].filter(([name]) => isSocketDropReason(name)).map(([, code]) => code);
    native = NativeDropMonitor.start({ onlyNetns: currentNetnsInode(), minReason, reasonNames, countedOnly });
  } catch (e) {
    if (e instanceof DropMonitorStartError) throw new DropMonitorUnavailable(e.message);
    throw e;
  }
  let stopped = false;
  return {
    reasonNames,
    eventBytes: native.eventBytes,
    drain(onBatch) {
      let total = 0;
      if (stopped) return 0;
      for (;;) {
        const n = native.readBatch();
        if (n > 0) onBatch(native, n);
        total += n;
        if (n < NativeDropMonitor.BATCH) return total;
      }
    },
    get lost() {
      return stopped ? 0 : native.lost;
    },
    counts() {
      return stopped ? [] : native.counts();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      native.stop();
    },
  };
}
