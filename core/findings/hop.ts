/**
 * A packet's identity and its hops (one sighting each, named), as findings report them. These
 * objects exist only for the rare packets worth reporting; healthy traffic becomes flow records.
 */
import type { DirectionName } from './flow-record.js';
import type { InterfaceRole } from './interface-roles.js';

export type DirectionSourceName = 'pcapng-flags' | 'linux-packet-type' | 'learned-mac' | 'addresses' | 'hop-order' | 'unknown';

export interface Hop {
  readonly node: string;
  readonly iface: string;
  readonly role: InterfaceRole;
  readonly direction: DirectionName;
  /** How the direction was known. */
  readonly directionSource: DirectionSourceName;
  /** Milliseconds since the epoch (fractional, microsecond precision). */
  readonly ts: number;
  /** Outermost encapsulation of the packet as seen here: 'none', 'ipip', 'vxlan', 'geneve', 'gre', 'erspan'. */
  readonly encap: string;
  readonly outerSrc: string | null;
  readonly outerDst: string | null;
  readonly vni: number | null;
  readonly ttl: number;
  readonly length: number;
}

export interface PacketIdentity {
  readonly ipVersion: number;
  readonly src: string;
  readonly dst: string;
  /** IP protocol number of the innermost packet. */
  readonly proto: number;
  /** null where the protocol has no ports. */
  readonly sport: number | null;
  readonly dport: number | null;
}
