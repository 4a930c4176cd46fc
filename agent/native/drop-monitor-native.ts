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
  /**
   * Loads and attaches the program; throws an Error with code PW_DROP_MONITOR and one line when it
   * cannot. countedOnly: a bit per reason (below 256) whose drops are counted in the kernel, not sent.
   */
  startDropMonitor(objectPath: string, onlyNetns: number, minReason: number, countedOnly: Uint8Array): NativeDropMonitorHandle;
  /** Copies waiting events into `out` (DROP_EVENT_BYTES each, struct pw_drop_event); returns how many. */
  dropMonitorPoll(handle: NativeDropMonitorHandle, out: Uint8Array): number;
  dropMonitorStop(handle: NativeDropMonitorHandle): void;
  /** Events the ring buffer had no room for since the start. */
  dropMonitorLost(handle: NativeDropMonitorHandle): number;
  /** The counted-only drops so far: (reason, ifindex, count) triples. */
  dropMonitorCounts(handle: NativeDropMonitorHandle): Float64Array;
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
  /**
   * Reasons (numbers below 256) only counted per reason and device in the kernel (counts()), never
   * sent one by one: those only a node's own sockets meet, which no vanished packet can have.
   */
  readonly countedOnly?: readonly number[];
}

/** Drops of one reason on one device, counted in the kernel. */
export interface KernelDropCount {
  readonly reasonCode: number;
  readonly ifindex: number;
  readonly count: number;
}

export class NativeDropMonitor {
  /** The events of the last readBatch(), DROP_EVENT_BYTES each (struct pw_drop_event). */
  readonly batch: Uint8Array;
  readonly eventBytes: number;
  /** Events read per batch at most. */
  static readonly BATCH = BATCH;
  private readonly view: DataView;
  private handle: NativeDropMonitorHandle | undefined;

  private constructor(
    private readonly addon: NativeDropMonitorExports,
    handle: NativeDropMonitorHandle,
    private readonly reasonNames: ReadonlyMap<number, string>,
  ) {
    this.handle = handle;
    this.eventBytes = addon.DROP_EVENT_BYTES;
    this.batch = new Uint8Array(addon.DROP_EVENT_BYTES * BATCH);
    this.view = new DataView(this.batch.buffer, this.batch.byteOffset, this.batch.byteLength);
  }

  static start(options: DropMonitorOptions = {}): NativeDropMonitor {
    const addon = nativeAddon();
    const path = options.objectPath ?? join(packageRoot(), 'native', 'bpf', 'drop_monitor.bpf.o');
    try {
      const bits = new Uint8Array(32);
      for (const r of options.countedOnly ?? []) if (Number.isInteger(r) && r >= 0 && r < 256) bits[r >> 3] = (bits[r >> 3] as number) | (1 << (r & 7));
      return new NativeDropMonitor(addon, addon.startDropMonitor(path, options.onlyNetns ?? 0, options.minReason ?? 0, bits), options.reasonNames ?? new Map());
    } catch (e) {
      if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'PW_DROP_MONITOR') throw new DropMonitorStartError(e.message);
      throw e;
    }
  }

  /**
   * Reads up to BATCH waiting events into `batch` without making an object per event (the agent's
   * path: the engine reads them from there); returns how many. Call again while it returns BATCH.
   */
  readBatch(): number {
    return this.handle ? this.addon.dropMonitorPoll(this.handle, this.batch) : 0;
  }

  /** The reason number and device of event i of the last batch. */
  reasonAt(i: number): number {
    return this.view.getUint32(i * this.eventBytes + E_REASON, true);
  }

  ifindexAt(i: number): number {
    return this.view.getUint32(i * this.eventBytes + E_IFINDEX, true);
  }

  /** Events the ring buffer had no room for since the start (user space read too slowly). */
  get lost(): number {
    return this.handle ? this.addon.dropMonitorLost(this.handle) : 0;
  }

  /** The counted-only drops since the start, per reason and device (running totals). */
  counts(): KernelDropCount[] {
    if (!this.handle) return [];
    const t = this.addon.dropMonitorCounts(this.handle);
    const out: KernelDropCount[] = [];
    for (let i = 0; i + 2 < t.length; i += 3) out.push({ reasonCode: t[i] as number, ifindex: t[i + 1] as number, count: t[i + 2] as number });
    return out;
  }

  /** The drops since the last poll as objects (at most 4,096; call again while it returns that many). */
  poll(): KernelDropEvent[] {
    const n = this.readBatch();
    const size = this.eventBytes;
    const view = this.view;
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
        bytes: this.batch.slice(b + E_BYTES, b + E_BYTES + copied),
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
