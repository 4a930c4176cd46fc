/**
 * The node's kernel on a group of vanished packets, as a live agent read it: the drop reasons of
 * those of its packets whose own kernel drop event (eBPF, skb:kfree_skb) the engine matched by
 * fingerprint, where the kernel freed them when the reason is generic, the reverse-path filter in effect on their arrival interface, how much
 * TcpExtIPReversePathFilter grew while they vanished, the interface the route back to their source
 * leaves by, and whether the kernel would route them at all (`ip route get ... iif`).
 */
export interface KernelEvidence {
  /** Packets of the group whose own kernel drop event was matched by fingerprint, per reason, e.g. { IP_RPFILTER: 5 }. */
  readonly dropReasons?: Readonly<Record<string, number>>;
  /**
   * Where the kernel freed them (kallsyms `symbol+0xoff`, or the address when unresolved), per
   * reason, for reasons that do not say why (NOT_SPECIFIED, unnamed numbers).
   */
  readonly dropLocations?: Readonly<Record<string, string>>;
  readonly rpFilter?: { readonly all: number; readonly iface: number; readonly effective: number };
  /** Growth of TcpExtIPReversePathFilter on the node while the packets vanished. */
  readonly rpFilterCounterDelta?: number;
  /** The interface the route back to the source leaves by. */
  readonly routeBackIface?: string;
  /** `ip route get <dst> from <src> iif <iface>` failed (as it does for an rp_filter drop). */
  readonly routeCheckError?: string;
}
