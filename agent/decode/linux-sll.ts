/**
 * Linux "cooked" capture headers: SLL (LINKTYPE_LINUX_SLL, 113) and SLL2 (LINKTYPE_LINUX_SLL2, 276),
 * what `tcpdump -i any` writes. https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html and
 * https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html
 *
 * SLL (16 bytes):                          SLL2 (20 bytes):
 *   0  packet type   (2)                     0  protocol type     (2)
 *   2  ARPHRD type   (2)                     2  reserved          (2)
 *   4  address length(2)                     4  interface index   (4)
 *   6  address       (8)                     8  ARPHRD type       (2)
 *  14  protocol type (2)                    10  packet type       (1)
 *                                           11  address length    (1)
 *                                           12  address           (8)
 *
 * The packet type gives the direction: 0 host, 1 broadcast, 2 multicast, 3 otherhost (received),
 * 4 outgoing. The address is the sender's link address; an address length above 8 is bogus (seen in
 * real captures) and only the 8 bytes present are meaningful.
 */
import { DecodeContext, Layer, be16, be32 } from './decode-context.js';
import { DecodeEvent } from './decode-events.js';

export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
export const PACKET_OUTGOING = 4;

/** SLL protocol values that are not EtherTypes: 802.3 frames without a type (Novell, LLC), CAN, ... */
function cookedProtocolLayer(ctx: DecodeContext, protocol: number): Layer {
  if (protocol < 0x0600) return Layer.NotIp;
  return ctx.tables.byEtherType[protocol] as Layer;
}

export function decodeLinuxSll(d: Uint8Array, ctx: DecodeContext): Layer {
  const o = ctx.offset;
  const view = ctx.view;
  if (ctx.end - o < 16) {
    view.truncated = 1;
    ctx.events.count(DecodeEvent.SllTruncated);
    return Layer.Done;
  }
  view.linuxPacketType = be16(d, o);
  view.linuxHatype = be16(d, o + 2);
  if (be16(d, o + 4) === 6) view.macSrcOffset = o + 6;
  ctx.offset = o + 16;
  return cookedProtocolLayer(ctx, be16(d, o + 14));
}

export function decodeLinuxSll2(d: Uint8Array, ctx: DecodeContext): Layer {
  const o = ctx.offset;
  const view = ctx.view;
  if (ctx.end - o < 20) {
    view.truncated = 1;
    ctx.events.count(DecodeEvent.Sll2Truncated);
    return Layer.Done;
  }
  view.linuxIfindex = be32(d, o + 4);
  view.linuxPacketType = d[o + 10] as number;
  view.linuxHatype = be16(d, o + 8);
  if (d[o + 11] === 6) view.macSrcOffset = o + 12;
  ctx.offset = o + 20;
  return cookedProtocolLayer(ctx, be16(d, o));
}
