/*
 * IEEE 802.1Q / 802.1ad VLAN tags, stacked up to MAX_VLAN_TAGS.
 *
 *    0       2       4
 *   |PCP/VID| type  |     VID = low 12 bits of the first word
 */
#include "engine/decoders.h"

#define MAX_VLAN_TAGS 8

pw_layer pw_decode_vlan(pw_ctx *ctx) {
  const uint8_t *d = ctx->d;
  int64_t o = ctx->offset;
  pw_view *v = ctx->view;
  if (ctx->end - o < 4) {
    v->truncated = 1;
    pw_count(ctx, PW_EV_VLAN_TRUNCATED);
    return PW_LAYER_DONE;
  }
  /* Counted even past the cap, as in TypeScript (vlan_depth is at most MAX_VLAN_TAGS + 1). */
  if (++v->vlan_depth > MAX_VLAN_TAGS) {
    pw_count(ctx, PW_EV_VLAN_TOO_MANY);
    return PW_LAYER_DONE;
  }
  /* The outermost tag names the capture's VLAN; tags inside a tunnel's inner frame do not. */
  if (v->vlan_depth == 1 && v->encap_depth == 0) v->vlan_id = pw_be16(d, o) & 0x0fff;
  ctx->offset = o + 4;
  uint32_t type = pw_be16(d, o + 2);
  if (v->encap_depth != 0) v->undecoded_value = type;
  return (pw_layer)ctx->tables->by_ether_type[type];
}
