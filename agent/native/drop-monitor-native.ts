/**
 * The kernel's word on each dropped packet, in process (issue 15): a BPF program on skb:kfree_skb
 * (native/bpf/drop_monitor.bpf.c) loaded through libbpf by the addon (native/kernel/drop_monitor.c),
 * read from its ring buffer in batches. Each event carries the drop reason, the freeing function,
 * the device and its network namespace, and the packet's first 128 bytes from its network header:
 * enough for the engine's decoder to give the packet's fingerprint, so a drop can be matched to the
 * exact packet a capture saw (`fingerprint` below).
 */
import { join } from 'node:path';
import { nativeAddon, packageRoot } from './native-addon.js';
import type { NativeDecoder } from './engine-native.js';

/** A running drop monitor. Opaque. */
export interface NativeDropMonitorHandle {
  readonly __nativeDropMonitor: unique symbol;
}

export interface NativeDropMonitorExports {
  /** Loads and attaches the program; throws an Error with code PW_DROP_MONITOR and one line when it cannot. */
  startDropMonitor(objectPath: string, onlyNetns: number, minReason: number): NativeDropMonitorHandle;
  /** Copies waiting events into `out` (DROP_EVENT_BYTES each, struct pw_drop_event); returns how many. */
  dropMonitorPoll(handle: NativeDropMonitorHandle, out: Uint8Array): number;
  dropMonitorStop(handle: NativeDropMonitorHandle): void;
  readonly DROP_EVENT_BYTES: number;
}

/** struct pw_drop_event (native/bpf/drop_event.h), byte offsets. */
const E_LOCATION = 0;
const E_REASON = 8;
const E_IFINDEX = 12;
const E_NETNS = 16;
const E_IIF = 20;
const E_LEN = 24;
const E_PROTOCOL = 28;
const E_COPIED = 30;
const E_BYTES = 32;
const LINKTYPE_RAW = 101;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
/** Events read per poll at most (the ring holds more; the rest wait for the next poll). */
const BATCH = 4096;

export interface KernelDropEvent {
  /** The kernel's number for the reason, and its name from the tracepoint's format (`REASON_<n>` when unnamed). */
  readonly reasonCode: number;
  readonly reason: string;
  /** The freeing function's address (hex), for kallsyms. */
  readonly location: string;
  readonly ifindex: number;
  readonly netns: number;
  /** The interface the packet came in by (0 for one this host sent). */
  readonly iif: number;
  /** skb->len, and the packet's protocol (EtherType). */
  readonly length: number;
  readonly protocol: number;
  /** The packet's first bytes from its network header (empty when they could not be read). */
  readonly bytes: Uint8Array;
}

export class DropMonitorStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DropMonitorStartError';
  }
}

export interface DropMonitorOptions {
  /** Only drops on devices of this network namespace (its inode; 0: every namespace). */
  readonly onlyNetns?: number;
  /** Reasons below this number are not reported (1: NOT_DROPPED_YET... see the format). */
  readonly minReason?: number;
  /** Reason numbers to names (drop-reasons.ts reads them from the tracepoint's format). */
  readonly reasonNames?: ReadonlyMap<number, string>;
  /** The BPF object; by default the one beside its source in the package. */
  readonly objectPath?: string;
}

export class NativeDropMonitor {
  private readonly out: Uint8Array;
  private handle: NativeDropMonitorHandle | undefined;

  private constructor(
    private readonly addon: NativeDropMonitorExports,
    handle: NativeDropMonitorHandle,
    private readonly reasonNames: ReadonlyMap<number, string>,
  ) {
    this.handle = handle;
    this.out = new Uint8Array(addon.DROP_EVENT_BYTES * BATCH);
  }

  static start(options: DropMonitorOptions = {}): NativeDropMonitor {
    const addon = nativeAddon();
    const path = options.objectPath ?? join(packageRoot(), 'native', 'bpf', 'drop_monitor.bpf.o');
    try {
      return new NativeDropMonitor(addon, addon.startDropMonitor(path, options.onlyNetns ?? 0, options.minReason ?? 0), options.reasonNames ?? new Map());
    } catch (e) {
      if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'PW_DROP_MONITOR') throw new DropMonitorStartError(e.message);
      throw e;
    }
  }

  /** The drops since the last poll (at most 4,096; call again while it returns that many). */
  poll(): KernelDropEvent[] {
    if (!this.handle) return [];
    const n = this.addon.dropMonitorPoll(this.handle, this.out);
    const size = this.addon.DROP_EVENT_BYTES;
    const view = new DataView(this.out.buffer, this.out.byteOffset, this.out.byteLength);
    const events: KernelDropEvent[] = [];
    for (let i = 0; i < n; i++) {
      const b = i * size;
      const reasonCode = view.getUint32(b + E_REASON, true);
      const copied = view.getUint16(b + E_COPIED, true);
      // skb->protocol is kept in network byte order.
      const protocol = view.getUint16(b + E_PROTOCOL, false);
      events.push({
        reasonCode,
        reason: this.reasonNames.get(reasonCode) ?? `REASON_${reasonCode}`,
        location: view.getBigUint64(b + E_LOCATION, true).toString(16),
        ifindex: view.getUint32(b + E_IFINDEX, true),
        netns: view.getUint32(b + E_NETNS, true),
        iif: view.getUint32(b + E_IIF, true),
        length: view.getUint32(b + E_LEN, true),
        protocol,
        bytes: this.out.slice(b + E_BYTES, b + E_BYTES + copied),
      });
    }
    return events;
  }

  stop(): void {
    if (!this.handle) return;
    this.addon.dropMonitorStop(this.handle);
    this.handle = undefined;
  }
}

let decoder: NativeDecoder | undefined;

/**
 * The fingerprint of the dropped packet (the engine's, as for every capture record), from the
 * bytes the program copied; undefined when they hold no IP packet the engine can fingerprint.
 */
export function dropFingerprint(e: KernelDropEvent): number | undefined {
  if ((e.protocol !== ETH_P_IP && e.protocol !== ETH_P_IPV6) || e.bytes.length === 0) return undefined;
  const engine = nativeAddon();
  decoder ??= engine.createDecoder();
  const r = engine.decodeForTest(decoder, e.bytes, 0, e.bytes.length, LINKTYPE_RAW);
  return r.view.ipVersion === 0 || r.weak ? undefined : r.fingerprint;
}
