/**
 * The decoder entry point: from a captured frame of a given link type to a filled PacketView.
 *
 * One PacketDecoder per pipeline; decode() is called per packet, allocates nothing and never throws.
 * The loop asks the dispatch tables which layer comes next and calls that protocol's decoder; the
 * switch keeps the calls direct (and inlinable) while the wiring stays in the tables.
 */
import { DecodeContext, Layer } from './decode-context.js';
import { DecodeEvent, DecodeEventCounters } from './decode-events.js';
import { DEFAULT_TUNNEL_PORTS, DispatchTables, type TunnelPortConfig } from './dispatch-tables.js';
import { decodeEthernet } from './ethernet.js';
import { decodeGeneve } from './geneve.js';
import { decodeErspan } from './erspan.js';
import { decodeGre } from './gre.js';
import { decodeIcmp, decodeIcmpv6 } from './icmp.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from './link-types.js';
import { decodeLinuxSll, decodeLinuxSll2 } from './linux-sll.js';
import { decodeNullLoopback } from './null-loopback.js';
import { PacketView, UndecodedTunnel } from './packet-view.js';
import { decodePpp } from './ppp.js';
import { decodeTcp } from './tcp.js';
import { decodeUdp } from './udp.js';
import { decodeVlan } from './vlan.js';
import { decodeVxlan } from './vxlan.js';

export const enum DecodeStatus {
  /** An IP packet was decoded as far as its headers go. */
  Ok = 0,
  /** An IP packet was found but the capture cut it short; the view holds what was there. */
  Truncated = 1,
  /** Not an IP packet (ARP, LLDP, ...), or a link type we do not decode. */
  NotIp = 2,
  /** A header contradicted itself; the view holds the layers before it. */
  Malformed = 3,
  /**
   * A tunnel whose payload we do not decode (PPP that is not IP, GRE keepalives, MPLS, ...): the
   * view holds its layers and view.undecodedTunnel says why; there is no inner packet.
   */
  UndecodedTunnel = 4,
}

export interface PacketDecoderConfig {
  readonly tunnelPorts: TunnelPortConfig;
}

/** Upper bound on layers per packet: VLAN tags + tunnels + IP/L4, with room to spare. */
const MAX_LAYERS = 32;

export class PacketDecoder {
  readonly view = new PacketView();
  readonly events = new DecodeEventCounters();
  private readonly ctx: DecodeContext;

  constructor(config: PacketDecoderConfig = { tunnelPorts: DEFAULT_TUNNEL_PORTS }) {
    this.ctx = new DecodeContext(this.view, this.events, new DispatchTables(config.tunnelPorts));
  }

  decode(data: Uint8Array, offset: number, length: number, linkType: number): DecodeStatus {
    const view = this.view;
    const ctx = this.ctx;
    view.reset();
    view.linkType = linkType;
    ctx.offset = offset;
    ctx.end = offset + length;
    let layer = this.firstLayer(data, linkType);
    for (let steps = 0; layer !== Layer.Done && steps < MAX_LAYERS; steps++) {
      switch (layer) {
        case Layer.Ethernet:
          layer = decodeEthernet(data, ctx);
          break;
        case Layer.Vlan:
          layer = decodeVlan(data, ctx);
          break;
        case Layer.Ipv4:
          layer = decodeIpv4(data, ctx);
          break;
        case Layer.Ipv6:
          layer = decodeIpv6(data, ctx);
          break;
        case Layer.Tcp:
          layer = decodeTcp(data, ctx);
          break;
        case Layer.Udp:
          layer = decodeUdp(data, ctx);
          break;
        case Layer.Icmp:
          layer = decodeIcmp(data, ctx);
          break;
        case Layer.Icmpv6:
          layer = decodeIcmpv6(data, ctx);
          break;
        case Layer.Vxlan:
          layer = decodeVxlan(data, ctx);
          break;
        case Layer.Geneve:
          layer = decodeGeneve(data, ctx);
          break;
        case Layer.Gre:
          layer = decodeGre(data, ctx);
          break;
        case Layer.Erspan:
          layer = decodeErspan(data, ctx);
          break;
        case Layer.Ppp:
          layer = decodePpp(data, ctx);
          break;
        default:
          // NotIp and Unknown end the walk; whatever was decoded before stays in the view.
          layer = Layer.Done;
      }
    }
    if (view.ipVersion === 0) {
      if (view.undecodedTunnel !== UndecodedTunnel.None) return DecodeStatus.UndecodedTunnel;
      // A tunnel packet without an inner IP packet still names its tunnel (never plain traffic).
      if (view.encapDepth !== 0) view.undecodedTunnel = view.malformed !== 0 ? UndecodedTunnel.PayloadMalformed : view.truncated !== 0 ? UndecodedTunnel.PayloadTruncated : UndecodedTunnel.PayloadNotIp;
      if (view.malformed !== 0) return DecodeStatus.Malformed;
      if (view.truncated !== 0) return DecodeStatus.Truncated;
      return DecodeStatus.NotIp;
    }
    if (view.malformed !== 0) return DecodeStatus.Malformed;
    return view.truncated !== 0 ? DecodeStatus.Truncated : DecodeStatus.Ok;
  }

  private firstLayer(data: Uint8Array, linkType: number): Layer {
    const ctx = this.ctx;
    switch (linkType) {
      case LINKTYPE_ETHERNET:
        return Layer.Ethernet;
      case LINKTYPE_LINUX_SLL2:
        return decodeLinuxSll2(data, ctx);
      case LINKTYPE_LINUX_SLL:
        return decodeLinuxSll(data, ctx);
      case LINKTYPE_IPV4:
        return Layer.Ipv4;
      case LINKTYPE_IPV6:
        return Layer.Ipv6;
      case LINKTYPE_RAW: {
        if (ctx.end <= ctx.offset) {
          this.view.truncated = 1;
          return Layer.Done;
        }
        const version = (data[ctx.offset] as number) >> 4;
        if (version === 4) return Layer.Ipv4;
        if (version === 6) return Layer.Ipv6;
        this.view.malformed = 1;
        this.events.count(DecodeEvent.RawBadVersion);
        return Layer.Done;
      }
      case LINKTYPE_NULL:
        return decodeNullLoopback(data, ctx, false);
      case LINKTYPE_LOOP:
        return decodeNullLoopback(data, ctx, true);
      default:
        this.events.count(DecodeEvent.LinkUnsupported);
        return Layer.Done;
    }
  }
}
