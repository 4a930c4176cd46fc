/**
 * ERSPAN types II and III (Cisco's encapsulated remote SPAN), after GRE protocol 0x88BE (with a
 * sequence number) or 0x22EB. https://datatracker.ietf.org/doc/html/draft-foschiano-erspan-03
 *
 *   Type II (version 1), 8 bytes:
 *   |  Ver  |          VLAN         | COS | En|T|     Session ID    |
 *   |      Reserved         |                 Index                 |
 *
 *   Type III (version 2), 12 bytes, then 8 more when O is set (platform-specific subheader):
 *   |  Ver  |          VLAN         | COS |BSO|T|     Session ID    |
 *   |                          Timestamp                            |
 *   |             SGT               |P|    FT   |   Hw ID   |D|Gra|O|
 *
 * The payload is the mirrored frame: Ethernet, or for type III with frame type 2 an IP packet. The
 * layer's VNI is the session id. (Type I has no header: GRE handles it.)
 */
import { DecodeContext, Layer, be16 } from './decode-context.js';
import { DecodeEvent } from './decode-events.js';
import { markUndecodedTunnel, pushEncapLayer, pushUndecodedTunnel } from './encap-layer.js';
import { EncapKind, UndecodedTunnel } from './packet-view.js';

const ERSPAN_II = 1;
const ERSPAN_III = 2;
const FRAME_ETHERNET = 0;
const FRAME_IP = 2;

export function decodeErspan(d: Uint8Array, ctx: DecodeContext): Layer {
  const o = ctx.offset;
  const avail = ctx.end - o;
  if (avail < 2) return truncated(ctx);
  const version = (d[o] as number) >> 4;
  if (version !== ERSPAN_II && version !== ERSPAN_III) {
    ctx.events.count(DecodeEvent.ErspanUnsupported);
    pushUndecodedTunnel(ctx, EncapKind.Erspan, -1, UndecodedTunnel.ErspanVersion, version);
    return Layer.Done;
  }
  const fixedLength = version === ERSPAN_II ? 8 : 12;
  if (avail < fixedLength) return truncated(ctx);
  const session = be16(d, o + 2) & 0x3ff;
  if (version === ERSPAN_II) {
    if (!pushEncapLayer(ctx, EncapKind.Erspan, session)) return Layer.Done;
    ctx.offset = o + fixedLength;
    return Layer.Ethernet;
  }
  const word = be16(d, o + 10);
  const frameType = (word >> 10) & 0x1f;
  const headerLength = fixedLength + ((word & 1) !== 0 ? 8 : 0);
  if (avail < headerLength) return truncated(ctx);
  if (!pushEncapLayer(ctx, EncapKind.Erspan, session)) return Layer.Done;
  ctx.offset = o + headerLength;
  if (frameType === FRAME_ETHERNET) return Layer.Ethernet;
  if (frameType === FRAME_IP && ctx.offset < ctx.end) {
    const ipVersion = (d[ctx.offset] as number) >> 4;
    if (ipVersion === 4) return Layer.Ipv4;
    if (ipVersion === 6) return Layer.Ipv6;
  }
  ctx.events.count(DecodeEvent.ErspanUnsupported);
  markUndecodedTunnel(ctx, UndecodedTunnel.ErspanFrameType, frameType);
  return Layer.Done;
}

function truncated(ctx: DecodeContext): Layer {
  ctx.view.truncated = 1;
  ctx.events.count(DecodeEvent.ErspanTruncated);
  return Layer.Done;
}
