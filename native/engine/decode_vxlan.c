/*
 * VXLAN, RFC 7348 (Calico's vxlan.calico, flannel.1, Cilium) on the configured UDP ports
 *.
 *
 *   |R|R|R|R|I|R|R|R|                   Reserved                    |
 *   |                VXLAN Network Identifier (VNI) |   Reserved    |
 *   | inner Ethernet frame ...
 *
 * Without the I flag the datagram is not treated as VXLAN: it stays a plain UDP packet.
 */
#include "engine/decoders.h"

pw_layer pw_decode_vxlan(pw_ctx *ctx) {
  const uint8_t *d = ctx->d;
  int64_t o = ctx->offset;
  if (ctx->end - o < 8) {
    ctx->view->truncated = 1;
    pw_count(ctx, PW_EV_VXLAN_TRUNCATED);
    return PW_LAYER_DONE;
  }
  if ((d[o] & 0x08) == 0) {
    pw_count(ctx, PW_EV_VXLAN_NO_VNI_FLAG);
    return PW_LAYER_DONE;
  }
  int32_t vni = (int32_t)(pw_be32(d, o + 4) >> 8);
  if (!pw_push_encap_layer(ctx, PW_ENCAP_VXLAN, vni)) return PW_LAYER_DONE;
  ctx->offset = o + 8;
  return PW_LAYER_ETHERNET;
}
