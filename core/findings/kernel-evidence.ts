/**
 * The node's kernel on a group of vanished packets, as a live agent read it: the drop reasons of
 * those of its packets whose own kernel drop event (eBPF, skb:kfree_skb) the engine matched by
 * fingerprint, where the kernel freed them when the reason is generic, the reverse-path filter in effect on their arrival interface, how much
 * TcpExtIPReversePathFilter grew while they vanished, the interface the route back to their source
 * leaves by, whether the kernel would route them at all (`ip route get ... iif`), forwarding on the
 * arrival interface, the route the destination matches, the netfilter rules that dropped
 * packets meanwhile, conntrack's INVALID count, the sizes against the way out's MTU, and the next
 * hop's neighbour entry.
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
  /** IPv4 forwarding on the node (net.ipv4.conf.all.forwarding) and on the arrival interface. */
  readonly forwarding?: { readonly all: number; readonly iface: number };
  /** The main table's most specific route to the destination (`ip route show match`), or none. */
  readonly route?: RouteEvidence;
  /** Netfilter rules that drop or reject, whose packet counters grew while the packets vanished. */
  readonly netfilterRules?: readonly NetfilterRuleGrowth[];
  /** Growth of conntrack's `invalid` count (/proc/net/stat/nf_conntrack, all CPUs) while the packets vanished. */
  readonly conntrackInvalidDelta?: number;
  /** A vanished packet's size against the MTU of the interface it would leave by. */
  readonly mtu?: MtuEvidence;
  /** The next hop's neighbour (ARP) entry on the interface the packets would leave by. */
  readonly neighbour?: NeighbourEvidence;
}

export interface MtuEvidence {
  /** The interface the route to the destination leaves by, and its MTU. */
  readonly exitIface: string;
  readonly exitMtu: number;
  /** The node's uplink (the default route's interface) and its MTU, when the exit is another interface. */
  readonly underlayIface: string | null;
  readonly underlayMtu: number | null;
  /** One vanished packet's IP total length and DF bit, from its bytes (live); null when not known. */
  readonly packetLength: number | null;
  readonly dontFragment: boolean | null;
  /** Growth of Ip FragFails (a packet too big for the next hop with DF set, or unfragmentable) meanwhile. */
  readonly fragFailsDelta: number | null;
}

export interface NeighbourEvidence {
  /** The next hop: the route's gateway, or the destination itself on a link route. */
  readonly address: string;
  readonly dev: string;
  /** The neighbour entry's state as iproute2 names it (REACHABLE, STALE, INCOMPLETE, FAILED, ...), or `none`. */
  readonly state: string;
  /** Whether `dev` has a carrier (false: the other end of a veth, or the cable, is down); null when unknown. */
  readonly carrier: boolean | null;
}

/** Neighbour states in which the next hop is not answering. */
export function isUnansweredNeighbour(n: NeighbourEvidence): boolean {
  return n.state === 'FAILED' || n.state === 'INCOMPLETE' || n.carrier === false;
}

export interface RouteEvidence {
  /** unicast, blackhole, unreachable, prohibit, throw, local, ... ('none': no route at all). */
  readonly type: string;
  /** The route's prefix (10.91.1.128/26, default). */
  readonly dst: string;
  readonly dev: string | null;
  readonly via: string | null;
}

/**
 * The longest rule text the wire carries (the collector refuses a batch with a longer one, so the
 * agent leaves such a rule out rather than cut it: a cut rule would make the remedy's delete
 * command name another rule, or none).
 */
export const NETFILTER_RULE_MAX_CHARS = 1024;

const NETFILTER_TABLES = new Set(['raw', 'mangle', 'filter', 'nat', 'security']);
const CHAIN_NAME = /^[A-Za-z0-9_.:+-]{1,64}$/;
const SHELL_METACHARACTERS = /[;&|`$<>\\]/;

/**
 * Why a rule cannot travel as evidence, or null. Rules go into remedies a user pastes into a shell,
 * so the agent leaves out (and the collector refuses) anything but netfilter's tables, chain names
 * iptables accepts, and rule text that starts with its chain, fits NETFILTER_RULE_MAX_CHARS, and
 * holds no control character and nothing a shell would take as another command.
 */
export function netfilterRuleProblem(table: string, chain: string, rule: string): string | null {
  if (!NETFILTER_TABLES.has(table)) return 'netfilter rule table must be raw, mangle, filter, nat or security';
  if (!CHAIN_NAME.test(chain)) return 'netfilter rule chain must be 1-64 of A-Z a-z 0-9 _ . : + -';
  if (rule.length === 0 || rule.length > NETFILTER_RULE_MAX_CHARS || /[\u0000-\u001f\u007f]/.test(rule)) return `netfilter rule must be 1-${NETFILTER_RULE_MAX_CHARS} printable characters`;
  if (!rule.startsWith(`-A ${chain} `) || SHELL_METACHARACTERS.test(rule)) return 'netfilter rule must be an iptables-save rule (-A CHAIN ...) without shell metacharacters';
  return null;
}

export interface NetfilterRuleGrowth {
  /** raw, mangle, filter, nat, security. */
  readonly table: string;
  readonly chain: string;
  /** The rule as iptables-save prints it, without its counters (`-A cali-PREROUTING -i tunl0 -m rpfilter --invert -j DROP`). */
  readonly rule: string;
  /** Packets it matched while the group's packets vanished. */
  readonly packets: number;
}

/** The key under which a group's packets dropped with a third or further reason are counted together. */
export const OTHER_KERNEL_REASONS = 'OTHER';

/**
 * Reasons that say nothing about why (NOT_SPECIFIED, a number the tracepoint's format has no name
 * for, and the others counted together): for these the kernel function that freed the packet says
 * where, and the verdict needs the node's configuration or stays `vanished`.
 */
export function isGenericKernelReason(reason: string): boolean {
  return reason === 'NOT_SPECIFIED' || reason === OTHER_KERNEL_REASONS || reason.startsWith('REASON_');
}
