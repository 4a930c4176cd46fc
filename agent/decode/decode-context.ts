/**
 * What every protocol decoder receives besides the bytes: the cursor it advances, the view it fills,
 * the event counters, and the dispatch tables (filled once from the decoder's config).
 *
 * Decoder contract (one file per protocol):
 *   decodeX(data, ctx): Layer
 * reads data[ctx.offset, ctx.end), writes into ctx.view, moves ctx.offset past its header, and
 * returns the next layer to decode (Layer.Done when finished). It never throws and never allocates;
 * an anomaly is a counted DecodeEvent and, where the packet was cut short, view.truncated = 1.
 */
import { DecodeEventCounters } from './decode-events.js';
import type { DispatchTables } from './dispatch-tables.js';
import { PacketView } from './packet-view.js';

/** Decoder layer ids, the values of the dispatch tables. */
export const enum Layer {
  Done = 0,
  Ethernet,
  Vlan,
  Ipv4,
  Ipv6,
  Gre,
  Erspan,
  Ppp,
  Vxlan,
  Geneve,
  Tcp,
  Udp,
  Icmp,
  Icmpv6,
  /** Not IP (ARP, LLDP, ...): decoding stops without an anomaly. */
  NotIp,
  /** A protocol we do not decode: decoding stops, counted. */
  Unknown,
}

export class DecodeContext {
  offset = 0;
  end = 0;
  readonly view: PacketView;
  readonly events: DecodeEventCounters;
  readonly tables: DispatchTables;

  constructor(view: PacketView, events: DecodeEventCounters, tables: DispatchTables) {
    this.view = view;
    this.events = events;
    this.tables = tables;
  }
}

/** Big-endian 16-bit read. Callers have checked bounds. */
export function be16(d: Uint8Array, o: number): number {
  return ((d[o] as number) << 8) | (d[o + 1] as number);
}

/** Big-endian unsigned 32-bit read. Callers have checked bounds. */
export function be32(d: Uint8Array, o: number): number {
  return (((d[o] as number) << 24) | ((d[o + 1] as number) << 16) | ((d[o + 2] as number) << 8) | (d[o + 3] as number)) >>> 0;
}
