/** Live capture's exports (native/addon/live_capture_napi.c), as TypeScript sees them. */

/** What the capture thread is given (native/capture/live_capture.h). */
export interface NativeCaptureOptions {
  /** `any`, or one interface's name. */
  readonly iface: string;
  /** Bytes kept per packet, 1 to 262144. */
  readonly snaplen: number;
  /** The kernel's ring, in bytes. */
  readonly bufferBytes: number;
  /** libpcap's read timeout: the kernel hands over a partly filled ring block after this long. */
  readonly timeoutMs: number;
  /** BPF filter expression, compiled by libpcap. */
  readonly filter?: string;
  /** Capture inside this network namespace (a path such as /run/netns/NAME); default: this process's. */
  readonly netns?: string;
}

/** Why a capture could not start, or broke. */
export type NativeCaptureFailure = 'permission' | 'no-device' | 'filter' | 'netns' | 'other';

export type NativeCaptureEvent =
  /** The handle is active: capturing. */
  | { readonly type: 'ready'; readonly linkType: number }
  /** blocks[index] holds `length` bytes of pcap (the file header first, in the first block); release it when done. */
  | { readonly type: 'block'; readonly index: number; readonly length: number }
  | { readonly type: 'failed'; readonly failure: NativeCaptureFailure; readonly message: string }
  /** The capture thread is done (the last event): the counters are final. */
  | { readonly type: 'end' };

export interface NativeCaptureHandle {
  /** JS is done with the block of a 'block' event: the capture thread may fill it again. */
  release(index: number): void;
  /** Ends the capture; 'end' follows. Safe to call more than once. */
  stop(): void;
  /** The kernel's counters at the capture thread's last look (each return of pcap_dispatch). */
  counters(): { readonly received: number; readonly dropped: number };
}

export interface NativeLiveCaptureExports {
  /**
   * Starts a capture thread writing into `blocks` (ArrayBuffers of equal use: never transferred,
   * each large enough for the file header and one packet at the snap length). Throws on bad
   * arguments; everything else, a failure to start included, comes as an event.
   */
  startCapture(options: NativeCaptureOptions, blocks: readonly ArrayBuffer[], onEvent: (event: NativeCaptureEvent) => void): NativeCaptureHandle;
  /** Every IPv4 and IPv6 address of every interface, as [interface, address] (libpcap's device list). */
  interfaceAddresses(): Array<[string, string]>;
}
