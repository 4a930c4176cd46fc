/**
 * IPv6, RFC 8200, with the extension-header walk. https://www.rfc-editor.org/rfc/rfc8200
 *
 *    0                   1                   2                   3
 *   +-------+---------------+---------------------------------------+
 *   |Version| Traffic Class |              Flow Label               |
 *   +-------+---------------+-------+---------------+---------------+
 *   |         Payload Length        |  Next Header  |   Hop Limit   |
 *   +-------------------------------+---------------+---------------+
 *   |                  Source Address (128 bits)                    |
 *   |               Destination Address (128 bits)                  |
 *
 * Extension headers walked (bounded): Hop-by-Hop (0), Routing (43), Fragment (44), Destination
 * Options (60), AH (51, length in 4-byte units), Mobility (135), HIP (139), Shim6 (140). A payload
 * length of 0 with a Hop-by-Hop Jumbo Payload option is a jumbogram (RFC 2675, BIG TCP); without the
 * option it is a GSO super-packet and the captured length stands in.
 */
import { DecodeContext, Layer, be16, be32 } from './decode-context.js';
import { DecodeEvent } from './decode-events.js';
import { nextAfterIp } from './ipv4.js';

const MAX_EXTENSION_HEADERS = 8;
const JUMBO_OPTION = 0xc2;

export function isIpv6ExtensionHeader(nh: number): boolean {
  return nh === 0 || nh === 43 || nh === 44 || nh === 60 || nh === 51 || nh === 135 || nh === 139 || nh === 140;
}

/** Jumbo Payload length from a Hop-by-Hop header at o of length len, or 0. */
function jumboLength(d: Uint8Array, o: number, len: number): number {
  let p = o + 2;
  const end = o + len;
  while (p < end) {
    const type = d[p] as number;
    if (type === 0) {
      p++; // Pad1
      continue;
    }
    if (p + 2 > end) return 0;
    const optLen = d[p + 1] as number;
    if (type === JUMBO_OPTION && optLen === 4 && p + 6 <= end) return be32(d, p + 2);
    p += 2 + optLen;
  }
  return 0;
}

export function decodeIpv6(d: Uint8Array, ctx: DecodeContext): Layer {
  const o = ctx.offset;
  const v = ctx.view;
  if (ctx.end - o < 40) {
    v.truncated = 1;
    ctx.events.count(DecodeEvent.Ipv6Truncated);
    return Layer.Done;
  }
  const first = be32(d, o);
  if (first >>> 28 !== 6) {
    v.malformed = 1;
    ctx.events.count(DecodeEvent.Ipv6BadVersion);
    return Layer.Done;
  }
  v.ipVersion = 6;
  v.flowLabel = first & 0xfffff;
  for (let i = 0; i < 4; i++) {
    v.src[i] = be32(d, o + 8 + i * 4);
    v.dst[i] = be32(d, o + 24 + i * 4);
  }
  v.ttl = d[o + 7] as number;
  v.ipId = 0;
  v.ipOffset = o;
  const payloadLength = be16(d, o + 4);
  if (payloadLength !== 0) {
    v.ipLength = 40 + payloadLength;
    if (v.ipLength > ctx.end - o) {
      v.truncated = 1;
      ctx.events.count(DecodeEvent.Ipv6Truncated);
    } else ctx.end = o + v.ipLength;
  } else {
    v.ipLength = ctx.end - o;
  }

  let next = d[o + 6] as number;
  let p = o + 40;
  let count = 0;
  while (isIpv6ExtensionHeader(next)) {
    if (++count > MAX_EXTENSION_HEADERS) {
      ctx.events.count(DecodeEvent.Ipv6TooManyExt);
      v.proto = next;
      return Layer.Done;
    }
    if (ctx.end - p < 8) {
      v.truncated = 1;
      v.proto = next;
      ctx.events.count(DecodeEvent.Ipv6ExtTruncated);
      return Layer.Done;
    }
    if (next === 44) {
      const frag = be16(d, p + 2);
      v.fragOffset = frag & 0xfff8;
      v.moreFragments = frag & 1;
      v.isFragment = 1;
      v.ipId = be32(d, p + 4);
      next = d[p] as number;
      p += 8;
      ctx.events.count(DecodeEvent.Ipv6Fragment);
      if (v.fragOffset !== 0) {
        v.proto = next;
        ctx.offset = p;
        return Layer.Done;
      }
      continue;
    }
    const len = next === 51 ? ((d[p + 1] as number) + 2) * 4 : ((d[p + 1] as number) + 1) * 8;
    if (ctx.end - p < len) {
      v.truncated = 1;
      v.proto = next;
      ctx.events.count(DecodeEvent.Ipv6ExtTruncated);
      return Layer.Done;
    }
    if (next === 0 && payloadLength === 0) {
      const jumbo = jumboLength(d, p, len);
      if (jumbo !== 0) {
        if (jumbo < 65536) ctx.events.count(DecodeEvent.Ipv6BadJumbo);
        v.ipLength = 40 + jumbo;
        if (v.ipLength > ctx.end - o) {
          v.truncated = 1;
          ctx.events.count(DecodeEvent.Ipv6Truncated);
        } else ctx.end = o + v.ipLength;
      }
    }
    next = d[p] as number;
    p += len;
  }
  v.proto = next;
  ctx.offset = p;
  return nextAfterIp(ctx, next);
}
