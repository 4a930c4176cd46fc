/**
 * IEEE 802.1Q / 802.1ad VLAN tag, stacked any number of times (capped).
 *
 *    0       2       4
 *   +-------+-------+
 *   |PCP/VID| type  |     VID = low 12 bits of the first word
 *   +-------+-------+
 *
 * The tag follows the EtherType 0x8100 / 0x88a8 / 0x9100 that announced it.
 */
import { DecodeContext, Layer, be16 } from './decode-context.js';
import { DecodeEvent } from './decode-events.js';

const MAX_VLAN_TAGS = 8;

export function decodeVlan(d: Uint8Array, ctx: DecodeContext): Layer {
  const o = ctx.offset;
  const view = ctx.view;
  if (ctx.end - o < 4) {
    view.truncated = 1;
    ctx.events.count(DecodeEvent.VlanTruncated);
    return Layer.Done;
  }
  if (++view.vlanDepth > MAX_VLAN_TAGS) {
    ctx.events.count(DecodeEvent.VlanTooMany);
    return Layer.Done;
  }
  // The outermost tag names the capture's VLAN; tags inside a tunnel's inner frame do not.
  if (view.vlanDepth === 1 && view.encapDepth === 0) view.vlanId = be16(d, o) & 0x0fff;
  ctx.offset = o + 4;
  const type = be16(d, o + 2);
  if (ctx.view.encapDepth !== 0) ctx.view.undecodedValue = type;
  return ctx.tables.byEtherType[type] as Layer;
}
