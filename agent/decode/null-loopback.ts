/**
 * BSD loopback encapsulation: LINKTYPE_NULL (0, address family in the capturing host's byte order)
 * and LINKTYPE_LOOP (108, network byte order). https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html
 *
 *   0               4
 *   +---------------+---------
 *   | AF (32 bits)  | IP packet
 *   +---------------+---------
 *
 * AF_INET is 2 everywhere; AF_INET6 is 24, 28 or 30 depending on the BSD. With LINKTYPE_NULL the
 * byte order is the writer's, so a value is recognised in either order.
 */
import { DecodeContext, Layer, be32 } from './decode-context.js';
import { DecodeEvent } from './decode-events.js';

function familyLayer(af: number): Layer {
  if (af === 2) return Layer.Ipv4;
  if (af === 24 || af === 28 || af === 30) return Layer.Ipv6;
  return Layer.Unknown;
}

export function decodeNullLoopback(d: Uint8Array, ctx: DecodeContext, networkOrderOnly: boolean): Layer {
  const o = ctx.offset;
  if (ctx.end - o < 4) {
    ctx.view.truncated = 1;
    ctx.events.count(DecodeEvent.NullTruncated);
    return Layer.Done;
  }
  const big = be32(d, o);
  let layer = familyLayer(big);
  if (layer === Layer.Unknown && !networkOrderOnly) {
    const little = ((d[o] as number) | ((d[o + 1] as number) << 8) | ((d[o + 2] as number) << 16) | ((d[o + 3] as number) << 24)) >>> 0;
    layer = familyLayer(little);
  }
  ctx.offset = o + 4;
  if (layer === Layer.Unknown) {
    ctx.events.count(DecodeEvent.NullUnknownFamily);
    return Layer.Done;
  }
  return layer;
}
