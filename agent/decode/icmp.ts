/**
 * ICMP for IPv4, RFC 792 (https://www.rfc-editor.org/rfc/rfc792), and ICMPv6, RFC 4443
 * (https://www.rfc-editor.org/rfc/rfc4443). Both share the first 8 bytes:
 *
 *    0                   1                   2                   3
 *   +---------------+---------------+-------------------------------+
 *   |     Type      |     Code      |          Checksum             |
 *   +---------------+---------------+-------------------------------+
 *   |  Identifier (echo)            |  Sequence Number (echo)       |   or unused / MTU / pointer
 *   +-------------------------------+-------------------------------+
 *   | echo data ... | or the quoted invoking packet (errors) ...
 *
 * Echo: IPv4 types 0/8, ICMPv6 128/129. Errors quoting a packet: IPv4 3 (unreachable), 4 (source
 * quench), 5 (redirect), 11 (time exceeded), 12 (parameter problem); ICMPv6 1-4 (unreachable,
 * packet too big, time exceeded, parameter problem).
 */
import { DecodeContext, Layer, be16 } from './decode-context.js';
import { DecodeEvent } from './decode-events.js';
import { decodeQuotedPacket } from './quoted-packet.js';

function isIcmpv4Error(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

function isIcmpv6Error(type: number): boolean {
  return type >= 1 && type <= 4;
}

function decodeIcmpCommon(d: Uint8Array, ctx: DecodeContext, v6: boolean): Layer {
  const o = ctx.offset;
  const v = ctx.view;
  const avail = ctx.end - o;
  v.l4Offset = o;
  if (avail < 8) {
    if (avail >= 2) {
      v.icmpType = d[o] as number;
      v.icmpCode = d[o + 1] as number;
    }
    v.truncated = 1;
    ctx.events.count(v6 ? DecodeEvent.Icmpv6Truncated : DecodeEvent.IcmpTruncated);
    return Layer.Done;
  }
  const type = d[o] as number;
  v.icmpType = type;
  v.icmpCode = d[o + 1] as number;
  v.l4Valid = 1;
  v.payloadOffset = o + 8;
  v.payloadEnd = ctx.end;
  if (v6 ? type === 128 || type === 129 : type === 0 || type === 8) {
    v.icmpId = be16(d, o + 4);
    v.icmpSeq = be16(d, o + 6);
  } else if (v6 ? isIcmpv6Error(type) : isIcmpv4Error(type)) {
    if (!decodeQuotedPacket(d, o + 8, ctx.end, v)) {
      ctx.events.count(v6 ? DecodeEvent.Icmpv6QuotedTruncated : DecodeEvent.IcmpQuotedTruncated);
    }
  }
  return Layer.Done;
}

export function decodeIcmp(d: Uint8Array, ctx: DecodeContext): Layer {
  return decodeIcmpCommon(d, ctx, false);
}

export function decodeIcmpv6(d: Uint8Array, ctx: DecodeContext): Layer {
  return decodeIcmpCommon(d, ctx, true);
}
