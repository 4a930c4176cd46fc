/**
 * GRE, RFC 2784 with the key and sequence extensions of RFC 2890.
 * https://www.rfc-editor.org/rfc/rfc2784 https://www.rfc-editor.org/rfc/rfc2890
 *
 *    0                   1                   2                   3
 *   +-+-+-+-+-------------------+-----+-------------------------------+
 *   |C|R|K|S|  Reserved0        | Ver |         Protocol Type         |
 *   +-+-+-+-+-------------------+-----+-------------------------------+
 *   |      Checksum (if C)      |        Reserved1 (if C)             |
 *   |                          Key (if K)                             |
 *   |                    Sequence Number (if S)                       |
 *
 * Protocol 0x6558 (transparent Ethernet bridging, VMware NSX) carries Ethernet; 0x0800/0x86dd IP.
 * Version 1 is PPTP's enhanced GRE carrying PPP: recognised, not decoded further.
 */
import { DecodeContext, Layer, be16, be32 } from './decode-context.js';
import { DecodeEvent } from './decode-events.js';
import { pushEncapLayer } from './encap-layer.js';
import { EncapKind } from './packet-view.js';

const GRE_CHECKSUM = 0x8000;
const GRE_ROUTING = 0x4000;
const GRE_KEY = 0x2000;
const GRE_SEQUENCE = 0x1000;

export function decodeGre(d: Uint8Array, ctx: DecodeContext): Layer {
  const o = ctx.offset;
  const avail = ctx.end - o;
  if (avail < 4) {
    ctx.view.truncated = 1;
    ctx.events.count(DecodeEvent.GreTruncated);
    return Layer.Done;
  }
  const flags = be16(d, o);
  if ((flags & 0x7) !== 0 || (flags & GRE_ROUTING) !== 0) {
    ctx.events.count(DecodeEvent.GreUnsupportedVersion);
    return Layer.Done;
  }
  const protocol = be16(d, o + 2);
  let headerLength = 4;
  if ((flags & GRE_CHECKSUM) !== 0) headerLength += 4;
  const keyOffset = o + headerLength;
  if ((flags & GRE_KEY) !== 0) headerLength += 4;
  if ((flags & GRE_SEQUENCE) !== 0) headerLength += 4;
  if (avail < headerLength) {
    ctx.view.truncated = 1;
    ctx.events.count(DecodeEvent.GreTruncated);
    return Layer.Done;
  }
  const next = ctx.tables.byEtherType[protocol] as Layer;
  if (next !== Layer.Ipv4 && next !== Layer.Ipv6 && next !== Layer.Ethernet) {
    ctx.events.count(DecodeEvent.GreUnsupportedProtocol);
    return Layer.Done;
  }
  const key = (flags & GRE_KEY) !== 0 ? be32(d, keyOffset) | 0 : -1;
  if (!pushEncapLayer(ctx, EncapKind.Gre, key)) return Layer.Done;
  ctx.offset = o + headerLength;
  return next;
}
