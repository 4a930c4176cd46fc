/**
 * VXLAN, RFC 7348 (Calico's vxlan.calico, flannel.1, Cilium): UDP 4789 or Linux's default 8472.
 * https://www.rfc-editor.org/rfc/rfc7348
 *
 *    0                   1                   2                   3
 *   +-+-+-+-+-+-+-+-+-----------------------------------------------+
 *   |R|R|R|R|I|R|R|R|                   Reserved                    |
 *   +-+-+-+-+-+-+-+-+-----------------------------------------------+
 *   |                VXLAN Network Identifier (VNI) |   Reserved    |
 *   +-----------------------------------------------+---------------+
 *   | inner Ethernet frame ...
 *
 * Without the I flag the datagram is not treated as VXLAN: it stays a plain UDP packet.
 */
import { DecodeContext, Layer, be32 } from './decode-context.js';
import { DecodeEvent } from './decode-events.js';
import { pushEncapLayer } from './encap-layer.js';
import { EncapKind } from './packet-view.js';

export function decodeVxlan(d: Uint8Array, ctx: DecodeContext): Layer {
  const o = ctx.offset;
  if (ctx.end - o < 8) {
    ctx.view.truncated = 1;
    ctx.events.count(DecodeEvent.VxlanTruncated);
    return Layer.Done;
  }
  if (((d[o] as number) & 0x08) === 0) {
    ctx.events.count(DecodeEvent.VxlanNoVniFlag);
    return Layer.Done;
  }
  const vni = be32(d, o + 4) >>> 8;
  if (!pushEncapLayer(ctx, EncapKind.Vxlan, vni)) return Layer.Done;
  ctx.offset = o + 8;
  return Layer.Ethernet;
}
