/**
 * UDP, RFC 768. https://www.rfc-editor.org/rfc/rfc768
 *
 *    0                   1                   2                   3
 *   +-------------------------------+-------------------------------+
 *   |          Source Port          |       Destination Port        |
 *   +-------------------------------+-------------------------------+
 *   |            Length             |           Checksum            |
 *   +-------------------------------+-------------------------------+
 *
 * Tunnels on UDP (VXLAN, Geneve) are found by destination port through the dispatch table, never in
 * a fragment (the tunnel header may not be all there).
 */
import { DecodeContext, Layer, be16 } from './decode-context.js';
import { DecodeEvent } from './decode-events.js';

export function decodeUdp(d: Uint8Array, ctx: DecodeContext): Layer {
  const o = ctx.offset;
  const v = ctx.view;
  const avail = ctx.end - o;
  v.l4Offset = o;
  if (avail < 8) {
    if (avail >= 4) {
      v.sport = be16(d, o);
      v.dport = be16(d, o + 2);
    }
    v.truncated = 1;
    ctx.events.count(DecodeEvent.UdpTruncated);
    return Layer.Done;
  }
  v.sport = be16(d, o);
  v.dport = be16(d, o + 2);
  const length = be16(d, o + 4);
  v.udpLength = length;
  v.l4Valid = 1;
  v.payloadOffset = o + 8;
  // Length 0 is legal for UDP over IPv6 jumbograms; a length shorter than the header is not.
  if (length !== 0 && length < 8) {
    v.malformed = 1;
    ctx.events.count(DecodeEvent.UdpBadLength);
    v.payloadEnd = v.payloadOffset;
    return Layer.Done;
  }
  v.payloadEnd = length !== 0 && o + length < ctx.end ? o + length : ctx.end;
  ctx.offset = o + 8;
  if (v.isFragment !== 0) return Layer.Done;
  const tunnel = ctx.tables.byUdpPort[v.dport] as Layer;
  if (tunnel !== 0) ctx.end = v.payloadEnd;
  return tunnel;
}
