/**
 * Entering a tunnel: the IP header decoded so far becomes an outer layer (its addresses are the
 * node addresses that cross-node stitching needs), and the transport fields are cleared so that the
 * inner packet's decoders start clean. Depth is capped: a packet nested deeper than MAX_ENCAP_DEPTH
 * is counted (decoder.tunnel.too_deep) and decoding stops there.
 */
import { DecodeContext } from './decode-context.js';
import { DecodeEvent } from './decode-events.js';
import { EncapKind, MAX_ENCAP_DEPTH, UndecodedTunnel } from './packet-view.js';

/** Returns false when the depth cap is reached (the caller stops decoding). */
export function pushEncapLayer(ctx: DecodeContext, kind: EncapKind, vni: number): boolean {
  const v = ctx.view;
  const depth = v.encapDepth;
  if (depth >= MAX_ENCAP_DEPTH) {
    ctx.events.count(DecodeEvent.TunnelTooDeep);
    return false;
  }
  v.encapKind[depth] = kind;
  v.encapOuterVersion[depth] = v.ipVersion;
  v.encapVni[depth] = vni;
  const base = depth * 4;
  for (let i = 0; i < 4; i++) {
    v.encapOuterSrc[base + i] = v.src[i] as number;
    v.encapOuterDst[base + i] = v.dst[i] as number;
  }
  v.encapDepth = depth + 1;
  // The inner packet is what the fingerprint and flow key describe: forget the outer transport.
  v.resetInner();
  return true;
}

/**
 * A tunnel whose payload is not decoded: its layer is kept (outer addresses, key) so the packet is
 * shown as that tunnel, never as plain traffic of the outer addresses, and its inner packet is
 * unknown. Ends decoding.
 */
export function pushUndecodedTunnel(ctx: DecodeContext, kind: EncapKind, vni: number, reason: UndecodedTunnel, value: number): void {
  if (!pushEncapLayer(ctx, kind, vni)) return;
  markUndecodedTunnel(ctx, reason, value);
}

/** The innermost layer already pushed carries a payload we do not decode. */
export function markUndecodedTunnel(ctx: DecodeContext, reason: UndecodedTunnel, value: number): void {
  const v = ctx.view;
  v.resetInner();
  v.undecodedTunnel = reason;
  v.undecodedValue = value;
}
