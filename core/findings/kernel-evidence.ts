/**
 * The node's kernel on a group of vanished packets, as a live agent read it: drop reasons its eBPF
 * monitor saw for them, the reverse-path filter in effect on their arrival interface, how much
 * TcpExtIPReversePathFilter grew while they vanished, the interface the route back to their source
 * leaves by, and whether the kernel would route them at all (`ip route get ... iif`).
 */
export interface KernelEvidence {
  /** Kernel drop reasons counted for these packets, e.g. { IP_RPFILTER: 5 }. */
  readonly dropReasons?: Readonly<Record<string, number>>;
  readonly rpFilter?: { readonly all: number; readonly iface: number; readonly effective: number };
  /** Growth of TcpExtIPReversePathFilter on the node while the packets vanished. */
  readonly rpFilterCounterDelta?: number;
  /** The interface the route back to the source leaves by. */
  readonly routeBackIface?: string;
  /** `ip route get <dst> from <src> iif <iface>` failed (as it does for an rp_filter drop). */
  readonly routeCheckError?: string;
}
