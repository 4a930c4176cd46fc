/**
 * Geneve, RFC 8926 (OVN, Cilium, AWS GWLB, GCP): UDP 6081. https://www.rfc-editor.org/rfc/rfc8926
 *
 *    0                   1                   2                   3
 *   +---+-----------+-+-+-----------+-------------------------------+
 *   |Ver| Opt Len   |O|C|  Rsvd.    |         Protocol Type         |
 *   +---+-----------+-+-+-----------+---------------+---------------+
 *   |        Virtual Network Identifier (VNI)       |    Reserved   |
 *   +-----------------------------------------------+---------------+
 *   |                 Options (Opt Len x 4 bytes, skipped)          |
 *
 * Protocol Type 0x6558 is an Ethernet frame; 0x0800 / 0x86dd an IP packet with no Ethernet.
 */
import { DecodeContext, Layer, be16, be32 } from './decode-context.js';
import { DecodeEvent } from './decode-events.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_TEB } from './dispatch-tables.js';
import { pushEncapLayer } from './encap-layer.js';
import { EncapKind } from './packet-view.js';

export function decodeGeneve(d: Uint8Array, ctx: DecodeContext): Layer {
  const o = ctx.offset;
  const avail = ctx.end - o;
  if (avail < 8) {
    ctx.view.truncated = 1;
    ctx.events.count(DecodeEvent.GeneveTruncated);
    return Layer.Done;
  }
  if ((d[o] as number) >> 6 !== 0) {
    ctx.events.count(DecodeEvent.GeneveBadVersion);
    return Layer.Done;
  }
  const headerLength = 8 + ((d[o] as number) & 0x3f) * 4;
  const protocol = be16(d, o + 2);
  if (protocol !== ETHERTYPE_TEB && protocol !== ETHERTYPE_IPV4 && protocol !== ETHERTYPE_IPV6) {
    ctx.events.count(DecodeEvent.GeneveUnsupportedProtocol);
    return Layer.Done;
  }
  if (avail < headerLength) {
    ctx.view.truncated = 1;
    ctx.events.count(DecodeEvent.GeneveTruncated);
    return Layer.Done;
  }
  if (!pushEncapLayer(ctx, EncapKind.Geneve, be32(d, o + 4) >>> 8)) return Layer.Done;
  ctx.offset = o + headerLength;
  return ctx.tables.byEtherType[protocol] as Layer;
}
