/**
 * What correlation reports about packets: hops (one sighting, named) and groups of packets that
 * entered a node and did not leave it. These objects exist only for the rare packets worth
 * reporting; healthy traffic becomes flow records.
 */
import type { PacketBytes } from '../../agent/flow/packet-bytes-ring.js';
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
  /** Outermost encapsulation of the packet as seen here: 'none', 'ipip', 'vxlan', 'geneve', 'gre'. */
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

/**
 * Packets of one (node, interface, src, dst, protocol, ports) that arrived and were not seen leaving.
 * Built by the node's matcher; judged (vanished, local, unobserved) once the node's knowledge is in.
 */
export interface VanishedGroup {
  readonly key: string;
  readonly node: string;
  readonly nodeIndex: number;
  readonly iface: string;
  readonly ifaceId: number;
  readonly role: InterfaceRole;
  readonly identity: PacketIdentity;
  readonly srcKey: number;
  readonly dstKey: number;
  packets: number;
  firstSeen: number;
  lastSeen: number;
  /** The direction of the arrival was inferred from nothing better than a guess. */
  directionUncertain: boolean;
  /** Fingerprints of the first few packets, hex. */
  readonly fingerprints: string[];
  /** The path of the first packet on this node, in time order. */
  readonly samplePath: Hop[];
  /** The same packet's hops on other nodes before this one (filled by cross-node stitching). */
  readonly upstreamPath: Hop[];
  /** Link-level source/destination MAC of the sample's arrival (for late direction learning), -1 if none. */
  readonly arrivalMacSrc: number;
  readonly arrivalMacDst: number;
  /** The first bytes of a packet of the group as it arrived (when the pipeline keeps bytes and they were still there). */
  sampleBytes?: PacketBytes | undefined;
}
