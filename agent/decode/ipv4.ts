/**
 * IPv4, RFC 791. https://www.rfc-editor.org/rfc/rfc791
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-------+-------+---------------+-------------------------------+
 *   |Version|  IHL  |    DSCP/ECN   |          Total Length         |
 *   +-------+-------+---------------+-----+-------------------------+
 *   |         Identification        |Flags|     Fragment Offset     |
 *   +---------------+---------------+-----+-------------------------+
 *   |      TTL      |    Protocol   |        Header Checksum        |
 *   +---------------+---------------+-------------------------------+
 *   |                        Source Address                         |
 *   |                      Destination Address                      |
 *   |                    Options (IHL > 5)  ...                     |
 *
 * Only the first fragment carries the transport header. A total length of 0 is what Linux records
 * for GSO super-packets beyond 64 KiB: the captured length stands in for it. Bytes past the total
 * length (Ethernet padding) are cut off so they never reach the payload.
 */
import { DecodeContext, Layer, be16, be32 } from './decode-context.js';
import { DecodeEvent } from './decode-events.js';
import { pushEncapLayer } from './encap-layer.js';
import { EncapKind } from './packet-view.js';

export function decodeIpv4(d: Uint8Array, ctx: DecodeContext): Layer {
  const o = ctx.offset;
  const v = ctx.view;
  const avail = ctx.end - o;
  if (avail < 20) {
    v.truncated = 1;
    ctx.events.count(DecodeEvent.Ipv4Truncated);
    return Layer.Done;
  }
  const vihl = d[o] as number;
  if (vihl >> 4 !== 4) {
    v.malformed = 1;
    ctx.events.count(DecodeEvent.Ipv4BadVersion);
    return Layer.Done;
  }
  const headerLength = (vihl & 0x0f) * 4;
  if (headerLength < 20) {
    v.malformed = 1;
    ctx.events.count(DecodeEvent.Ipv4BadHeaderLength);
    return Layer.Done;
  }
  let totalLength = be16(d, o + 2);
  // Checked before the header is known to be all there: a total length shorter than the header
  // contradicts itself however many bytes were captured (it is not a snap-length cut).
  if (totalLength !== 0 && totalLength < headerLength) {
    v.malformed = 1;
    ctx.events.count(DecodeEvent.Ipv4BadTotalLength);
    return Layer.Done;
  }
  if (avail < headerLength) {
    v.truncated = 1;
    ctx.events.count(DecodeEvent.Ipv4Truncated);
    return Layer.Done;
  }
  if (totalLength === 0) totalLength = avail;
  if (totalLength > avail) {
    v.truncated = 1;
    ctx.events.count(DecodeEvent.Ipv4Truncated);
  } else ctx.end = o + totalLength;

  v.ipVersion = 4;
  v.src[0] = be32(d, o + 12);
  v.src[1] = 0;
  v.src[2] = 0;
  v.src[3] = 0;
  v.dst[0] = be32(d, o + 16);
  v.dst[1] = 0;
  v.dst[2] = 0;
  v.dst[3] = 0;
  v.ttl = d[o + 8] as number;
  const proto = d[o + 9] as number;
  v.proto = proto;
  v.ipId = be16(d, o + 4);
  v.flowLabel = 0;
  v.ipOffset = o;
  v.ipLength = totalLength;
  const frag = be16(d, o + 6);
  v.moreFragments = (frag >> 13) & 1;
  v.fragOffset = (frag & 0x1fff) * 8;
  ctx.offset = o + headerLength;
  if (v.fragOffset !== 0 || v.moreFragments !== 0) {
    v.isFragment = 1;
    ctx.events.count(DecodeEvent.Ipv4Fragment);
    if (v.fragOffset !== 0) return Layer.Done;
  }
  return nextAfterIp(ctx, proto);
}

/** Shared by IPv4 and IPv6: dispatch on the protocol, entering IP-in-IP tunnels. */
export function nextAfterIp(ctx: DecodeContext, proto: number): Layer {
  const next = ctx.tables.byIpProto[proto] as Layer;
  if (next === Layer.Ipv4 || next === Layer.Ipv6) {
    // A fragment of a tunnelled packet cannot be decapsulated without reassembly.
    if (ctx.view.isFragment !== 0) return Layer.Done;
    return pushEncapLayer(ctx, EncapKind.IpInIp, -1) ? next : Layer.Done;
  }
  if (next === Layer.Unknown) {
    // 59 is IPv6 "no next header": nothing to decode, nothing anomalous.
    if (proto !== 59) ctx.events.count(DecodeEvent.IpUnknownProtocol);
    return Layer.Done;
  }
  return next;
}
