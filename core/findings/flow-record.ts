/**
 * Flow records: sightings aggregated per (node, interface, direction, inner 5-tuple, encapsulation)
 * and interval. This is what healthy traffic costs on the wire and in storage.
 */
export type DirectionName = 'in' | 'out' | 'unknown';

export interface FlowRecord {
  readonly node: string;
  readonly iface: string;
  readonly direction: DirectionName;
  readonly ipVersion: number;
  readonly src: string;
  readonly dst: string;
  /** IP protocol number. */
  readonly proto: number;
  readonly sport: number;
  readonly dport: number;
  /** Outermost encapsulation: 'none', 'ipip', 'vxlan', 'geneve', 'gre', 'erspan'. */
  readonly encap: string;
  readonly outerSrc: string;
  readonly outerDst: string;
  readonly vni: number;
  readonly packets: number;
  readonly bytes: number;
  /** Milliseconds since the epoch (fractional). */
  readonly firstSeen: number;
  readonly lastSeen: number;
}

export function directionName(dir: number): DirectionName {
  return dir === 1 ? 'in' : dir === 2 ? 'out' : 'unknown';
}

/** One encapsulation layer around a packet, as replay's flows and the report show it. */
export interface EncapLayerRecord {
  /** 'ipip', 'gre', 'vxlan', 'geneve', 'erspan'. */
  readonly kind: string;
  /** The outer header's addresses: the tunnel's ends (the nodes, for an overlay). */
  readonly src: string;
  readonly dst: string;
  /** VXLAN/Geneve VNI, GRE key (PPTP: call id), ERSPAN session id; null when the layer has none. */
  readonly vni: number | null;
}
