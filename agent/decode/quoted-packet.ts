/**
 * The packet quoted inside an ICMP or ICMPv6 error (RFC 792: the IP header plus the first 8 bytes of
 * its payload; RFC 4443: as much of the invoking packet as fits). Decoding it ties the error to the
 * flow that caused it. It fills only the view's quoted* fields: the error packet itself stays the
 * innermost packet.
 */
import { be16, be32 } from './decode-context.js';
import { isIpv6ExtensionHeader } from './ipv6.js';
import { PacketView } from './packet-view.js';

/** Returns true when at least the quoted IP addresses were read. */
export function decodeQuotedPacket(d: Uint8Array, o: number, end: number, v: PacketView): boolean {
  if (end - o < 1) return false;
  const version = (d[o] as number) >> 4;
  let l4: number;
  if (version === 4) {
    if (end - o < 20) return false;
    const headerLength = ((d[o] as number) & 0x0f) * 4;
    if (headerLength < 20) return false;
    v.quotedVersion = 4;
    v.quotedSrc.fill(0);
    v.quotedDst.fill(0);
    v.quotedSrc[0] = be32(d, o + 12);
    v.quotedDst[0] = be32(d, o + 16);
    v.quotedProto = d[o + 9] as number;
    v.quotedIpId = be16(d, o + 4);
    if ((be16(d, o + 6) & 0x1fff) !== 0) {
      v.quotedValid = 1;
      return true; // a non-first fragment quotes no ports
    }
    l4 = o + headerLength;
  } else if (version === 6) {
    if (end - o < 40) return false;
    v.quotedVersion = 6;
    for (let i = 0; i < 4; i++) {
      v.quotedSrc[i] = be32(d, o + 8 + i * 4);
      v.quotedDst[i] = be32(d, o + 24 + i * 4);
    }
    let next = d[o + 6] as number;
    let p = o + 40;
    for (let n = 0; n < 8 && isIpv6ExtensionHeader(next); n++) {
      if (end - p < 8) {
        v.quotedProto = next;
        v.quotedValid = 1;
        return true;
      }
      const len = next === 44 ? 8 : next === 51 ? ((d[p + 1] as number) + 2) * 4 : ((d[p + 1] as number) + 1) * 8;
      next = d[p] as number;
      p += len;
    }
    v.quotedProto = next;
    l4 = p;
  } else {
    return false;
  }
  v.quotedValid = 1;
  // Ports for TCP/UDP/SCTP; for a quoted ICMP echo, its identifier and sequence stand in.
  if (end - l4 >= 4) {
    const proto = v.quotedProto;
    if (proto === 6 || proto === 17 || proto === 132) {
      v.quotedSport = be16(d, l4);
      v.quotedDport = be16(d, l4 + 2);
    } else if ((proto === 1 || proto === 58) && end - l4 >= 8) {
      v.quotedSport = be16(d, l4 + 4);
      v.quotedDport = be16(d, l4 + 6);
    }
  }
  return true;
}
