/*
 * Ethernet II, also the inner frame of VXLAN, Geneve, GRE-TEB and ERSPAN.
 *
 *    0                   6                  12      14
 *   | destination MAC   | source MAC        | type  |
 *
 * A type below 0x0600 is an 802.3 length field (LLC follows): not IP.
 */
#include "engine/decoders.h"

pw_layer pw_decode_ethernet(pw_ctx *ctx) {
  const uint8_t *d = ctx->d;
  int64_t o = ctx->offset;
  pw_view *v = ctx->view;
  if (ctx->end - o < 14) {
    v->truncated = 1;
    pw_count(ctx, PW_EV_ETHERNET_TRUNCATED);
    return PW_LAYER_DONE;
  }
  /* Only the outermost frame's MACs identify the capture interface's neighbours. */
  if (v->encap_depth == 0) {
    v->mac_dst_offset = o;
    v->mac_src_offset = o + 6;
    v->mac_dst_group = d[o] & 1;
  }
  uint32_t type = pw_be16(d, o + 12);
  ctx->offset = o + 14;
  /* Inside a tunnel, what the frame carried names the tunnel's payload when it is not IP. */
  if (v->encap_depth != 0) v->undecoded_value = type;
  if (type < 0x0600) {
    pw_count(ctx, PW_EV_ETHERNET_NOT_IP);
    return PW_LAYER_NOT_IP;
  }
  return (pw_layer)ctx->tables->by_ether_type[type];
}
