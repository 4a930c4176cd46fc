/**
 * TCP, RFC 9293. https://www.rfc-editor.org/rfc/rfc9293
 *
 *    0                   1                   2                   3
 *   +-------------------------------+-------------------------------+
 *   |          Source Port          |       Destination Port        |
 *   +-------------------------------+-------------------------------+
 *   |                        Sequence Number                        |
 *   |                    Acknowledgment Number                      |
 *   +-------+-------+---------------+-------------------------------+
 *   | DOff  | Rsrvd |     Flags     |            Window             |
 *   +-------+-------+---------------+-------------------------------+
 *   |           Checksum            |        Urgent Pointer         |
 *   |                    Options (DOff > 5) ...                     |
 *
 * When the snap length cuts the header, the fields that were captured are still filled (ports,
 * then sequence and acknowledgment numbers): flows and fingerprints use what is there.
 */
import { DecodeContext, Layer, be16, be32 } from './decode-context.js';
import { DecodeEvent } from './decode-events.js';

export function decodeTcp(d: Uint8Array, ctx: DecodeContext): Layer {
  const o = ctx.offset;
  const v = ctx.view;
  const avail = ctx.end - o;
  v.l4Offset = o;
  if (avail < 20) {
    if (avail >= 4) {
      v.sport = be16(d, o);
      v.dport = be16(d, o + 2);
    }
    if (avail >= 8) v.tcpSeq = be32(d, o + 4);
    if (avail >= 12) v.tcpAck = be32(d, o + 8);
    if (avail >= 14) v.tcpFlags = (((d[o + 12] as number) & 1) << 8) | (d[o + 13] as number);
    v.truncated = 1;
    ctx.events.count(DecodeEvent.TcpTruncated);
    return Layer.Done;
  }
  v.sport = be16(d, o);
  v.dport = be16(d, o + 2);
  v.tcpSeq = be32(d, o + 4);
  v.tcpAck = be32(d, o + 8);
  v.tcpFlags = (((d[o + 12] as number) & 1) << 8) | (d[o + 13] as number);
  const dataOffset = ((d[o + 12] as number) >> 4) * 4;
  if (dataOffset < 20) {
    v.malformed = 1;
    ctx.events.count(DecodeEvent.TcpBadHeaderLength);
    return Layer.Done;
  }
  if (avail < dataOffset) {
    v.truncated = 1;
    ctx.events.count(DecodeEvent.TcpTruncated);
    return Layer.Done;
  }
  v.l4Valid = 1;
  v.payloadOffset = o + dataOffset;
  v.payloadEnd = ctx.end;
  return Layer.Done;
}
