/*
 * Entering a tunnel: the IP header decoded so far becomes an outer
 * layer (its addresses are the node addresses cross-node stitching needs), and the transport fields
 * are cleared so the inner packet's decoders start clean. Depth is capped at PW_MAX_ENCAP_DEPTH: a
 * deeper packet is counted (decoder.tunnel.too_deep) and decoding stops there.
 */
#include "engine/decoders.h"

bool pw_push_encap_layer(pw_ctx *ctx, pw_encap_kind kind, int32_t vni) {
  pw_view *v = ctx->view;
  uint32_t depth = v->encap_depth;
  if (depth >= PW_MAX_ENCAP_DEPTH) {
    pw_count(ctx, PW_EV_TUNNEL_TOO_DEEP);
    return false;
  }
  v->encap_kind[depth] = (uint8_t)kind;
  v->encap_outer_version[depth] = (uint8_t)v->ip_version;
  v->encap_vni[depth] = vni;
  for (uint32_t i = 0; i < 4; i++) {
    v->encap_outer_src[depth * 4 + i] = v->src[i];
    v->encap_outer_dst[depth * 4 + i] = v->dst[i];
  }
  v->encap_depth = depth + 1;
  /* The inner packet is what the fingerprint and flow key describe: forget the outer transport. */
  pw_view_reset_inner(v);
  return true;
}

/*
 * A tunnel whose payload is not decoded: its layer is kept (outer addresses, key) so the packet is
 * shown as that tunnel, never as plain traffic of the outer addresses. Ends decoding.
 */
void pw_push_undecoded_tunnel(pw_ctx *ctx, pw_encap_kind kind, int32_t vni, pw_undecoded_tunnel reason, uint32_t value) {
  if (!pw_push_encap_layer(ctx, kind, vni)) return;
  pw_mark_undecoded_tunnel(ctx, reason, value);
}

/* The innermost layer already pushed carries a payload we do not decode. */
void pw_mark_undecoded_tunnel(pw_ctx *ctx, pw_undecoded_tunnel reason, uint32_t value) {
  pw_view *v = ctx->view;
  pw_view_reset_inner(v);
  v->undecoded_tunnel = (uint8_t)reason;
  v->undecoded_value = value;
}
