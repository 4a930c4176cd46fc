/**
 * Ethernet II (IEEE 802.3 with EtherType), also the inner frame of VXLAN, Geneve and GRE-TEB.
 *
 *    0                   6                  12      14
 *   +-------------------+-------------------+-------+
 *   | destination MAC   | source MAC        | type  |
 *   +-------------------+-------------------+-------+
 *
 * A type below 0x0600 is an 802.3 length field (LLC follows): not IP.
 */
import { DecodeContext, Layer, be16 } from './decode-context.js';
import { DecodeEvent } from './decode-events.js';

export function decodeEthernet(d: Uint8Array, ctx: DecodeContext): Layer {
  const o = ctx.offset;
  if (ctx.end - o < 14) {
    ctx.view.truncated = 1;
    ctx.events.count(DecodeEvent.EthernetTruncated);
    return Layer.Done;
  }
  const view = ctx.view;
  // Only the outermost frame's MACs identify the capture interface's neighbours.
  if (view.encapDepth === 0) {
    view.macDstOffset = o;
    view.macSrcOffset = o + 6;
    view.macDstGroup = (d[o] as number) & 1;
  }
  const type = be16(d, o + 12);
  ctx.offset = o + 14;
  // Inside a tunnel, what the frame carried names the tunnel's payload when it is not IP.
  if (view.encapDepth !== 0) view.undecodedValue = type;
  if (type < 0x0600) {
    ctx.events.count(DecodeEvent.EthernetNotIp);
    return Layer.NotIp;
  }
  return ctx.tables.byEtherType[type] as Layer;
}
