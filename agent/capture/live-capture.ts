/**
 * Live capture through libpcap inside the native addon (native/capture/live_capture.c): a capture
 * thread reads the kernel's TPACKET_V3 ring a block at a time (pcap_dispatch with a C callback) and
 * writes the packets in pcap file format into a few large blocks, which come here one event per
 * block, never one per packet. `chunks` yields each block as it lies in memory and hands it back to
 * the capture thread when the next one is asked for, so the stream is parsed by the same reader as
 * replay with no copy. One `any` handle with Linux SLL2 headers gives every interface's index and
 * each packet's direction, and follows interfaces (pod veths) that appear after the start.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { nativeAddon, NativeAddonMissingError, type NativeAddon } from '../native/native-addon.js';
import type { NativeCaptureEvent, NativeCaptureFailure, NativeCaptureHandle } from '../native/live-capture-native.js';
import { deferred } from '../util/deferred.js';

export interface LiveCaptureOptions {
  /** Interface to capture on; `any` (default) covers all, with SLL2 headers. */
  readonly iface?: string;
  /** Bytes kept per packet: enough for tunnel headers, the inner headers and the fingerprint's payload. */
  readonly snaplen?: number;
  /** The kernel's capture ring in KiB: what absorbs a burst, or a stall of this process. */
  readonly bufferKiB?: number;
  /** BPF filter expression. */
  readonly filter?: string;
  /**
   * Capture inside this network namespace (a path such as /run/netns/NAME): the handle is opened on
   * the capture thread after it entered the namespace, and the rest of the process stays where it
   * is. Interface indexes are then the namespace's.
   */
  readonly netns?: string;
}

export class LiveCaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LiveCaptureError';
  }
}

export interface LiveCaptureCounters {
  /** Packets that passed the filter, as the kernel counts them. */
  readonly received: number | undefined;
  /** Of those, packets the kernel dropped before we read them (its ring was full). */
  readonly droppedByKernel: number | undefined;
}

export interface LiveCapture {
  /** The capture as a pcap stream; each chunk is valid until the next one is asked for. */
  readonly chunks: AsyncGenerator<Uint8Array>;
  /**
   * The capture's counters so far: packets the kernel dropped before we saw them make any gap in
   * that time our own, never a drop event.
   */
  counters(): Promise<LiveCaptureCounters>;
  /** Resolves once the handle is active (or rejects with why it could not be opened). */
  readonly ready: Promise<void>;
  /** Ends the capture (safe to call again); the final counters. */
  stop(): Promise<LiveCaptureCounters>;
}

const DEFAULT_SNAPLEN = 256;
/** libpcap's largest snap length. */
const MAX_SNAPLEN = 262144;
const DEFAULT_BUFFER_KIB = 16384;
/** The ring's size goes to libpcap as an int of bytes: 64 KiB to 1 GiB here (native/addon/live_capture_napi.c). */
const MIN_BUFFER_KIB = 64;
const MAX_BUFFER_KIB = 1024 * 1024;
/**
 * libpcap's read timeout: the kernel hands over a partly filled ring block after this long, so a
 * quiet link's packets reach the pipeline within it. Shorter costs wake-ups on a trickle.
 */
const READ_TIMEOUT_MS = 50;
/**
 * The blocks between the capture thread and this one: a block goes when full or whenever the
 * kernel has nothing more ready. Their number bounds what waits here (8 MiB at most); past it, the
 * capture thread waits and the kernel's ring holds the backlog, counting what it must drop.
 */
const BLOCKS = 8;
const BLOCK_BYTES = 1 << 20;
/** The file header and one record header besides a packet at the snap length. */
const BLOCK_OVERHEAD = 24 + 16;

/** One line for the user, from the capture thread's failure. */
function failureMessage(failure: NativeCaptureFailure, message: string, iface: string, filter: string | undefined): string {
  const detail = message.replace(/\s+/g, ' ').trim();
  switch (failure) {
    case 'permission':
      return `capturing needs root or CAP_NET_RAW and CAP_NET_ADMIN: run with sudo, or give the process both capabilities (libpcap: ${detail})`;
    case 'no-device':
      return `cannot capture on ${iface}: no such interface (libpcap: ${detail})`;
    case 'filter':
      return `bad capture filter "${filter ?? ''}": ${detail}`;
    case 'netns':
      return detail;
    case 'other':
      return `cannot capture on ${iface}: ${detail}`;
  }
}

/** Starts the capture thread at once; `ready` says when it captures. Throws LiveCaptureError when the addon is missing. */
export function startLiveCapture(options: LiveCaptureOptions = {}): LiveCapture {
  const iface = options.iface ?? 'any';
  const snaplen = options.snaplen ?? DEFAULT_SNAPLEN;
  const bufferKiB = options.bufferKiB ?? DEFAULT_BUFFER_KIB;
  if (options.filter?.includes('\0') || iface.includes('\0')) throw new LiveCaptureError('the capture filter and interface name cannot hold a NUL character');
  if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > MAX_SNAPLEN) throw new LiveCaptureError(`the snap length takes 1 to ${MAX_SNAPLEN} bytes, not ${snaplen}`);
  if (!(bufferKiB >= MIN_BUFFER_KIB && bufferKiB <= MAX_BUFFER_KIB)) throw new LiveCaptureError(`the capture buffer takes ${MIN_BUFFER_KIB} KiB to ${MAX_BUFFER_KIB / 1024} MiB, not ${bufferKiB} KiB`);
  let addon: NativeAddon;
  try {
    addon = nativeAddon();
  } catch (e) {
    if (e instanceof NativeAddonMissingError) throw new LiveCaptureError(e.message);
    throw e;
  }
  const blockBytes = Math.max(BLOCK_BYTES, snaplen + BLOCK_OVERHEAD);
  const blocks = Array.from({ length: BLOCKS }, () => new ArrayBuffer(blockBytes));

  const readiness = deferred();
  // The caller may be busy starting something else when the capture fails: a rejection
  // it awaits later must not count as unhandled (which ends the process with a stack trace).
  readiness.promise.catch(() => {});
  const ended = deferred<LiveCaptureCounters>();
  let started = false;
  let finished = false;
  /** A failure after the start: the stream ends with it once what came before is read. */
  let broke: LiveCaptureError | undefined;
  const queue: { index: number; length: number }[] = [];
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const onEvent = (event: NativeCaptureEvent): void => {
    switch (event.type) {
      case 'ready':
        started = true;
        readiness.resolve();
        break;
      case 'block':
        queue.push({ index: event.index, length: event.length });
        notify();
        break;
      case 'failed': {
        const error = new LiveCaptureError(failureMessage(event.failure, event.message, iface, options.filter));
        if (started) broke = error;
        else readiness.reject(error);
        break;
      }
      case 'end':
        finished = true;
        // Stopped before it was active: nothing failed, but nothing will capture either.
        if (!started) readiness.reject(new LiveCaptureError('the capture was stopped before it started'));
        ended.resolve(counters());
        notify();
        break;
    }
  };

  let handle: NativeCaptureHandle;
  try {
    handle = addon.startCapture(
      {
        iface,
        snaplen,
        bufferBytes: Math.round(bufferKiB * 1024),
        timeoutMs: READ_TIMEOUT_MS,
        ...(options.filter !== undefined ? { filter: options.filter } : {}),
        ...(options.netns !== undefined ? { netns: options.netns } : {}),
      },
      blocks,
      onEvent,
    );
  } catch (e) {
    // Arguments the addon refuses, or no thread to be had: nothing was started.
    throw new LiveCaptureError(`cannot start the capture: ${e instanceof Error ? e.message : String(e)}`);
  }

  function counters(): LiveCaptureCounters {
    const k = handle.counters();
    return { received: k.received, droppedByKernel: k.dropped };
  }

  async function* chunks(): AsyncGenerator<Uint8Array> {
    let held = -1;
    try {
      for (;;) {
        const next = queue.shift();
        if (next === undefined) {
          if (finished) break;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          continue;
        }
        held = next.index;
        yield new Uint8Array(blocks[next.index], 0, next.length);
        // Asked for the next chunk: the parser is done with this one.
        handle.release(held);
        held = -1;
      }
    } finally {
      // The consumer stopped reading early: the block goes back all the same.
      if (held >= 0) handle.release(held);
    }
    if (broke) throw broke;
  }

  return {
    chunks: chunks(),
    ready: readiness.promise,
    counters: async () => counters(),
    stop() {
      handle.stop();
      return ended.promise;
    },
  };
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
