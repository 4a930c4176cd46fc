/**
 * PPP inside GRE (PPTP's enhanced GRE, RFC 2637, or PPP over plain GRE): the frame as RFC 1662
 * carries it, with the address and control bytes (0xFF 0x03) optional and the protocol field one
 * byte when compressed (an odd first byte, RFC 1661 section 6.5).
 *
 *   | 0xFF | 0x03 | Protocol (1 or 2 bytes) | payload ...
 *
 * Protocol 0x0021 is IPv4 and 0x0057 IPv6; anything else (LCP, IPCP, compressed or encrypted
 * datagrams) is an undecoded tunnel payload. The GRE layer is already pushed.
 */
import { DecodeContext, Layer, be16 } from './decode-context.js';
import { DecodeEvent } from './decode-events.js';
import { markUndecodedTunnel } from './encap-layer.js';
import { UndecodedTunnel } from './packet-view.js';

const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;

export function decodePpp(d: Uint8Array, ctx: DecodeContext): Layer {
  let o = ctx.offset;
  const end = ctx.end;
  if (end - o >= 2 && d[o] === 0xff && d[o + 1] === 0x03) o += 2;
  if (o >= end) return truncated(ctx);
  let protocol: number;
  if (((d[o] as number) & 1) !== 0) {
    protocol = d[o] as number;
    o += 1;
  } else {
    if (end - o < 2) return truncated(ctx);
    protocol = be16(d, o);
    o += 2;
  }
  ctx.offset = o;
  if (protocol === PPP_IPV4) return Layer.Ipv4;
  if (protocol === PPP_IPV6) return Layer.Ipv6;
  ctx.events.count(DecodeEvent.PppUnsupportedProtocol);
  markUndecodedTunnel(ctx, UndecodedTunnel.PppProtocol, protocol);
  return Layer.Done;
}

function truncated(ctx: DecodeContext): Layer {
  ctx.view.truncated = 1;
  ctx.events.count(DecodeEvent.PppTruncated);
  return Layer.Done;
}
