/**
 * GRE, RFC 2784 with the key and sequence extensions of RFC 2890, and PPTP's enhanced GRE (version 1,
 * RFC 2637). https://www.rfc-editor.org/rfc/rfc2784 https://www.rfc-editor.org/rfc/rfc2890
 * https://www.rfc-editor.org/rfc/rfc2637#section-4.1
 *
 *    0                   1                   2                   3
 *   +-+-+-+-+-------------------+-----+-------------------------------+
 *   |C|R|K|S|  Reserved0        | Ver |         Protocol Type         |
 *   +-+-+-+-+-------------------+-----+-------------------------------+
 *   |      Checksum (if C)      |        Reserved1 (if C)             |
 *   |                          Key (if K)                             |
 *   |                    Sequence Number (if S)                       |
 *
 * Version 1 (PPTP): K is set and the key is the payload length and the call id; an acknowledgement
 * number follows the sequence number when the A flag (0x0080) is set; the payload is PPP.
 *
 * Payloads: 0x0800/0x86dd IP; 0x6558 Ethernet (transparent bridging, VMware NSX); 0x880B PPP;
 * 0x88BE ERSPAN type I (no sequence number, a bare Ethernet frame) or II; 0x22EB ERSPAN type III;
 * 0x8909 Cisco MetaData (an SGT tag carrying the payload's own EtherType, as tshark reads it).
 * Anything else is an undecoded tunnel: shown as GRE with its key, never as plain traffic.
 */
import { DecodeContext, Layer, be16, be32 } from './decode-context.js';
import { DecodeEvent } from './decode-events.js';
import { pushEncapLayer, pushUndecodedTunnel } from './encap-layer.js';
import { EncapKind, UndecodedTunnel } from './packet-view.js';

const GRE_CHECKSUM = 0x8000;
const GRE_ROUTING = 0x4000;
const GRE_KEY = 0x2000;
const GRE_SEQUENCE = 0x1000;
/** Version 1 only: an acknowledgement number is present. */
const GRE_ACK = 0x0080;

const GRE_PROTO_PPP = 0x880b;
/** Cisco MetaData (TrustSec SGT tagging) inside GRE: the payload's EtherType, version, length, options, SGT. */
const GRE_PROTO_CISCO_METADATA = 0x8909;
const CISCO_METADATA_LENGTH = 8;
export const GRE_PROTO_ERSPAN_I_II = 0x88be;
export const GRE_PROTO_ERSPAN_III = 0x22eb;

export function decodeGre(d: Uint8Array, ctx: DecodeContext): Layer {
  const o = ctx.offset;
  const avail = ctx.end - o;
  if (avail < 4) return truncated(ctx);
  const flags = be16(d, o);
  const version = flags & 0x7;
  const protocol = be16(d, o + 2);
  if (version > 1) {
    ctx.events.count(DecodeEvent.GreUnsupportedVersion);
    pushUndecodedTunnel(ctx, EncapKind.Gre, -1, UndecodedTunnel.GreVersion, version);
    return Layer.Done;
  }
  if ((flags & GRE_ROUTING) !== 0) {
    // RFC 1701 source routing: a variable list of routes we do not walk.
    ctx.events.count(DecodeEvent.GreUnsupportedVersion);
    pushUndecodedTunnel(ctx, EncapKind.Gre, -1, UndecodedTunnel.GreRouting, 0);
    return Layer.Done;
  }
  if (version === 1) return decodeEnhancedGre(d, ctx, flags, protocol);

  let headerLength = 4;
  if ((flags & GRE_CHECKSUM) !== 0) headerLength += 4;
  const keyOffset = o + headerLength;
  if ((flags & GRE_KEY) !== 0) headerLength += 4;
  if ((flags & GRE_SEQUENCE) !== 0) headerLength += 4;
  if (avail < headerLength) return truncated(ctx);
  const key = (flags & GRE_KEY) !== 0 ? be32(d, keyOffset) | 0 : -1;

  if (protocol === GRE_PROTO_ERSPAN_I_II && (flags & GRE_SEQUENCE) === 0) {
    // ERSPAN type I: no ERSPAN header, the mirrored Ethernet frame follows GRE directly.
    if (!pushEncapLayer(ctx, EncapKind.Erspan, -1)) return Layer.Done;
    ctx.offset = o + headerLength;
    return Layer.Ethernet;
  }
  if (protocol === GRE_PROTO_ERSPAN_I_II || protocol === GRE_PROTO_ERSPAN_III) {
    // The ERSPAN header says its own version; its decoder pushes the layer with the session id.
    ctx.offset = o + headerLength;
    return Layer.Erspan;
  }
  if (protocol === GRE_PROTO_CISCO_METADATA) return decodeCiscoMetadata(d, ctx, o + headerLength, key);
  if (protocol === GRE_PROTO_PPP) {
    if (!pushEncapLayer(ctx, EncapKind.Gre, key)) return Layer.Done;
    ctx.offset = o + headerLength;
    return Layer.Ppp;
  }
  return enterPayload(ctx, protocol, key, o + headerLength);
}

/** The GRE layer with its key, then the payload its EtherType names (IP or Ethernet), else an undecoded tunnel. */
function enterPayload(ctx: DecodeContext, protocol: number, key: number, at: number): Layer {
  const next = ctx.tables.byEtherType[protocol] as Layer;
  if (next !== Layer.Ipv4 && next !== Layer.Ipv6 && next !== Layer.Ethernet) {
    ctx.events.count(DecodeEvent.GreUnsupportedProtocol);
    pushUndecodedTunnel(ctx, EncapKind.Gre, key, UndecodedTunnel.GreProtocol, protocol);
    return Layer.Done;
  }
  if (!pushEncapLayer(ctx, EncapKind.Gre, key)) return Layer.Done;
  ctx.offset = at;
  return next;
}

/** PPTP's version 1: the layer's key is the call id; a packet without payload only acknowledges. */
function decodeEnhancedGre(d: Uint8Array, ctx: DecodeContext, flags: number, protocol: number): Layer {
  const o = ctx.offset;
  if ((flags & GRE_KEY) === 0 || protocol !== GRE_PROTO_PPP) {
    ctx.events.count(DecodeEvent.GreUnsupportedVersion);
    pushUndecodedTunnel(ctx, EncapKind.Gre, -1, UndecodedTunnel.GreVersion, 1);
    return Layer.Done;
  }
  const headerLength = 8 + ((flags & GRE_SEQUENCE) !== 0 ? 4 : 0) + ((flags & GRE_ACK) !== 0 ? 4 : 0);
  if (ctx.end - o < headerLength) return truncated(ctx);
  const payloadLength = be16(d, o + 4);
  const callId = be16(d, o + 6);
  if (payloadLength === 0) {
    pushUndecodedTunnel(ctx, EncapKind.Gre, callId, UndecodedTunnel.PptpNoPayload, 0);
    return Layer.Done;
  }
  if (!pushEncapLayer(ctx, EncapKind.Gre, callId)) return Layer.Done;
  ctx.offset = o + headerLength;
  return Layer.Ppp;
}

/** The SGT tag is skipped; what follows is dispatched on the tag's own EtherType, as GRE's would be. */
function decodeCiscoMetadata(d: Uint8Array, ctx: DecodeContext, at: number, key: number): Layer {
  if (ctx.end - at < CISCO_METADATA_LENGTH) return truncated(ctx);
  return enterPayload(ctx, be16(d, at), key, at + CISCO_METADATA_LENGTH);
}

function truncated(ctx: DecodeContext): Layer {
  ctx.view.truncated = 1;
  ctx.events.count(DecodeEvent.GreTruncated);
  return Layer.Done;
}
